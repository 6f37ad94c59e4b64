internal import CICU
internal import CIDN2

/// Look-alike characters: skeletons that map every string to a representative of the strings
/// that look like it, so `аrmy.mil` (Cyrillic а), `ármy.mil`, `arrny.mil` and `army.mil` share
/// one.
///
/// Non-ASCII text goes through ICU's UTS #39 skeleton (`uspoof_getSkeleton`), then loses its
/// combining marks (accents) and is lower-cased. Then, for ASCII and non-ASCII alike, the ASCII
/// look-alikes in ``asciiFolds`` are folded (`rn` → `m`, `0` → `o`, …). ICU's own ASCII mappings
/// (`m` → `rn`, `0` → `O`, `1` → `l`) agree with these folds, so an ASCII string gets the same
/// skeleton with or without ICU, and only non-ASCII text pays for ICU.
///
/// Immutable once made; ICU documents its checker as safe to share between threads then.
public final class Confusables: @unchecked Sendable {
    /// ASCII sequences that look like one character, folded to it, longest match first at each
    /// position: the ones people mistake in a domain (`rn`/`m`, `vv`/`w`, `cl`/`d`, `nn`/`m`,
    /// `0`/`o`, `1`/`l`).
    /// (`rnn` is read as `r` + `nn`: `arnny` is `army`.)
    public static let asciiFolds: [(sequence: String, folded: String)] = [
        ("rnn", "rm"), ("rn", "m"), ("nn", "m"), ("vv", "w"), ("cl", "d"), ("0", "o"), ("1", "l"),
    ]
    /// Single ASCII characters that look alike, both ways: a substitution between them is a
    /// homoglyph rather than a typo.
    static let asciiPairs: Set<UInt16> = {
        var pairs = Set<UInt16>()
        for (a, b) in [("0", "o"), ("1", "l"), ("1", "i"), ("l", "i"), ("u", "v"), ("n", "m"), ("q", "g"), ("e", "c"), ("b", "d")] {
            let x = UInt16(Character(a).asciiValue!), y = UInt16(Character(b).asciiValue!)
            pairs.insert(x << 8 | y)
            pairs.insert(y << 8 | x)
        }
        return pairs
    }()

    private let checker: OpaquePointer?

    public init() {
        checker = misdirect_spoof_open()
    }

    deinit {
        if let checker { misdirect_spoof_close(checker) }
    }

    /// True when the two ASCII bytes are listed as look-alikes of each other.
    static func areLookAlikes(_ a: UInt8, _ b: UInt8) -> Bool {
        asciiPairs.contains(UInt16(a) << 8 | UInt16(b))
    }

    /// The skeleton of a lower-case domain or label, as UTF-8 bytes.
    public func skeleton(_ text: String) -> [UInt8] {
        let original = Array(text.utf8)
        guard !original.allSatisfy({ $0 < 0x80 }) else { return Self.foldASCII(original) }
        // Decorated Latin letters (`ᴍ`, `ɽ`) first become the letter they are named after: ICU
        // maps some of them to prototypes no ASCII letter shares.
        var named = String.UnicodeScalarView()
        for scalar in text.unicodeScalars { named.append(Self.baseLetter(of: scalar) ?? scalar) }
        let bytes = Array(String(named).utf8)
        var unicode = bytes
        if let checker {
            var output = [CChar](repeating: 0, count: bytes.count * 6 + 16)
            let written = bytes.withUnsafeBufferPointer { input in
                input.withMemoryRebound(to: CChar.self) { input in
                    misdirect_spoof_skeleton(checker, input.baseAddress, Int32(input.count), &output, Int32(output.count))
                }
            }
            if written >= 0 {
                unicode = output.prefix(Int(written)).map { UInt8(bitPattern: $0) }
            }
        }
        // ICU's skeleton is in NFD: accents are separate combining marks, dropped here. Latin
        // letters ICU leaves alone (`ʀ`, `ɏ`, `ɾ`: small capitals, strokes, hooks) become the
        // letter their Unicode name is built on.
        var stripped = String.UnicodeScalarView()
        for scalar in String(decoding: unicode, as: UTF8.self).unicodeScalars
        where scalar.properties.generalCategory != .nonspacingMark {
            if scalar.isASCII {
                stripped.append(scalar)
            } else {
                stripped.append(Self.baseLetter(of: scalar) ?? Self.prototypeLetters[scalar] ?? scalar)
            }
        }
        return Self.foldASCII(Array(String(stripped).lowercased().utf8))
    }

