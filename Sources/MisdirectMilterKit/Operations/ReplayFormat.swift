import MailHistory

/// How `replay` reads a file: recognised from its content (`auto`), or forced.
package enum ReplayFormat: String, CaseIterable, Sendable {
    case auto, postfixLog = "postfix-log", message, mbox

    /// The kind of a file from its first line: an mbox starts `From `, a message with a header
    /// field, anything else is taken for a log.
    package static func sniff(_ firstLine: [UInt8], path: String) -> ReplayFormat {
        if firstLine.starts(with: Array("From ".utf8)) { return .mbox }
        // Before the header test: an RFC 3339 time stamp (Postfix's own maillog_file) reads as a
        // field name up to its first colon.
        if PostfixLogParser.isLogLine(firstLine) { return .postfixLog }
        if let colon = firstLine.firstIndex(of: UInt8(ascii: ":")), colon > 0,
           firstLine[..<colon].allSatisfy({ $0 > 0x20 && $0 < 0x7F }) {
            return .message
        }
        if path.hasSuffix(".eml") { return .message }
        return .postfixLog
    }
}
