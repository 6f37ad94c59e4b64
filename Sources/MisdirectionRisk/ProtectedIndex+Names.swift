/// Two exact-match tables beside the neighbourhood index, for look-alikes that are not one edit
/// away: the protected name under another suffix, and a name with several look-alike letters.
struct NameTables: Sendable {
    /// Shortest name label looked up under other suffixes: shorter names (`un`, `mod`, `bbc`)
    /// are the names of too many unrelated organisations elsewhere to tell anything.
    static let minimumNameLength = 4
    /// Shortest name label compared letter class by letter class: in a shorter one, two
    /// look-alike letters replace half the name.
    static let minimumVisualNameLength = 5

    /// The name labels of the specific protected domains (`barclays` of `barclays.co.uk`),
    /// each to its entry.
    let names: NeighbourhoodTable
    /// The specific protected domains with each letter replaced by its class (``visualClass``),
    /// each to its entry.
    let visualForms: NeighbourhoodTable

    static let namesSpace: UInt64 = 0x3A9F_62C1_D04B_7E15
    static let visualSpace: UInt64 = 0x6D2E_B8A7_1F35_C049

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

    /// Writes the visual form of `bytes` into `output` (at least as long): each byte replaced by
    /// its ``visualClass``, then the look-alike sequences of ``Confusables/asciiFolds`` folded
    /// in those classes (`rn`, `nn` → `n`, `uu` → `w`, `cl` → `b`), so `bareiays` and
    /// `barclays` meet whichever letters were swapped. Dots stay where they were.
    /// - Returns: the length written.
    static func visualForm(_ bytes: UnsafeBufferPointer<UInt8>, into output: UnsafeMutableBufferPointer<UInt8>) -> Int {
        let r = UInt8(ascii: "r"), n = UInt8(ascii: "n"), u = UInt8(ascii: "u"), c = UInt8(ascii: "c"), l = UInt8(ascii: "l")
        var index = 0, count = 0
        while index < bytes.count {
            let byte = visualClass[Int(bytes[index])]
            let next: UInt8 = index + 1 < bytes.count ? visualClass[Int(bytes[index + 1])] : 0
            var folded = byte, width = 1
            switch byte {
            case r where next == n, n where next == n: folded = n; width = 2
            case u where next == u: folded = UInt8(ascii: "w"); width = 2
            case c where next == l: folded = visualClass[Int(UInt8(ascii: "d"))]; width = 2
            default: break
            }
            output[count] = folded
            count += 1
            index += width
        }
        return count
    }

    /// Where the name label of a specific protected entry lies in its domain's bytes.
    static func nameRange(of entry: ProtectedIndex.Entry) -> Range<Int>? {
        guard !entry.isTrusted, !entry.isWholeSuffix, entry.suffixStart > 1 else { return nil }
        let bytes = Array(entry.domain.utf8)
        let end = entry.suffixStart - 1
        var start = end
        while start > 0, bytes[start - 1] != UInt8(ascii: ".") { start -= 1 }
        return start..<end
    }

    init(entries: [ProtectedIndex.Entry]) {
        var named: [(bytes: [UInt8], entry: Int)] = []
        var visual: [(bytes: [UInt8], entry: Int)] = []
        for (index, entry) in entries.enumerated() {
            guard let range = Self.nameRange(of: entry) else { continue }
            let bytes = Array(entry.domain.utf8)
            guard bytes.allSatisfy({ $0 < 0x80 }), bytes.count <= RangeHasher.maximumLength else { continue }
            if range.count >= Self.minimumNameLength { named.append((Array(bytes[range]), index)) }
            if range.count >= Self.minimumVisualNameLength {
                let form = bytes.withUnsafeBufferPointer { source in
                    [UInt8](unsafeUninitializedCapacity: source.count) { buffer, count in count = Self.visualForm(source, into: buffer) }
                }
                visual.append((form, index))
            }
        }
        names = Self.table(named, space: Self.namesSpace)
        visualForms = Self.table(visual, space: Self.visualSpace)
    }

    private static func table(_ items: [(bytes: [UInt8], entry: Int)], space: UInt64) -> NeighbourhoodTable {
        var builder = NeighbourhoodTable.Builder(count: items.count, space: space)
        for item in items {
            item.bytes.withUnsafeBufferPointer { bytes in
                RangeHasher.with(bytes) { hasher in builder.insert(hasher.range(0, bytes.count), length: bytes.count, value: UInt32(item.entry)) }
            }
        }
        return builder.build()
    }

    var memoryFootprint: Int { names.memoryFootprint + visualForms.memoryFootprint }
}
