@testable import MisdirectionRisk
import Testing

/// The shortcuts the index takes for speed give the same answers as the straightforward way.
struct IndexInternalsTests {
    /// Seeded strings over a small alphabet, so that look-alike sequences, dots and repeats occur.
    static func strings(_ count: Int, alphabet: String = "armyniclv01x.-", seed: UInt64 = 11) -> [[UInt8]] {
        var state = seed
        func next() -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int(state >> 33)
        }
        let letters = Array(alphabet.utf8)
        return (0..<count).map { _ in (0..<(1 + next() % 14)).map { _ in letters[next() % letters.count] } }
    }

    @Test("a deletion's hash is its window's base plus one term per deleted byte")
    func deletionTerms() {
        for bytes in Self.strings(100) where bytes.count >= 3 {
            bytes.withUnsafeBufferPointer { bytes in
                RangeHasher.with(bytes) { hasher in
                    let n = bytes.count
                    for start in 0..<(n - 2) {
                        for first in start..<n {
                            #expect(hasher.deletionBase(start, n, deleting: 1) &+ hasher.deletionTerm(first, end: n)
                                == hasher.range(start, n, deleting: first))
                            for second in (first + 1)..<n {
                                #expect(hasher.deletionBase(start, n, deleting: 2) &+ hasher.deletionTerm(first, end: n - 1)
                                    &+ hasher.deletionTerm(second, end: n) == hasher.range(start, n, deleting: first, second))
                            }
                        }
                    }
                }
            }
        }
    }

    @Test("the table finds every value stored, and its filter never turns one away")
    func table() {
        let strings = Self.strings(2_000, seed: 5)
        var builder = NeighbourhoodTable.Builder(count: strings.count, space: 0x1234)
        var hashes: [(UInt64, Int)] = []
        for (index, bytes) in strings.enumerated() {
            let hash = bytes.withUnsafeBufferPointer { bytes in RangeHasher.with(bytes) { $0.range(0, bytes.count) } }
            hashes.append((hash, bytes.count))
            builder.insert(hash, length: bytes.count, value: UInt32(index))
        }
        let table = builder.build()
        for (index, (hash, length)) in hashes.enumerated() {
            #expect(table.view.mayContain(hash, length: length))
            #expect(table.view.mayContain(mixed: NeighbourhoodTable.mixed(hash, length: length)))
            var values: [UInt32] = []
            table.view.forEachValue(hash, length: length) { values.append($0) }
            #expect(values.contains(UInt32(index)))
        }
    }

    @Test("one pass finds the same traits as folding and looking for punycode labels")
    func traits() {
        for bytes in Self.strings(3_000) + [Array("xn--80ak6aa92e.com".utf8), Array("a.xn--b".utf8), Array("аrmy.mil".utf8)] {
            let traits = bytes.withUnsafeBufferPointer { DomainTraits($0) }
            let nonASCII = bytes.contains { $0 >= 0x80 }
            let labels = bytes.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
            #expect(traits.hasNonASCII == nonASCII)
            #expect(traits.needsFolding == (!nonASCII && Confusables.foldASCII(bytes) != bytes), "\(bytes)")
            #expect(traits.hasPunycode == labels.contains { $0.count >= 4 && $0.starts(with: Array("xn--".utf8)) }, "\(bytes)")
        }
    }

    @Test("the distance on the stack is the textbook optimal-string-alignment distance")
    func distance() {
        func reference(_ a: [UInt8], _ b: [UInt8]) -> Int {
            var table = [[Int]](repeating: [Int](repeating: 0, count: b.count + 1), count: a.count + 1)
            for i in 0...a.count { table[i][0] = i }
            for j in 0...b.count { table[0][j] = j }
            for i in stride(from: 1, through: a.count, by: 1) {
                for j in stride(from: 1, through: b.count, by: 1) {
                    table[i][j] = min(table[i - 1][j] + 1, table[i][j - 1] + 1, table[i - 1][j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
                    if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] { table[i][j] = min(table[i][j], table[i - 2][j - 2] + 1) }
                }
            }
            return table[a.count][b.count]
        }
        let strings = Self.strings(120, alphabet: "abc", seed: 3)
        for a in strings {
            for b in strings {
                let expected = reference(a, b)
                #expect(EditDistance.distance(a, b, limit: 2) == (expected <= 2 ? expected : nil), "\(a) \(b)")
            }
        }
    }

    @Test("explanations read as before they were put into words lazily")
    func explanations() {
        let cases: [(Explanation, String)] = [
            (.misspelling("army.ml", "army.mil"), "army.ml looks like a misspelling of army.mil"),
            (.twoSlips("homefficte.gov.uk", "homeoffice.gov.uk"), "homefficte.gov.uk looks like a misspelling of homeoffice.gov.uk (two slips)"),
            (.lookAlikeCharacters("arrny.mil", "army.mil"), "arrny.mil looks like army.mil written with look-alike characters"),
            (.holds("mil.army.com", "army.mil", .reversed), "mil.army.com holds army.mil with its labels reversed"),
            (.holds("armymil.com", "army.mil", .dotsChanged), "armymil.com holds army.mil with its dots dropped or turned into hyphens"),
            (.holds("army.mil.ml", "army.mil", .inside), "army.mil.ml holds army.mil inside a longer name"),
            (.punctuation("army-mil", "army.mil"), "army-mil looks like army.mil with a dot or hyphen added, dropped or changed"),
            (.bitFlip("arm9.mil", "army.mil"), "arm9.mil is army.mil with one bit flipped"),
            (.text("as given"), "as given"),
        ]
        for (explanation, text) in cases { #expect(explanation.text == text) }
    }

    @Test("a verdict made without input text says the address, and equals one made with it")
    func lazyVerdictFields() {
        let address = EmailAddress(localPart: "j", domain: "army.mil")
        let lazy = RecipientVerdict.clean(address, givenInput: nil, note: .domain("army.mil", isTrusted: false))
        let eager = RecipientVerdict.clean(address, input: "j@army.mil", note: "protected domain army.mil")
        #expect(lazy.input == "j@army.mil")
        #expect(lazy.note == "protected domain army.mil")
        #expect(lazy == eager)
        #expect(lazy.hashValue == eager.hashValue)
        #expect(RecipientVerdict.clean(address, givenInput: nil, note: .domain("p.ml", isTrusted: true)).note == "trusted domain p.ml")
    }
}
