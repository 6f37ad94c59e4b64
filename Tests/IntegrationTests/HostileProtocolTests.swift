import Foundation
import MTADriver
import Testing

/// What Postfix would refuse or never send, sent with the MTA side of the milter protocol
/// straight to the real binary (the enforce profile: medium → 450, high → 550): each odd
/// recipient gets its documented decision in one clean reply line, the header added at the
/// end stays one well-folded header, and the process lives on.
@Suite(.postfixEnvironment)
struct HostileProtocolTests {
    static func connection() throws -> MTAConnection {
        let milter = try environment().milters[.enforce]!
        let connection = try MTAConnection(unixPath: String(milter.socket.dropFirst("unix:".count)))
        // As an MTA that waits for every answer, so each odd input shows the milter answering.
        _ = try connection.negotiate(steps: 0x1F_FFFF & ~MTAConnection.noReplySteps)
        _ = try connection.connect(hostname: "client.test.localdomain", address: "127.0.0.1", port: 40000)
        _ = try connection.helo("client.test.localdomain")
        return connection
    }

    /// The reply text: one line, printable ASCII.
    static func checkReply(_ reply: MTAConnection.Reply?, _ comment: Comment) {
        guard case .text(let text) = reply else { return }
        #expect(text.utf8.allSatisfy { $0 >= 0x20 && $0 < 0x7F }, comment)
        #expect(text.utf8.count + 2 <= 512, comment)
    }

    /// The header we add: exactly one, first, folded only with LF TAB, no line past 998 octets.
    static func checkHeader(_ changes: [MTAConnection.Change], _ comment: Comment) -> String? {
        let inserted = changes.compactMap { change -> String? in
            if case .insertHeader(0, "X-Misdirection-Risk", let value) = change { return value }
            return nil
        }
        #expect(inserted.count == 1, comment)
        guard let value = inserted.first else { return nil }
        let bytes = Array(value.utf8)
        for (index, byte) in bytes.enumerated() where byte < 0x20 || byte == 0x7F {
            let fold = byte == 0x0A && index + 1 < bytes.count && bytes[index + 1] == 0x09
            let tabOfFold = byte == 0x09 && index > 0 && bytes[index - 1] == 0x0A
            #expect(fold || tabOfFold, "control character 0x\(String(byte, radix: 16)) in the header: \(comment)")
        }
        #expect(bytes.split(separator: 0x0A).allSatisfy { $0.count + "X-Misdirection-Risk: ".utf8.count <= 998 }, comment)
        return value
    }

    struct Recipient: CustomTestStringConvertible, Sendable {
        let name: String
        /// The RCPT arguments: a NUL inside an address reaches the milter as two arguments.
        let arguments: [[UInt8]]
        /// The start of the refusal, or nil when the recipient is accepted.
        let refusal: String?
        var testDescription: String { name }

        init(_ name: String, _ arguments: [[UInt8]], _ refusal: String?) {
            self.name = name
            self.arguments = arguments
            self.refusal = refusal
        }

        init(_ name: String, _ argument: String, _ refusal: String?) {
            self.init(name, [Array(argument.utf8)], refusal)
        }
    }

    static let recipients: [Recipient] = [
        Recipient("CR LF and a fake reply", "<a@army.ml>\r\n250 2.1.5 Ok", "450 4.7.1 "),
        Recipient("lone LF and a header", "<a@army.ml\nBcc: x@example.org>", "450 4.7.1 "),
        Recipient("lone CR", "<a@army.ml\rx>", "450 4.7.1 "),
        Recipient("cut at a NUL", [Array("<a@army.ml".utf8), Array("x>".utf8)], "450 4.7.1 "),
        Recipient("8-bit, not UTF-8", [Array("<a@arm".utf8) + [0xE9] + Array(".ml>".utf8)], "450 4.7.1 "),
        Recipient("label over 63 octets", "<u@" + String(repeating: "a", count: 64) + ".ml>", "450 4.7.1 "),
        Recipient("name over 253 octets", "<u@" + Array(repeating: "abcdefghi", count: 26).joined(separator: ".") + ".ml>", "450 4.7.1 "),
        Recipient("invisible character", "<u@arm\u{200B}y.mil>", "450 4.7.1 "),
        Recipient("8 KB local part", "<" + String(repeating: "é", count: 4000) + "@army.ml>", "550 5.7.1 "),
        Recipient("% and an escape sequence", "<%s%n\u{1B}[0m@army.ml>", "450 4.7.1 "),
        Recipient("null path", "<>", nil),
        Recipient("local name", "<postmaster>", nil),
    ]

