/// A hash multi-map from 64-bit hashes of byte strings to 32-bit values, built once.
///
/// Open addressing with linear probing at a load of at most 0.55. Slots hold a 16-bit
/// fingerprint (0 means empty) in one array and the value in another, so a probe that misses,
/// the common case, reads a few neighbouring bytes of the fingerprint array only. Fingerprints
/// can collide: callers verify every value they get against the real strings.
struct NeighbourhoodTable: Sendable {
    private let fingerprints: [UInt16]
    private let values: [UInt32]

    /// Builds the table from parallel arrays of hashes and values (duplicates allowed).
    init(hashes: [UInt64], values entryValues: [UInt32]) {
        let capacity = max(16, hashes.count * 9 / 5 + 1)
        var fingerprints = [UInt16](repeating: 0, count: capacity)
        var values = [UInt32](repeating: 0, count: capacity)
        for (hash, value) in zip(hashes, entryValues) {
            var slot = Self.slot(hash, capacity: capacity)
            while fingerprints[slot] != 0 {
                slot += 1
                if slot == capacity { slot = 0 }
            }
            fingerprints[slot] = Self.fingerprint(hash)
            values[slot] = value
        }
        self.fingerprints = fingerprints
        self.values = values
    }

    /// The table's arrays seen through pointers, valid inside ``withView(_:)``: probing through
    /// it costs no reference counting.
    struct View {
        let fingerprints: UnsafeBufferPointer<UInt16>
        let values: UnsafeBufferPointer<UInt32>

        /// Calls `body` with every value stored under a hash whose fingerprint equals `hash`'s.
        @inline(__always)
        func forEachValue(_ hash: UInt64, _ body: (UInt32) -> Void) {
            let capacity = fingerprints.count
            let wanted = NeighbourhoodTable.fingerprint(hash)
            var slot = NeighbourhoodTable.slot(hash, capacity: capacity)
            while true {
                let found = fingerprints[slot]
                if found == 0 { return }
                if found == wanted { body(values[slot]) }
                slot += 1
                if slot == capacity { slot = 0 }
            }
        }
    }

    /// Calls `body` with a view of the table.
    @inline(__always)
    func withView<R>(_ body: (View) -> R) -> R {
        fingerprints.withUnsafeBufferPointer { fingerprints in
            values.withUnsafeBufferPointer { values in body(View(fingerprints: fingerprints, values: values)) }
        }
    }

    /// Bytes held by the table's two arrays.
    var memoryFootprint: Int { fingerprints.count * 2 + values.count * 4 }

    @inline(__always)
    fileprivate static func slot(_ hash: UInt64, capacity: Int) -> Int {
        Int(truncatingIfNeeded: hash.multipliedFullWidth(by: UInt64(capacity)).high)
    }

    @inline(__always)
    fileprivate static func fingerprint(_ hash: UInt64) -> UInt16 {
        let bits = UInt16(truncatingIfNeeded: hash)
        return bits == 0 ? 1 : bits
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
    /// B^0 … B^256: domains are at most 253 bytes.
    static let powers: [UInt64] = {
        var powers = [UInt64](repeating: 1, count: 257)
        for index in 1..<powers.count { powers[index] = powers[index - 1] &* base }
        return powers
    }()

    let prefix: UnsafeMutableBufferPointer<UInt64>
    let powers: UnsafeBufferPointer<UInt64>

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
