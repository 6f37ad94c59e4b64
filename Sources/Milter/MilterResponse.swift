/// What a session tells the MTA at the end of a milter stage.
///
/// `reply` carries an SMTP reply: its first digit decides whether the MTA refuses with a
/// temporary (4xx) or permanent (5xx) failure. At the recipient stage a refusal applies to that
/// recipient only; the others of the same message carry on.
public enum MilterResponse: Sendable, Equatable {
    /// Go on to the next stage (`SMFIS_CONTINUE`).
    case `continue`
    /// Accept this message (or recipient) without further calls for it (`SMFIS_ACCEPT`).
    case accept
    /// Refuse with the MTA's default permanent failure (`SMFIS_REJECT`).
    case reject
    /// Refuse with the MTA's default temporary failure (`SMFIS_TEMPFAIL`).
    case tempfail
    /// Accept but silently drop the message (`SMFIS_DISCARD`).
    case discard
    /// From the body stage: send no more body chunks of this message (`SMFIS_SKIP`). Where
    /// the MTA cannot skip, libmilter answers continue.
    case skip
    /// Refuse with this SMTP reply (`smfi_setreply` or `smfi_setmlreply`, then
    /// `SMFIS_REJECT` for 5xx or `SMFIS_TEMPFAIL` for 4xx).
    case reply(SMTPReply)
}

/// An SMTP failure reply: a 4xx or 5xx code, an optional enhanced status code and text lines.
///
/// The initializer makes any text safe to hand to the MTA: bytes outside printable ASCII become
/// `?`, so nothing a sender controls can add a line to the reply; a line that would pass RFC
/// 5321's 512 octets is cut and ends in `...`; `%` is escaped as libmilter requires.
public struct SMTPReply: Sendable, Equatable {
    /// The three-digit reply code, `4xx` or `5xx`.
    public let code: String
    /// The enhanced status code (RFC 3463), such as `5.7.1`; its class matches `code`.
    public let enhancedCode: String?
    /// The text, one element per reply line (at most eight), already sanitized.
    public let lines: [String]

    /// Creates a reply, or returns nil when the codes are not a valid failure reply.
    /// - Parameters:
    ///   - code: `4xx` or `5xx`.
    ///   - enhancedCode: `X.Y.Z` whose first digit equals the code's, or nil.
    ///   - text: the human-readable text; `\n` separates lines.
    public init?(code: String, enhancedCode: String?, text: String) {
        let digits = Array(code.utf8)
        guard digits.count == 3, digits[0] == UInt8(ascii: "4") || digits[0] == UInt8(ascii: "5"),
              digits.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") })
        else { return nil }
        if let enhancedCode {
            guard SMTPReply.isEnhancedCode(enhancedCode, forClass: digits[0]) else { return nil }
        }
        self.code = code
        self.enhancedCode = enhancedCode
        // Split on the byte, not the Character: Swift reads "\r\n" as one Character.
        var lines = text.utf8.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).prefix(8).map(Array.init)
        for index in lines.indices where lines[index].last == UInt8(ascii: "\r") { lines[index].removeLast() }
        // RFC 5321: a reply line, code and CR LF included, is at most 512 octets.
        let room = 512 - "550 \r\n".utf8.count - (enhancedCode.map { $0.utf8.count + 1 } ?? 0)
        self.lines = lines.map { SMTPReply.sanitize($0, maximumLength: room) }
    }

    /// True for a temporary failure (4xx).
    public var isTemporary: Bool { code.utf8.first == UInt8(ascii: "4") }

    private static func isEnhancedCode(_ value: String, forClass first: UInt8) -> Bool {
        let parts = value.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].utf8.first == first, parts[0].count == 1 else { return false }
        return parts.dropFirst().allSatisfy { part in
            (1...3).contains(part.count) && part.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 }
        }
    }

    /// Printable ASCII only (anything else becomes `?`), cut to `maximumLength` octets on the
    /// wire ending in `...`, then `%` doubled as libmilter wants.
    private static func sanitize(_ line: [UInt8], maximumLength: Int) -> String {
        var printable = line.map { byte -> UInt8 in
            switch byte {
            case 0x20...0x7E: byte
            case UInt8(ascii: "\t"): UInt8(ascii: " ")
            default: UInt8(ascii: "?")
            }
        }
        if printable.count > maximumLength {
            printable = Array(printable.prefix(maximumLength - 3)) + Array("...".utf8)
        }
        var out: [UInt8] = []
        out.reserveCapacity(printable.count)
        for byte in printable {
            if byte == UInt8(ascii: "%") { out.append(byte) }
            out.append(byte)
        }
        return String(decoding: out, as: UTF8.self)
    }
}
