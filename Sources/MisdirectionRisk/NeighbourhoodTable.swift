/// A hash multi-map from 64-bit hashes of byte strings to 32-bit values, built once.
///
/// Open addressing with linear probing at a load of at most 0.6. Slots hold a 16-bit
/// fingerprint (0 means empty) in one array and the value in another, so a probe that misses,
/// the common case, reads a few neighbouring bytes of the fingerprint array only. In front of
/// it, a filter of 8 bits per stored hash (two bits set per hash, in one 64-bit word: a blocked
/// Bloom filter) turns away about 19 probes in 20 that would miss, before the full hash is
/// even finished, from memory small enough to stay in cache.
/// Fingerprints can collide: callers verify every value they get against the real strings.
///
/// Built in place (see ``Builder``): its size is known before the first insertion, so loading
/// 100,000 domains leaves no temporary arrays behind in the process's heap. A class owning its
/// memory, so that a lookup reads it through ``view`` without closures or reference counting.
final class NeighbourhoodTable: @unchecked Sendable {
    /// The table's memory, read-only once built (hence Sendable).
    let view: View
    /// Bits of the filter per stored value.
    static let filterBitsPerValue = 8

    /// Fills a table of a known number of insertions.
    struct Builder: ~Copyable {
        private let fingerprints: UnsafeMutableBufferPointer<UInt16>
        private let values: UnsafeMutableBufferPointer<UInt32>
        private let filter: UnsafeMutableBufferPointer<UInt64>
        private let space: UInt64
        private let expected: Int
        private var inserted = 0

        /// - Parameters:
        ///   - count: the number of ``insert(_:length:value:)`` calls to come (duplicates
        ///     included).
        ///   - space: mixed into every hash, so that equal strings of different tables do not
        ///     share slots.
        init(count: Int, space: UInt64) {
            expected = count
            self.space = space
            let capacity = max(16, count * 5 / 3 + 1)
            fingerprints = .allocate(capacity: capacity)
            fingerprints.initialize(repeating: 0)
            values = .allocate(capacity: capacity)
            values.initialize(repeating: 0)
            filter = .allocate(capacity: max(1, (count * NeighbourhoodTable.filterBitsPerValue + 63) / 64))
            filter.initialize(repeating: 0)
        }

        /// Stores `value` under the polynomial hash `hash` (see ``RangeHasher``) of a string of
        /// `length` bytes.
        mutating func insert(_ hash: UInt64, length: Int, value: UInt32) {
            precondition(inserted < expected, "more insertions than counted")
            inserted += 1
            let (word, bits) = NeighbourhoodTable.filterBits(NeighbourhoodTable.mixed(hash, length: length), words: UInt64(filter.count))
            // Not `|=`: Swift 6.3.1 instruments that in-place access of a stored buffer of a
            // ~Copyable value with an invalid bitcast under ThreadSanitizer, and cannot compile.
            filter[word] = filter[word] | bits
            let finished = RangeHasher.finished(hash, length: length, space: space)
            let capacity = fingerprints.count
            var slot = NeighbourhoodTable.slot(finished, capacity: capacity)
            while fingerprints[slot] != 0 {
                slot += 1
                if slot == capacity { slot = 0 }
            }
            fingerprints[slot] = NeighbourhoodTable.fingerprint(finished)
            values[slot] = value
        }

        /// The finished table, which takes over the memory.
        consuming func build() -> NeighbourhoodTable {
            NeighbourhoodTable(view: View(
                fingerprints: UnsafeBufferPointer(fingerprints), values: UnsafeBufferPointer(values),
                filter: UnsafeBufferPointer(filter), filterWords: UInt64(filter.count), space: space))
        }
    }

    private init(view: View) {
        self.view = view
    }

    deinit {
        view.fingerprints.deallocate()
        view.values.deallocate()
        view.filter.deallocate()
    }

    /// The table's memory seen through pointers, valid while the table lives: probing through
    /// it costs no reference counting.
    struct View {
        let fingerprints: UnsafeBufferPointer<UInt16>
        let values: UnsafeBufferPointer<UInt32>
        let filter: UnsafeBufferPointer<UInt64>
        let filterWords: UInt64
        let space: UInt64

        /// False when nothing is stored under the polynomial hash `hash` of `length` bytes; true
        /// when something may be (then look with ``start(_:length:)``).
        @inline(__always)
        func mayContain(_ hash: UInt64, length: Int) -> Bool {
            mayContain(mixed: NeighbourhoodTable.mixed(hash, length: length))
        }