    /// ICU prototypes of look-alike classes that are not ASCII but look like an ASCII letter:
    /// Cyrillic `м` and Latin `ᴍ` skeleton to `ʍ`, Cyrillic `ь` to `ƅ`.
    static let prototypeLetters: [Unicode.Scalar: Unicode.Scalar] = ["\u{028D}": "m", "\u{0185}": "b"]

    /// The ASCII letter a decorated letter is named after: `LATIN LETTER SMALL CAPITAL R` → `r`,
    /// `LATIN SMALL LETTER Y WITH STROKE` → `y`, `CYRILLIC SMALL LETTER DZE` → nil.
    static func baseLetter(of scalar: Unicode.Scalar) -> Unicode.Scalar? {
        guard let name = scalar.properties.name, name.hasPrefix("LATIN ") else { return nil }
        let words = name.split(separator: " ")
        guard let letter = words.firstIndex(of: "LETTER") else { return nil }
        var rest = words[(letter + 1)...].joined(separator: " ")[...]
        for prefix in ["SMALL CAPITAL ", "SMALL ", "CAPITAL ", "DOTLESS "] where rest.hasPrefix(prefix) {
            rest = rest.dropFirst(prefix.count)
        }
        let word = rest.prefix { $0 != " " }
        guard word.count == 1, let character = word.first, character.isASCII, character.isLetter else { return nil }
        return character.lowercased().unicodeScalars.first
    }

    /// True when a label mixes scripts that are not written together (ICU's "highly
    /// restrictive" level: Latin with Cyrillic, say, but not Latin with Han and Kana).
    public func isMixedScript(_ label: String) -> Bool {
        guard let checker, label.utf8.contains(where: { $0 >= 0x80 }) else { return false }
        var bytes = Array(label.utf8)
        return bytes.withUnsafeMutableBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { buffer in
                misdirect_spoof_is_mixed_script(checker, buffer.baseAddress, Int32(buffer.count)) != 0
            }
        }
    }

    /// Folds ASCII look-alike sequences (``asciiFolds``) left to right.
    static func foldASCII(_ bytes: [UInt8]) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count)
        var index = 0
        outer: while index < bytes.count {
            for (sequence, folded) in asciiFoldBytes {
                if index + sequence.count <= bytes.count, bytes[index..<(index + sequence.count)].elementsEqual(sequence) {
                    output += folded
                    index += sequence.count
                    continue outer
                }
            }
            output.append(bytes[index])
            index += 1
        }
        return output
    }

    private static let asciiFoldBytes: [([UInt8], [UInt8])] = asciiFolds.map { (Array($0.sequence.utf8), Array($0.folded.utf8)) }

    /// Decodes the punycode (`xn--`) labels of a lower-case domain with libidn2 (IDNA2008).
    /// - Returns: the Unicode form, or nil when a label is not valid punycode or IDNA2008, or
    ///   decodes to what is not a domain: libidn2 decodes `xn--tal` to two C1 control
    ///   characters, `xn--` to an empty label and `xn--stay` to two combining marks, which no
    ///   label may start with (RFC 5891, 4.2.3.2).
    public static func unicodeDomain(_ domain: String) -> String? {
        var output: UnsafeMutablePointer<CChar>?
        let status = misdirect_idn2_to_unicode(domain, &output)
        guard status == 0, let output else { return nil }
        defer { misdirect_idn2_free(output) }
        guard let decoded = String(validatingCString: output),
              case .success(let unicode) = EmailAddress.normalizeDomain(Array(decoded.utf8)) else { return nil }
        return unicode
    }
}
