/// Two exact-match tables beside the neighbourhood index, for look-alikes that are not one edit
/// away: the protected name under another suffix, and a name with several look-alike letters.
struct NameTables: Sendable {
    /// Shortest name label looked up under other suffixes: shorter names (`un`, `mod`, `bbc`)
    /// are the names of too many unrelated organisations elsewhere to tell anything.
    static let minimumNameLength = 4
    /// Shortest name label compared letter class by letter class: in a shorter one, two
    /// look-alike letters replace half the name.
    static let minimumVisualNameLength = 5

    /// The name labels of the protected registrable domains (`barclays` of `barclays.co.uk`),
    /// each to its entry.
    let names: NeighbourhoodTable
    /// The specific protected domains with each letter replaced by its class (``visualClass``),
    /// each to its entry.
    let visualForms: NeighbourhoodTable
    /// The protected registrable domains (`army.mil`), each to its entry, for a sub-domain
    /// written without its dot (`mailarmy.mil`).
    let registrables: NeighbourhoodTable
    /// Label counts of the suffixes of ``registrables`` (bit n: n labels).
    let registrableSuffixSizes: UInt64
    /// The last ``minimumJoinedNameLength`` letters of each of ``registrables``' names with
    /// their suffix (`rmy.mil`): one probe tells whether a label can end in a protected name
    /// at all, before one probe per place the name could start.
    let registrableTails: NeighbourhoodTable
    /// (label count, length) of the windows ``visualForms`` holds: a recipient with no such
    /// window is not hashed.
    let visualLengths: ProtectedIndex.LengthFilter
    /// Shortest label written in front of a registrable name without its dot: one letter in
    /// front of a name is a typo (insertion), found by the neighbourhood index.
    static let minimumJoinedPrefix = 2
    /// Shortest protected name looked for at the end of a longer label (`hqmod.gov.uk`): a
    /// two-letter name (`un`) ends too many words.
    static let minimumJoinedNameLength = 3

    static let namesSpace: UInt64 = 0x3A9F_62C1_D04B_7E15
    static let visualSpace: UInt64 = 0x6D2E_B8A7_1F35_C049
    static let registrableSpace: UInt64 = 0x1C84_F6E2_930B_5DA7
    static let registrableTailSpace: UInt64 = 0x58D1_3B7F_A26C_E409

    /// ASCII letters and digits that look alike, mapped to one of each class: `0`/`o`,
    /// `1`/`l`/`i`, `u`/`v`, `n`/`m`, `g`/`q`, `c`/`e`, `b`/`d` (the pairs of
    /// ``Confusables/asciiPairs``). Every other byte maps to itself.
    static let visualClass: [UInt8] = {
        var table = (0...255).map { UInt8($0) }
        for (member, representative) in [("0", "o"), ("1", "l"), ("i", "l"), ("v", "u"), ("m", "n"), ("q", "g"), ("e", "c"), ("d", "b")] {
            table[Int(Character(member).asciiValue!)] = Character(representative).asciiValue!
        }
        return table
    }()

    /// The visual form's hash (as ``RangeHasher`` hashes), with the prefix hash at each label
    /// start in `labelStarts` (at most ``DomainBytes/maximumLabels``): one pass, as the
    /// classifier makes it for every recipient that nothing else flagged.
    /// - Returns: the hash of the whole form, and the number of labels recorded.
    @inline(__always)
    static func visualHash(_ bytes: UnsafeBufferPointer<UInt8>, classes: UnsafeBufferPointer<UInt8>, labelStarts: UnsafeMutableBufferPointer<UInt64>) -> (UInt64, Int) {
        var hash: UInt64 = 0, labels = 1
        labelStarts[0] = 0
        for index in 0..<bytes.count {
            let byte = bytes[index]
            hash = hash &* RangeHasher.base &+ UInt64(classes[Int(byte)]) &+ 1
            if byte == UInt8(ascii: "."), labels < labelStarts.count {
                labelStarts[labels] = hash
                labels += 1
            }
        }
        return (hash, labels)
    }