        /// ``mayContain(_:length:)`` for a hash already mixed (see ``NeighbourhoodTable/mixed(_:length:)``).
        @inline(__always)
        func mayContain(mixed: UInt64) -> Bool {
            let (word, bits) = NeighbourhoodTable.filterBits(mixed, words: filterWords)
            return filter[word] & bits == bits
        }

        /// Where the search for a finished hash starts, and the fingerprint it looks for.
        @inline(__always)
        func start(_ hash: UInt64, length: Int) -> (slot: Int, wanted: UInt16) {
            let finished = RangeHasher.finished(hash, length: length, space: space)
            return (NeighbourhoodTable.slot(finished, capacity: fingerprints.count), NeighbourhoodTable.fingerprint(finished))
        }

        /// Calls `body` with every value stored from `slot` on (see ``start(_:length:)``) under
        /// the fingerprint `wanted`.
        @inline(__always)
        func forEachValue(from slot: Int, wanted: UInt16, _ body: (UInt32) -> Void) {
            let capacity = fingerprints.count
            var slot = slot
            while true {
                let found = fingerprints[slot]
                if found == 0 { return }
                if found == wanted { body(values[slot]) }
                slot += 1
                if slot == capacity { slot = 0 }
            }
        }

        /// Calls `body` with every value stored under the polynomial hash `hash` of `length`
        /// bytes (and any under another hash with the same fingerprint in the same run).
        @inline(__always)
        func forEachValue(_ hash: UInt64, length: Int, _ body: (UInt32) -> Void) {
            guard mayContain(hash, length: length) else { return }
            let (slot, wanted) = start(hash, length: length)
            forEachValue(from: slot, wanted: wanted, body)
        }
    }

    /// Bytes held by the table's arrays.
    var memoryFootprint: Int { view.fingerprints.count * 2 + view.values.count * 4 + view.filter.count * 8 }

    @inline(__always)
    fileprivate static func slot(_ hash: UInt64, capacity: Int) -> Int {
        Int(truncatingIfNeeded: hash.multipliedFullWidth(by: UInt64(capacity)).high)
    }

    @inline(__always)
    fileprivate static func fingerprint(_ hash: UInt64) -> UInt16 {
        let bits = UInt16(truncatingIfNeeded: hash)
        return bits == 0 ? 1 : bits
    }

    /// The multiplier of ``mixed(_:length:)``.
    static let mixer: UInt64 = 0xD6E8_FEB8_6659_FD93
    /// What the length adds to a hash before it is mixed.
    static let lengthMixer: UInt64 = 0x9E37_79B9_7F4A_7C15

    /// A polynomial hash and its string's length, mixed by one multiplication that carries every
    /// bit of the hash into the top ones. Linear: the mixed hash of `a &+ b` is `a &* mixer`
    /// plus the mixed hash of `b`, so a deletion neighbourhood can be mixed term by term.
    @inline(__always)
    static func mixed(_ hash: UInt64, length: Int) -> UInt64 {
        (hash &+ UInt64(truncatingIfNeeded: length) &* lengthMixer) &* mixer
    }

    /// The filter's word for a mixed hash (its top bits scaled to the filter's size) and the two
    /// bits in it (from its middle bits).
    @inline(__always)
    fileprivate static func filterBits(_ mixed: UInt64, words: UInt64) -> (word: Int, bits: UInt64) {
        let word = Int(truncatingIfNeeded: mixed.multipliedFullWidth(by: words).high)
        return (word, 1 << ((mixed >> 20) & 63) | 1 << ((mixed >> 26) & 63))
    }
}

/// Polynomial hashes of a byte string's ranges, and of a range with one or two bytes deleted,
/// each in O(1) from prefix sums: a deletion neighbourhood costs one multiply-add per member.
///
/// `H(s) = Σ s[i]·B^(n-1-i) mod 2^64`; ``finished(_:length:space:)`` mixes the length and a
/// name space in and scrambles the bits (MurmurHash3's finaliser) before the table sees it.
struct RangeHasher {
    /// The odd multiplier B.
    static let base: UInt64 = 0x100_0000_01B3
    /// The longest byte string hashed. A domain is at most 253 octets, but its Unicode form can
    /// take four times as many bytes and its look-alike skeleton more; longer forms are neither
    /// indexed nor looked up (the callers check), so no hash reads past ``powers``.
    static let maximumLength = 1024
    /// B^0 … B^maximumLength.
    static let powers: [UInt64] = {
        var powers = [UInt64](repeating: 1, count: maximumLength + 1)
        for index in 1..<powers.count { powers[index] = powers[index - 1] &* base }
        return powers
    }()

