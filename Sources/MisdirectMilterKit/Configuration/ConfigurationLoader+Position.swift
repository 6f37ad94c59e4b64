import Foundation

/// Where in the file a problem is, for errors that YAML reports without a key or that come
/// before YAML is read at all.
package extension ConfigurationLoader {
    /// The top-level key whose block holds `line`: the last line at or before it that starts in
    /// the first column with `name:`. Nil before the first key, or for keys we do not know.
    static func topLevelKey(enclosing line: Int, in text: String) -> String? {
        var current = 1
        var key: String?
        var lineStart = true
        var candidate = ""
        var previous: Unicode.Scalar?
        for scalar in text.unicodeScalars {
            if current > line { break }
            switch scalar {
            case "\n" where previous == "\r":
                break
            case "\n", "\r", "\u{85}", "\u{2028}", "\u{2029}":
                current += 1
                lineStart = true
                candidate = ""
            case ":" where lineStart && !candidate.isEmpty:
                if keys[candidate] != nil { key = candidate }
                lineStart = false
            case "a"..."z" where lineStart, "_" where lineStart:
                candidate.unicodeScalars.append(scalar)
            default:
                lineStart = false
            }
            previous = scalar
        }
        return key
    }

    /// YAML's printable characters (YAML 1.1 `c-printable`, as libyaml checks them).
    static func isYAMLPrintable(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x09, 0x0A, 0x0D, 0x20...0x7E, 0x85, 0xA0...0xD7FF, 0x10000...0x10FFFF: true
        case 0xE000...0xFFFD: scalar.value != 0xFEFF
        default: false
        }
    }

    /// The 1-based line of a position, counting line breaks as libyaml does (LF, CR, CR LF,
    /// NEL, LS, PS), so lines agree with those of YAML errors.
    static func line(at position: String.UnicodeScalarView.Index, in text: String) -> Int {
        var line = 1
        var previous: Unicode.Scalar?
        for scalar in text.unicodeScalars[..<position] {
            switch scalar {
            case "\n" where previous == "\r": break
            case "\n", "\r", "\u{85}", "\u{2028}", "\u{2029}": line += 1
            default: break
            }
            previous = scalar
        }
        return line
    }

    /// The longest prefix of `data` that is valid UTF-8, as text.
    static func validUTF8Prefix(_ data: Data) -> String {
        var decoder = UTF8()
        var iterator = data.makeIterator()
        var text = String.UnicodeScalarView()
        while case .scalarValue(let scalar) = decoder.decode(&iterator) { text.append(scalar) }
        return String(text)
    }
}
