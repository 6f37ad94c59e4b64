/// The protected and trusted domains, indexed once at load so that looking a recipient up costs
/// the same with 10 or 100,000 of them.
///
/// A deletion-neighbourhood index (as in SymSpell): every key is stored under the hash of itself
/// and of each string left by deleting one byte. Two strings are within one edit (insertion,
/// omission, substitution or transposition) exactly when their neighbourhoods share a member,
/// so a recipient costs one probe per byte of each window of labels looked at, whatever the
/// number of keys. Long protected names are also stored with two bytes deleted from the name
/// label, for two-edit typos. Every hit is verified against the key's bytes.
///
/// What keeps a probe cheap: its hash is one addition (``RangeHasher/deletionTerm(_:end:)``), a
/// small filter in front of each table turns most misses away (``NeighbourhoodTable``), probes
/// that pass are looked up in batches (``ProbeBatch``), and windows, label counts and name
/// lengths that no key could match are never probed (``LengthFilter``, ``twoEditSuffixes``).
///
/// A class, so that the classifier and its closures share it without copying or reference
/// counting each array; it also holds the suffix list and the look-alike skeletons. Sendable
/// because nothing in it changes once it is built (the key bytes are memory it owns).
final class ProtectedIndex: @unchecked Sendable {
    /// A protected or trusted domain as configured.
    struct Entry: Sendable {
        let domain: String
        private let storedSuffixStart: Int32
        private let storedSuffixLabelCount: Int16
        let isTrusted: Bool
        /// True for a whole public suffix (`mil`, `gov.uk`): every name under it is protected.
        let isWholeSuffix: Bool

        /// Byte offset of the public suffix in `domain` (0 for a whole suffix).
        var suffixStart: Int { Int(storedSuffixStart) }
        /// Labels in the public suffix.
        var suffixLabelCount: Int { Int(storedSuffixLabelCount) }
        /// The note of a clean verdict for this domain or a sub-domain ("protected domain mil"),
        /// put into words when read.
        var note: RecipientVerdict.Note { .domain(domain, isTrusted: isTrusted) }

        init(domain: String, isTrusted: Bool, isWholeSuffix: Bool, suffixStart: Int, suffixLabelCount: Int) {
            self.domain = domain
            self.isTrusted = isTrusted
            self.isWholeSuffix = isWholeSuffix
            self.storedSuffixStart = Int32(suffixStart)
            self.storedSuffixLabelCount = Int16(clamping: suffixLabelCount)
        }
    }

    /// One string stored in the index.
    struct Key: Sendable {
        enum Form: UInt8, Sendable {
            /// The domain as configured.
            case domain
            /// Its labels in reverse order (`mil.army`), matched exactly or with dots removed.
            case reversed
            /// All its dots dropped or turned into hyphens (`modgovuk`, `mod-gov-uk`), matched
            /// exactly.
            case variant
            /// Its look-alike skeleton, when that differs from the domain.
            case skeleton
            /// A trusted domain, matched exactly.
            case trusted
        }

        let entry: Int32
        let start: Int32
        let length: Int16
        let labelCount: Int8
        let form: Form
    }

    /// A key found in a range of the recipient's bytes.
    struct Match {
        let key: Int
        /// The range of the recipient domain's bytes that matched.
        let start: Int
        let end: Int
        /// The single edit from the key to the range, or nil for a two-edit match.
        let edit: Edit?
    }

    /// Name space of the one-edit neighbourhoods, and of the two-edit name-label neighbourhoods.
    static let oneEditSpace: UInt64 = 0x51ED_270B_2F6A_44C1
    static let twoEditSpace: UInt64 = 0x7C3B_9D01_94E8_A36B

    let entries: [Entry]
    let keys: [Key]
    let suffixes: PublicSuffixList
    let confusables: Confusables
    /// The bytes of every key, one after the other (owned: freed with the index).
    let keyBytes: UnsafeBufferPointer<UInt8>
    let oneEdit: NeighbourhoodTable
    let twoEdit: NeighbourhoodTable
    /// Label counts of keys, as bit sets (bit n: n labels): windows at the end of the recipient
    /// domain are looked up with one label more or less too (a dot added or dropped).
    let tailWindowSizes: UInt64
    let innerWindowSizes: UInt64
    /// Suffix label counts of the names stored for two-edit typos.
    let twoEditSuffixSizes: UInt64
    /// Length bounds of the name labels stored for two-edit typos.
    let twoEditMinimumLength: Int
    let twoEditMaximumLength: Int