    let prefix: UnsafeMutableBufferPointer<UInt64>
    let powers: UnsafeBufferPointer<UInt64>

    /// A hasher over prefix hashes already made (see ``DomainBytes/with(_:_:)``).
    init(prefix: UnsafeMutableBufferPointer<UInt64>, powers: UnsafeBufferPointer<UInt64>) {
        self.prefix = prefix
        self.powers = powers
    }

    /// Fills `storage` (at least `bytes.count + 1` long) with the prefix hashes of `bytes`.
    init(_ bytes: UnsafeBufferPointer<UInt8>, storage: UnsafeMutableBufferPointer<UInt64>, powers: UnsafeBufferPointer<UInt64>) {
        var hash: UInt64 = 0
        storage[0] = 0
        for index in 0..<bytes.count {
            hash = hash &* Self.base &+ UInt64(bytes[index]) &+ 1
            storage[index + 1] = hash
        }
        self.prefix = storage
        self.powers = powers
    }

    /// Calls `body` with the hasher of `bytes` (at most ``maximumLength`` of them: the callers
    /// check), on the stack.
    @inline(__always)
    static func with<R>(_ bytes: UnsafeBufferPointer<UInt8>, _ body: (RangeHasher) -> R) -> R {
        withUnsafeTemporaryAllocation(of: UInt64.self, capacity: bytes.count + 1) { storage in
            powers.withUnsafeBufferPointer { powers in
                body(RangeHasher(bytes, storage: storage, powers: powers))
            }
        }
    }

    /// The hash of `bytes[start..<end]`.
    @inline(__always)
    func range(_ start: Int, _ end: Int) -> UInt64 {
        prefix[end] &- prefix[start] &* powers[end - start]
    }

    /// The hash of `bytes[start..<end]` without the byte at `deleted`.
    @inline(__always)
    func range(_ start: Int, _ end: Int, deleting deleted: Int) -> UInt64 {
        range(start, deleted) &* powers[end - 1 - deleted] &+ range(deleted + 1, end)
    }

    /// The hash of `bytes[start..<end]` without the bytes at `first` < `second`.
    @inline(__always)
    func range(_ start: Int, _ end: Int, deleting first: Int, _ second: Int) -> UInt64 {
        range(start, first) &* powers[end - 2 - first]
            &+ range(first + 1, second) &* powers[end - 1 - second]
            &+ range(second + 1, end)
    }

    /// The part of ``range(_:_:deleting:)`` that depends on the deleted position only, for
    /// ranges that end at `end`: `range(start, end, deleting: d)` is
    /// `deletionBase(start, end, deleting: 1) &+ deletionTerm(d, end: end)`, and
    /// `range(start, end, deleting: f, s)` is
    /// `deletionBase(start, end, deleting: 2) &+ deletionTerm(f, end: end - 1) &+ deletionTerm(s, end: end)`
    /// (the identities hold exactly in arithmetic modulo 2^64): one addition per member of a
    /// deletion neighbourhood once the terms are made.
    @inline(__always)
    func deletionTerm(_ deleted: Int, end: Int) -> UInt64 {
        (prefix[deleted] &- prefix[deleted + 1]) &* powers[end - deleted - 1]
    }

    /// The part of ``range(_:_:deleting:)`` common to every deletion of `count` bytes from
    /// `bytes[start..<end]` (see ``deletionTerm(_:end:)``).
    @inline(__always)
    func deletionBase(_ start: Int, _ end: Int, deleting count: Int) -> UInt64 {
        prefix[end] &- prefix[start] &* powers[end - start - count]
    }

    /// The table hash of a string of `length` bytes whose polynomial hash is `hash`, in `space`.
    @inline(__always)
    static func finished(_ hash: UInt64, length: Int, space: UInt64) -> UInt64 {
        var value = hash ^ (UInt64(truncatingIfNeeded: length) &* 0x9E37_79B9_7F4A_7C15) ^ space
        value ^= value >> 33
        value = value &* 0xFF51_AFD7_ED55_8CCD
        value ^= value >> 33
        value = value &* 0xC4CE_B9FE_1A85_EC53
        value ^= value >> 33
        return value
    }
}
