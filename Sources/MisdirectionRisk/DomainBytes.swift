/// A recipient domain's lower-case bytes with what every lookup in the index needs, made once
/// on the stack in one pass: the prefix hashes of its ranges, where its labels start, and its
/// traits.
struct DomainBytes {
    /// Most labels looked at in one recipient domain; longer ones are cut short.
    static let maximumLabels = 32

    let bytes: UnsafeBufferPointer<UInt8>
    let hasher: RangeHasher
    /// `starts[i]` is where label `i` starts; `starts[labelCount]` is `bytes.count + 1`.
    let starts: UnsafeMutableBufferPointer<Int>
    let labelCount: Int
    /// Which other forms of the domain are worth looking at.
    let traits: DomainTraits

    var count: Int { bytes.count }

    /// Calls `body` with the domain's bytes made ready for lookups.
    @inline(__always)
    static func with<R>(_ bytes: UnsafeBufferPointer<UInt8>, _ body: (DomainBytes) -> R) -> R {
        withUnsafeTemporaryAllocation(of: UInt64.self, capacity: bytes.count + 1) { prefix in
            withUnsafeTemporaryAllocation(of: Int.self, capacity: maximumLabels + 1) { starts in
                // One pass: prefix hashes (as RangeHasher makes them), label starts, traits.
                var hash: UInt64 = 0
                var labelCount = 1
                var traits = DomainTraits()
                prefix[0] = 0
                starts[0] = 0
                for index in 0..<bytes.count {
                    let byte = bytes[index]
                    hash = hash &* RangeHasher.base &+ UInt64(byte) &+ 1
                    prefix[index + 1] = hash
                    if byte == UInt8(ascii: "."), labelCount < maximumLabels {
                        starts[labelCount] = index + 1
                        labelCount += 1
                    }
                    traits.observe(bytes, at: index)
                }
                starts[labelCount] = bytes.count + 1
                return RangeHasher.powers.withUnsafeBufferPointer { powers in
                    body(DomainBytes(
                        bytes: bytes, hasher: RangeHasher(prefix: prefix, powers: powers), starts: starts,
                        labelCount: labelCount, traits: traits))
                }
            }
        }
    }
}

/// What one pass over a domain's bytes tells about the forms worth looking at.
struct DomainTraits {
    var hasPunycode = false
    var hasNonASCII = false
    private var foldable = false
    /// Whether Confusables.foldASCII(_:) would change the bytes (see Confusables.asciiFolds).
    var needsFolding: Bool { !hasNonASCII && foldable }

    /// The ASCII bytes that may start or end something the pass looks for: `0`, `1` (bit 48,
    /// 49 of the low set) and `l`, `n`, `v`, `x` (bits of the high set, less 64).
    private static let notableLow: UInt64 = 1 << 48 | 1 << 49
    private static let notableHigh: UInt64 = 1 << (0x6C - 64) | 1 << (0x6E - 64) | 1 << (0x76 - 64) | 1 << (0x78 - 64)

    init() {}

    init(_ bytes: UnsafeBufferPointer<UInt8>) {
        for index in 0..<bytes.count { observe(bytes, at: index) }
    }

    /// Takes the byte at `index` into account (bytes are observed in order). Most bytes are
    /// letters that start nothing, and are passed over after one test against a bit set of the
    /// ASCII bytes that may.
    @inline(__always)
    mutating func observe(_ bytes: UnsafeBufferPointer<UInt8>, at index: Int) {
        let byte = bytes[index]
        if byte < 0x80, (byte < 64 ? Self.notableLow : Self.notableHigh) & (1 << UInt64(byte & 63)) == 0 { return }
        observeNotable(bytes, at: index)
    }

    private mutating func observeNotable(_ bytes: UnsafeBufferPointer<UInt8>, at index: Int) {
        let byte = bytes[index]
        let previous = index > 0 ? bytes[index - 1] : 0
        switch byte {
        case 0x80...:
            hasNonASCII = true
        case UInt8(ascii: "0"), UInt8(ascii: "1"):
            foldable = true
        case UInt8(ascii: "n"):
            if previous == UInt8(ascii: "r") || previous == UInt8(ascii: "n") { foldable = true }
        case UInt8(ascii: "v"):
            if previous == UInt8(ascii: "v") { foldable = true }
        case UInt8(ascii: "l"):
            if previous == UInt8(ascii: "c") { foldable = true }
        case UInt8(ascii: "x"):
            if index + 4 <= bytes.count, index == 0 || previous == UInt8(ascii: "."), bytes[index + 1] == UInt8(ascii: "n"),
               bytes[index + 2] == UInt8(ascii: "-"), bytes[index + 3] == UInt8(ascii: "-") {
                hasPunycode = true
            }
        default:
            break
        }
    }
}
