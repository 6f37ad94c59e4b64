/// A configuration problem, located by file, line and key so a postmaster can go straight to it.
struct ConfigurationError: Error, CustomStringConvertible {
    /// The file it came from.
    let file: String
    /// 1-based line, when known.
    let line: Int?
    /// The dotted key path (`actions.high`), when the problem belongs to one.
    let key: String?
    /// What is wrong, and where possible what would be right.
    let message: String

    /// `file:line: key: message`, the shape compilers and `postconf` use.
    var description: String {
        var text = file
        if let line { text += ":\(line)" }
        text += ": "
        if let key { text += "\(key): " }
        return text + message
    }
}