    @Test("recipients no MTA should pass get their documented decision in one clean reply line", arguments: recipients)
    func recipient(_ odd: Recipient) throws {
        let connection = try Self.connection()
        #expect(try connection.mail([Array("<alice@example.org>".utf8)]) == .continue)
        let reply = try connection.rcpt(odd.arguments)
        if let refusal = odd.refusal {
            guard case .text(let text) = reply else {
                Issue.record("expected a refusal, got \(String(describing: reply))")
                return
            }
            #expect(text.hasPrefix(refusal), "\(text.prefix(200))")
            Self.checkReply(reply, "\(odd.name)")
        } else {
            #expect(reply == .continue)
        }
        #expect(try connection.rcpt([Array("<ok@army.mil>".utf8)]) == .continue)
        let (changes, final) = try connection.endOfMessage()
        #expect(final == .continue)
        let header = Self.checkHeader(changes, "\(odd.name)")
        if odd.refusal != nil { #expect(header?.contains("rcpt-action=") == true, "the refused recipient is listed") }
        try connection.quit()
        #expect(try environment().milters[.enforce]!.isRunning)
    }

    @Test("a RCPT without any argument is a protocol error: libmilter closes that connection, the milter serves on")
    func emptyRecipient() throws {
        let connection = try Self.connection()
        _ = try connection.mail([Array("<alice@example.org>".utf8)])
        #expect(throws: MTAConnection.DriverError.self) { try connection.rcpt([]) }
        let next = try Self.connection()
        _ = try next.mail([Array("<alice@example.org>".utf8)])
        #expect(try next.rcpt([Array("<j@army.ml>".utf8)]) != nil)
        try next.quit()
        #expect(try environment().milters[.enforce]!.isRunning)
    }

    @Test("header names and values no MTA would send are read without harm; every copy of ours is removed")
    func headers() throws {
        let connection = try Self.connection()
        _ = try connection.mail([Array("<alice@example.org>".utf8)])
        _ = try connection.rcpt([Array("<j@army.mil>".utf8)])
        let odd: [([UInt8], [UInt8])] = [
            (Array("X-Latin".utf8) + [0xE9], Array("caf".utf8) + [0xE9]),
            // libmilter refuses packets of 64 KB or more; Postfix cuts long headers to fit.
            (Array("Subject".utf8), Array(repeating: UInt8(ascii: "y"), count: 60000)),
            (Array("X-Controls".utf8), [0x01, 0x1B, 0x0D, 0x0A, 0x7F]),
            (Array("X-Misdirection-Risk".utf8), Array("none\r\nBcc: x@example.org".utf8)),
        ]
        for (name, value) in odd { #expect(try connection.header(name, value) == .continue) }
        for index in 0..<99 {
            let name = ["X-Misdirection-Risk", "x-misdirection-risk", "X-MISDIRECTION-RISK"][index % 3]
            #expect(try connection.header(name, Array("none; copy \(index)".utf8)) == .continue)
        }
        let (changes, final) = try connection.endOfMessage()
        #expect(final == .continue)
        let removals = changes.compactMap { change -> UInt32? in
            if case .changeHeader(let index, "X-Misdirection-Risk", "") = change { return index }
            return nil
        }
        #expect(removals == Array((1...100).reversed()), "every copy, from the last, so each index still holds")
        let header = Self.checkHeader(changes, "headers")
        #expect(header?.hasPrefix("none;") == true)
        try connection.quit()
    }
}

/// Over TCP the binary answers DATA, so the macros Postfix sends before it never travel alone
/// (a lone segment with no reply holds the next command 40 ms); on a unix socket it skips it,
/// and the MTA does not wait on MAIL and headers, which only collect.
@Suite(.postfixEnvironment)
struct TCPNegotiationTests {
    static let noData: UInt32 = 0x200  // SMFIP_NODATA
    static let noReplyMailAndHeaders: UInt32 = 0x4000 | 0x80  // SMFIP_NR_MAIL | SMFIP_NR_HDR

    @Test("over TCP DATA is negotiated and answered with continue; on a unix socket it is skipped")
    func dataOverTCP() throws {
        let env = try environment()
        let tcpSocket = env.milters[.tcp]!.socket
        let port = try #require(UInt16(tcpSocket.dropFirst("inet:".count).prefix { $0 != "@" }), "\(tcpSocket)")
        let tcp = try MTAConnection(tcpPort: port)
        let overTCP = try tcp.negotiate()
        #expect(overTCP.steps & Self.noData == 0, "DATA is wanted over TCP")
        #expect(overTCP.steps & MTAConnection.noReplySteps == 0, "every stage answered over TCP")
        _ = try tcp.connect(hostname: "client.test.localdomain", address: "127.0.0.1", port: 40000)
        _ = try tcp.mail([Array("<a@example.org>".utf8)])
        _ = try tcp.rcpt([Array("<b@army.mil>".utf8)])
        try tcp.send("T", [])
        let (code, _) = try tcp.receive()
        #expect(code == UInt8(ascii: "c"), "DATA answered with continue")

        let unix = try MTAConnection(unixPath: String(env.milters[.enforce]!.socket.dropFirst("unix:".count)))
        let overUnix = try unix.negotiate()
        #expect(overUnix.steps & Self.noData != 0, "DATA skipped on a unix socket")
        #expect(overUnix.steps & MTAConnection.noReplySteps == Self.noReplyMailAndHeaders, "only MAIL and headers go unanswered")
    }

    @Test("on a unix socket MAIL and headers get no answer, and the headers still count at end of message")
    func unansweredHeaders() throws {
        let env = try environment()
        let unix = try MTAConnection(unixPath: String(env.milters[.enforce]!.socket.dropFirst("unix:".count)))
        _ = try unix.negotiate()
        #expect(try unix.mail([Array("<alice@example.org>".utf8)]) == nil)
        #expect(try unix.rcpt([Array("<j@army.mil>".utf8)]) == .continue)
        // A forged copy of our header (removed at end of message only if the unanswered
        // headers reached the session) among ordinary ones.
        #expect(try unix.header("Subject", Array("hello".utf8)) == nil)
        #expect(try unix.header("X-Misdirection-Risk", Array("none; forged".utf8)) == nil)
        #expect(try unix.header("To", Array("<j@army.mil>".utf8)) == nil)
        let (changes, final) = try unix.endOfMessage()
        // An answer sent to a header would have been read here as the end-of-message reply,
        // leaving the changes unread.
        #expect(final == .continue)
        #expect(changes.contains(.changeHeader(index: 1, name: "X-Misdirection-Risk", value: "")), "\(changes)")
        let added = changes.filter { if case .insertHeader(_, "X-Misdirection-Risk", _) = $0 { true } else { false } }
        #expect(added.count == 1, "\(changes)")
        try unix.quit()
    }
}
