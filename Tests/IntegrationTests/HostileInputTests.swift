import Foundation
import Testing

/// Odd and hostile input sent to a real Postfix with the real milter behind it: what Postfix
/// lets through is classified as docs/rules.md documents; nothing adds a line to a reply or a
/// header; the milter never falls over.
@Suite(.postfixEnvironment)
struct HostileInputTests {
    struct Recipient: CustomTestStringConvertible, Sendable {
        let name: String
        /// What follows `RCPT TO:`, parameters included.
        let argument: String
        /// The reply under the enforce profile (high → 550, medium → 450).
        let code: Int
        /// The level in the header of the copy the tag profile delivers, and the `rcpt` item;
        /// nil when the sink cannot take the message (smtp-sink offers no SMTPUTF8, and limits
        /// its line length) and only the reply is checked.
        let delivered: (level: String, rcpt: String?)?
        var mailParameters = ""

        var testDescription: String { name }
    }

    static let recipients: [Recipient] = [
        Recipient(name: "quoted local part", argument: "<\"john smith\"@army.ml>", code: 550, delivered: ("high", "\"\\\"john smith\\\"@army.ml\"")),
        Recipient(name: "quoted local part with ; = and a quote", argument: "<\"a;b=c\\\"d\"@army.ml>", code: 550, delivered: ("high", "\"\\\"a;b=c\\\\\\\"d\\\"@army.ml\"")),
        Recipient(name: "source route", argument: "<@a.example,@b.example:u@army.ml>", code: 550, delivered: ("high", "u@army.ml")),
        Recipient(name: "address literal", argument: "<u@[192.0.2.1]>", code: 250, delivered: ("none", nil)),
        Recipient(name: "trailing dot", argument: "<u@army.ml.>", code: 550, delivered: ("high", "u@army.ml")),
        Recipient(name: "trailing dot on a protected domain", argument: "<u@army.mil.>", code: 250, delivered: ("none", nil)),
        Recipient(name: "mixed case", argument: "<U.Ser@ARMY.Ml>", code: 550, delivered: ("high", "U.Ser@army.ml")),
        Recipient(name: "ESMTP parameters after the address", argument: "<u@army.ml> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;u@army.ml", code: 550, delivered: ("high", "u@army.ml")),
        Recipient(name: "no angle brackets", argument: "u@army.ml", code: 550, delivered: ("high", "u@army.ml")),
        Recipient(name: "percent hack", argument: "<u%other.example@army.ml>", code: 550, delivered: ("high", "u%other.example@army.ml")),
        Recipient(name: "UTF-8 with SMTPUTF8", argument: "<josé@ärmy.ml>", code: 550, delivered: nil, mailParameters: " SMTPUTF8"),
        Recipient(name: "UTF-8 under a protected suffix", argument: "<josé@army.mil>", code: 250, delivered: nil, mailParameters: " SMTPUTF8"),
        Recipient(name: "invisible character in the domain", argument: "<u@arm\u{200B}y.mil>", code: 450, delivered: nil, mailParameters: " SMTPUTF8"),
        Recipient(name: "1500-octet local part", argument: "<" + String(repeating: "x", count: 1500) + "@army.ml>", code: 550, delivered: nil),
        Recipient(name: "300 two-octet characters in the local part", argument: "<" + String(repeating: "é", count: 300) + "@army.ml>", code: 550, delivered: nil, mailParameters: " SMTPUTF8"),
    ]