    /// Which (label count, byte length) pairs a window must have to be worth probing: a window
    /// can only be within one edit (or two, for ``twoEditLengths``) of keys of nearly its length,
    /// so most windows of a recipient are skipped without hashing when few domains are indexed.
    struct LengthFilter: Sendable {
        static let labelBuckets = 9
        private var bits = [UInt64](repeating: 0, count: labelBuckets * 4)

        mutating func insert(labels: Int, lengths: ClosedRange<Int>) {
            let bucket = min(max(labels, 0), Self.labelBuckets - 1)
            for length in lengths where length >= 0 && length < 256 {
                bits[bucket * 4 + length / 64] |= 1 << UInt64(length % 64)
            }
        }

        @inline(__always)
        func contains(labels: Int, length: Int) -> Bool {
            guard length < 256 else { return false }
            let bucket = min(labels, Self.labelBuckets - 1)
            return bits[bucket * 4 + length / 64] & (1 << UInt64(length % 64)) != 0
        }
    }

    let tailLengths: LengthFilter
    let twoEditLengths: LengthFilter
    /// The lengths of the names stored for two-edit typos, under their suffix: a recipient's
    /// name is only probed for two edits under a suffix some long name has, and only with as
    /// many bytes deleted as the lengths of those names allow.
    let twoEditSuffixes: NeighbourhoodTable
    /// The protected names under other suffixes, and names with several look-alike letters.
    let nameTables: NameTables
    static let suffixSpace: UInt64 = 0x2B7E_1516_28AE_D2A6

    /// Bytes held by the index (tables, keys and their bytes), for the benchmark.
    var memoryFootprint: Int {
        oneEdit.memoryFootprint + twoEdit.memoryFootprint + twoEditSuffixes.memoryFootprint + nameTables.memoryFootprint + keyBytes.count + keys.count * MemoryLayout<Key>.stride
            + entries.count * (MemoryLayout<Entry>.stride + 32) + entries.reduce(0) { $0 + $1.domain.utf8.count }
    }

    init(entries: [Entry], suffixes: PublicSuffixList, confusables: Confusables, twoEditMinimumLength: Int) {
        self.entries = entries
        self.suffixes = suffixes
        self.confusables = confusables
        self.twoEditMinimumLength = twoEditMinimumLength
        // First the keys, with what each is stored under; then the tables, sized from the keys
        // and filled in place, so that no array of hashes is ever held in full.
        let plan = KeyPlan(entries: entries, skeleton: confusables.skeleton, twoEditMinimumLength: twoEditMinimumLength)
        self.keys = plan.keys
        let keyBytes = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: plan.keyBytes.count)
        _ = keyBytes.initialize(from: plan.keyBytes)
        self.keyBytes = UnsafeBufferPointer(keyBytes)
        self.tailWindowSizes = plan.tailSizes
        self.innerWindowSizes = plan.innerSizes
        self.twoEditSuffixSizes = plan.twoSuffixSizes
        self.twoEditMaximumLength = plan.longest
        self.tailLengths = plan.tailLengths
        self.twoEditLengths = plan.twoEditLengths
        let (oneEdit, twoEdit, twoEditSuffixes) = plan.buildTables()
        self.oneEdit = oneEdit
        self.twoEdit = twoEdit
        self.twoEditSuffixes = twoEditSuffixes
        self.nameTables = NameTables(entries: entries)
    }

    deinit {
        keyBytes.deallocate()
    }

    /// Calls `body` with the bytes of a key.
    @inline(__always)
    func withKeyBytes<R>(_ key: Key, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        body(UnsafeBufferPointer(rebasing: keyBytes[Int(key.start)..<(Int(key.start) + Int(key.length))]))
    }

    /// The key's text.
    func text(of key: Key) -> String {
        withKeyBytes(key) { String(decoding: $0, as: UTF8.self) }
    }
}