    /// The visual form of `bytes`: each byte replaced by its ``visualClass``, so that
    /// `bareiays` and `barclays` meet whichever look-alike letters were swapped. (Look-alike
    /// sequences such as `rn` are the skeleton's business: see ``Confusables``.)
    static func visualForm(_ bytes: some Sequence<UInt8>) -> [UInt8] {
        bytes.map { visualClass[Int($0)] }
    }

    /// Where the name label of a specific protected entry lies in its domain's bytes.
    static func nameRange(of entry: ProtectedIndex.Entry) -> Range<Int>? {
        guard !entry.isTrusted, !entry.isWholeSuffix, entry.suffixStart > 1 else { return nil }
        var domain = entry.domain
        return domain.withUTF8 { nameRange(in: $0, suffixStart: entry.suffixStart) }
    }

    private static func nameRange(in bytes: UnsafeBufferPointer<UInt8>, suffixStart: Int) -> Range<Int> {
        let end = suffixStart - 1
        var start = end
        while start > 0, bytes[start - 1] != UInt8(ascii: ".") { start -= 1 }
        return start..<end
    }

    /// A string to store: its hash (as ``RangeHasher`` hashes), length and entry.
    private typealias Item = (hash: UInt64, length: Int, entry: Int)

    init(entries: [ProtectedIndex.Entry]) {
        var named: [Item] = [], visual: [Item] = [], registrable: [Item] = [], tails: [Item] = []
        var lengths = ProtectedIndex.LengthFilter()
        var suffixSizes: UInt64 = 0
        for (index, entry) in entries.enumerated() where !entry.isTrusted && !entry.isWholeSuffix && entry.suffixStart > 1 {
            var domain = entry.domain
            domain.withUTF8 { bytes in
                let n = bytes.count
                guard n <= RangeHasher.maximumLength, bytes.allSatisfy({ $0 < 0x80 }) else { return }
                let range = Self.nameRange(in: bytes, suffixStart: entry.suffixStart)
                // The same name elsewhere, and a sub-domain joined to it, only for an entry that
                // is a registrable domain (`army.mil`): the suggestion is then under the entry.
                // A protected sub-domain's own look-alikes (`hqarmy.mil` for `hq.army.mil`) are
                // one edit away, and found by the neighbourhood index.
                if range.lowerBound == 0 {
                    RangeHasher.with(bytes) { hasher in
                        if range.count >= Self.minimumNameLength {
                            named.append((hasher.range(range.lowerBound, range.upperBound), range.count, index))
                        }
                        if range.count >= Self.minimumJoinedNameLength {
                            registrable.append((hasher.range(range.lowerBound, n), n - range.lowerBound, index))
                            let tail = range.upperBound - Self.minimumJoinedNameLength
                            tails.append((hasher.range(tail, n), n - tail, index))
                            suffixSizes |= 1 << UInt64(min(63, entry.suffixLabelCount))
                        }
                    }
                }
                if range.count >= Self.minimumVisualNameLength {
                    var hash: UInt64 = 0, labels = 1
                    for byte in bytes {
                        hash = hash &* RangeHasher.base &+ UInt64(Self.visualClass[Int(byte)]) &+ 1
                        if byte == UInt8(ascii: ".") { labels += 1 }
                    }
                    lengths.insert(labels: labels, lengths: n...n)
                    visual.append((hash, n, index))
                }
            }
        }
        names = Self.table(named, space: Self.namesSpace)
        visualForms = Self.table(visual, space: Self.visualSpace)
        registrables = Self.table(registrable, space: Self.registrableSpace)
        registrableSuffixSizes = suffixSizes
        registrableTails = Self.table(tails, space: Self.registrableTailSpace)
        visualLengths = lengths
    }

    private static func table(_ items: [Item], space: UInt64) -> NeighbourhoodTable {
        var builder = NeighbourhoodTable.Builder(count: items.count, space: space)
        for item in items { builder.insert(item.hash, length: item.length, value: UInt32(item.entry)) }
        return builder.build()
    }

    var memoryFootprint: Int {
        names.memoryFootprint + visualForms.memoryFootprint + registrables.memoryFootprint + registrableTails.memoryFootprint
    }
}