    @Test("odd recipients Postfix passes on get their documented decision, in one clean reply line", arguments: recipients)
    func recipient(_ odd: Recipient) throws {
        let env = try environment()
        let enforce = try SMTPClient(port: env.ports[.enforce]!)
        let reply = try #require(enforce.envelope(to: [Array(odd.argument.utf8)], mailParameters: odd.mailParameters).first)
        #expect(reply.code == odd.code, "\(reply)")
        #expect(!reply.text.contains("\n"), "one reply line: \(reply)")
        #expect("\(reply.code) \(reply.text)\r\n".utf8.count <= 512, "RFC 5321 reply line limit")
        if reply.code != 250 { #expect(reply.text.contains("misdirect-milter: "), "\(reply)") }

        guard let delivered = odd.delivered else { return }
        let subject = PostfixEnvironment.uniqueSubject(odd.name)
        let tag = try SMTPClient(port: env.ports[.tag]!)
        #expect(try tag.envelope(to: [Array(odd.argument.utf8)], mailParameters: odd.mailParameters).first?.code == 250)
        #expect(try tag.data(SMTPClient.message(subject: subject)).code == 250)
        let message = try #require(env.sink.messages(withSubjectContaining: subject).first, "not delivered")
        let risk = try #require(message.risk, "exactly one header: \(message.header("X-Misdirection-Risk"))")
        #expect(risk.level == delivered.level)
        #expect(risk["rcpt"] == delivered.rcpt)
    }

    @Test("the null sender is accepted and its recipients classified")
    func nullSender() throws {
        let env = try environment()
        let subject = PostfixEnvironment.uniqueSubject("null sender")
        let enforce = try SMTPClient(port: env.ports[.enforce]!)
        #expect(try enforce.envelope(from: "<>", to: [Array("<j@army.ml>".utf8)]).first?.code == 550)
        let tag = try SMTPClient(port: env.ports[.tag]!)
        #expect(try tag.envelope(from: "<>", to: [Array("<j@army.ml>".utf8)]).first?.code == 250)
        #expect(try tag.data(SMTPClient.message(subject: subject)).code == 250)
        let risk = try #require(env.sink.messages(withSubjectContaining: subject).first?.risk)
        #expect(risk.level == "high")
        // The tag profile logs to syslog.
        #expect(env.syslog.datagrams(containing: ["tagged recipient", "mail.sender=<>", "rcpt.address=<j@army.ml>"]).count >= 1)
    }

    @Test("Postfix itself refuses what cannot be an address; the milter never sees it and lives on", arguments: [
        ("NUL", Array("<a@army.ml".utf8) + [0] + Array("x>".utf8), 501),
        ("lone CR", Array("<a@army.ml\rx>".utf8), 501),
        ("8-bit, not UTF-8", Array("<a@arm".utf8) + [0xE9] + Array(".ml>".utf8), 500),
        ("label over 63 octets", Array(("<u@" + String(repeating: "a", count: 64) + ".ml>").utf8), 501),
        ("name over 253 octets", Array(("<u@" + Array(repeating: "abcdefghi", count: 26).joined(separator: ".") + ".ml>").utf8), 501),
        ("null path as recipient", Array("<>".utf8), 501),
    ] as [(String, [UInt8], Int)])
    func refusedByPostfix(name: String, argument: [UInt8], code: Int) throws {
        let env = try environment()
        let client = try SMTPClient(port: env.ports[.enforce]!)
        let reply = try #require(client.envelope(to: [argument, Array("<ok@army.mil>".utf8)]).first)
        #expect(reply.code == code, "\(reply)")
        #expect(!reply.text.contains("misdirect-milter"))
        #expect(env.milters[.enforce]!.isRunning)
    }

    @Test("CR LF in a recipient ends the command: Postfix reads two recipients and each is classified")
    func lineBreakInRecipient() throws {
        let env = try environment()
        let client = try SMTPClient(port: env.ports[.enforce]!)
        _ = try client.envelope(to: [])
        try client.send(Array("RCPT TO:<a@army.mil>\r\nRCPT TO:<b@army.ml>\r\n".utf8))
        #expect(try client.reply().code == 250)
        let second = try client.reply()
        #expect(second.code == 550)
        #expect(second.text.contains("army.ml looks like a misspelling of army.mil; did you mean b@army.mil?"))
    }

    struct Headers: CustomTestStringConvertible, Sendable {
        let name: String
        let lines: [[UInt8]]
        /// How many copies of our header the sender put in, all to be removed.
        let forged: Int
        var testDescription: String { name }
    }

    static let headers: [Headers] = [
        Headers(name: "folded forged header", lines: [Array("X-Misdirection-Risk: none;\n score=0.00;\n\taction=accept".utf8)], forged: 1),
        Headers(name: "space before the colon", lines: [Array("X-Misdirection-Risk : none; forged".utf8)], forged: 1),
        Headers(name: "odd case", lines: [Array("x-MISDIRECTION-risk: none; forged".utf8)], forged: 1),
        Headers(name: "empty forged value", lines: [Array("X-Misdirection-Risk:".utf8)], forged: 1),
        Headers(name: "forged value not UTF-8", lines: [Array("X-Misdirection-Risk: none; caf".utf8) + [0xE9]], forged: 1),
        Headers(name: "NUL in a forged value", lines: [Array("X-Misdirection-Risk: none".utf8) + [0] + Array("; x".utf8)], forged: 1),
        Headers(name: "60 KB forged value", lines: [Array(("X-Misdirection-Risk: none; " + String(repeating: "y ", count: 30000)).utf8)], forged: 1),
        Headers(name: "25 forged copies", lines: (0..<25).map { Array("X-Misdirection-Risk: none; copy \($0)".utf8) }, forged: 25),
        Headers(name: "60 KB header of another name", lines: [Array(("X-Long: " + String(repeating: "y", count: 60000)).utf8)], forged: 0),
        Headers(name: "header of another name not UTF-8", lines: [Array("X-Latin: caf".utf8) + [0xE9]], forged: 0),
        Headers(name: "duplicated headers of other names", lines: [Array("Subject: second".utf8), Array("To: a@army.mil".utf8), Array("To: b@army.mil".utf8)], forged: 0),
    ]

    @Test("whatever headers the sender writes, exactly one X-Misdirection-Risk arrives, ours", arguments: headers)
    func forgedHeaders(_ odd: Headers) throws {
        let env = try environment()
        let subject = PostfixEnvironment.uniqueSubject(odd.name)
        let client = try SMTPClient(port: env.ports[.tag]!)
        #expect(try client.envelope(to: [Array("<j@army.ml>".utf8)]).first?.code == 250)
        #expect(try client.data(SMTPClient.message(subject: subject, headers: odd.lines)).code == 250)
        let message = try #require(env.sink.messages(withSubjectContaining: subject).first, "not delivered")
        let ours = message.headers.filter { $0.name.lowercased().trimmingCharacters(in: .whitespaces) == "x-misdirection-risk" }
        #expect(ours.count == 1, "\(ours)")
        let risk = try #require(message.risk)
        #expect(risk.level == "high")
        #expect(risk["rcpt"] == "j@army.ml")
        if odd.forged > 0 {
            let queueID = try #require(message.postfixQueueID)
            #expect(env.syslog.datagrams(containing: ["removed forged header", "header.count=\(odd.forged)", "mail.queue_id=\(queueID)"]).count == 1)
        }
    }
}
