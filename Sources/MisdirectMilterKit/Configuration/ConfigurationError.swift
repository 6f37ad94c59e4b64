/// A configuration problem, located by file, line and key so a postmaster can go straight to it.
public struct ConfigurationError: Error, CustomStringConvertible {
    /// The file it came from.
    public let file: String
    /// 1-based line, when known.
    public let line: Int?
    /// The dotted key path (`actions.high`), when the problem belongs to one.
    public let key: String?
    /// What is wrong, and where possible what would be right.
    public let message: String

    /// `file:line: key: message`, the shape compilers and `postconf` use: always one line, with
    /// control characters from the file (a quoted value may hold a line break) escaped.
    public var description: String {
        var text = file
        if let line { text += ":\(line)" }
        text += ": "
        if let key { text += "\(Self.oneLine(key)): " }
        return text + Self.oneLine(message)
    }

    /// `\n`, `\r`, `\t` and `\u{XX}` for control characters.
    package static func oneLine(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else { return text }
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F: out += "\\u{\(String(scalar.value, radix: 16, uppercase: true))}"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
