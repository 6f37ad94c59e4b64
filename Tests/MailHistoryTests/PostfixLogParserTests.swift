import MailHistory
import Testing

/// Feeds text to a parser line by line and collects what it emits.
func parse<P>(_ text: String, into parser: inout P, consume: (inout P, UnsafeBufferPointer<UInt8>, (ReplayedMessage) -> Void) -> Void, finish: (inout P, (ReplayedMessage) -> Void) -> Void) -> [ReplayedMessage] {
    var messages: [ReplayedMessage] = []
    // Split on the byte: Swift reads "\r\n" as one Character.
    for line in text.utf8.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
        Array(line).withUnsafeBufferPointer { consume(&parser, $0) { messages.append($0) } }
    }
    finish(&parser) { messages.append($0) }
    return messages
}

func parseLog(_ text: String, maximumPending: Int = 100_000) -> [ReplayedMessage] {
    var parser = PostfixLogParser(maximumPending: maximumPending)
    return parse(text, into: &parser, consume: { $0.consume($1, emit: $2) }, finish: { $0.finish(emit: $1) })
}

struct PostfixLogParserTests {
    @Test("groups the delivery lines of a queue id with the qmgr sender, ending at removed")
    func groups() {
        let messages = parseLog("""
            Nov 24 09:12:01 mx1 postfix/qmgr[880]: 4Xk9Lq1Zb2z9tJ: from=<alice@example.org>, size=2214, nrcpt=2 (queue active)
            Nov 24 09:12:02 mx1 postfix/smtp[4110]: 4Xk9Lq1Zb2z9tJ: to=<j.smith@army.ml>, relay=mx.army.ml[192.0.2.10]:25, delay=0.9, dsn=2.0.0, status=sent (250 Ok)
            Nov 24 09:12:02 mx1 postfix/smtp[4110]: 4Xk9Lq1Zb2z9tJ: to=<k.jones@army.mil>, relay=mx.army.mil[198.51.100.7]:25, delay=0.9, dsn=2.0.0, status=sent (250 Ok)
            Nov 24 09:12:02 mx1 postfix/qmgr[880]: 4Xk9Lq1Zb2z9tJ: removed
            """)
        #expect(messages == [ReplayedMessage(id: "4Xk9Lq1Zb2z9tJ", sender: "alice@example.org", recipients: ["j.smith@army.ml", "k.jones@army.mil"])])
    }

    @Test("counts a deferred and retried recipient once, and reads service-named agents and RFC 3339 times")
    func retries() {
        let messages = parseLog("""
            Nov 24 09:15:40 mx1 postfix/qmgr[880]: ABCDEF1234: from=<bob@example.org>, size=10442, nrcpt=1 (queue active)
            Nov 24 09:15:41 mx1 postfix/relay/smtp[4122]: ABCDEF1234: to=<p@state.gv>, relay=none, delay=1, dsn=4.4.1, status=deferred (timed out)
            2026-11-24T09:25:41.000001+00:00 mx1 postfix-out/qmgr[880]: ABCDEF1234: from=<bob@example.org>, size=10442, nrcpt=1 (queue active)
            2026-11-24T09:25:42.000001+00:00 mx1 postfix-out/relay/smtp[4130]: ABCDEF1234: to=<p@state.gv>, relay=none, delay=601, dsn=4.4.1, status=deferred (timed out)
            """)
        #expect(messages == [ReplayedMessage(id: "ABCDEF1234", sender: "bob@example.org", recipients: ["p@state.gv"])])
    }

    @Test("skips NOQUEUE rejections, smtpd and cleanup lines, bounce notices and garbage")
    func skips() {
        var parser = PostfixLogParser()
        let text = """
            Nov 24 10:02:13 mx1 postfix/smtpd[4150]: NOQUEUE: reject: RCPT from unknown[203.0.113.99]: 554 5.7.1 Relay access denied; from=<x@spam.test> to=<spam@example.org> proto=ESMTP
            Nov 24 10:05:01 mx1 postfix/bounce[4161]: 4Xk9Zz3Hh4z9tM: sender non-delivery notification: 4Xk9Zz4Jj5z9tN
            Nov 24 10:05:01 mx1 postfix/cleanup[4161]: 4Xk9Zz3Hh4z9tM: message-id=<x@y>
            Nov 24 10:05:01 mx1 postfix/error[4162]: 4Xk9Zz3Hh4z9tM: to=<a@b.example>, relay=none, status=bounced
            Nov 24 10:05:01 mx1 kernel: [12.3]: something else entirely
            not a log line at all
            """
        let messages = parse(text, into: &parser, consume: { $0.consume($1, emit: $2) }, finish: { $0.finish(emit: $1) })
        #expect(messages.isEmpty)
        #expect(parser.linesRead == 6)
        #expect(parser.linesUsed == 0)
    }

    @Test("gives back messages whose removed line is missing at the end, and the oldest early when too many are open")
    func bounded() {
        var lines: [String] = []
        for index in 0..<10 {
            lines.append("Nov 24 10:00:00 mx1 postfix/smtp[1]: QUEUE\(index)AA: to=<r\(index)@army.ml>, relay=none, status=sent (ok)")
        }
        let messages = parseLog(lines.joined(separator: "\n"), maximumPending: 4)
        #expect(messages.count == 10)
        #expect(Set(messages.map(\.id)).count == 10)
        #expect(messages.first?.id == "QUEUE0AA", "the oldest goes first")
    }

    @Test("keeps a quoted local part with > and reads a local delivery")
    func addresses() {
        let messages = parseLog("""
            Nov 24 10:00:00 mx1 postfix/local[1]: QQQQQ1: to=<"odd>name"@example.org>, orig_to=<odd@corp.example.org>, relay=local, status=sent (delivered to mailbox)
            Nov 24 10:00:00 mx1 postfix/qmgr[1]: QQQQQ1: removed
            """)
        #expect(messages.first?.recipients == [#""odd>name"@example.org"#])
        #expect(messages.first?.sender == nil)
    }
}

struct StoredMessageParserTests {
    func parseMessages(_ text: String, framing: StoredMessageParser.Framing) -> [ReplayedMessage] {
        var parser = StoredMessageParser(framing: framing, name: "sample")
        return parse(text, into: &parser, consume: { $0.consume($1, emit: $2) }, finish: { $0.finish(emit: $1) })
    }

    @Test("reads sender and To, Cc, Bcc of one message, unfolding headers and ignoring the body")
    func single() {
        let messages = parseMessages("""
            Return-Path: <bounce@example.org>\r
            From: "Alice, HQ" <alice@example.org>\r
            To: "Smith, John (army.mil)" <j.smith@army.ml>,\r
            \tk.jones@army.mil (Kay Jones)\r
            CC: Logistics: desk@state.gv, desk@state.gov;\r
            Subject: To: not@a.recipient\r
            \r
            To: body@is.ignored\r
            """, framing: .single)
        #expect(messages == [ReplayedMessage(id: "sample", sender: "alice@example.org", recipients: ["j.smith@army.ml", "k.jones@army.mil", "desk@state.gv", "desk@state.gov"])])
    }

    @Test("splits an mbox on From_ lines only after an empty line and with a time in them")
    func mbox() {
        let messages = parseMessages("""
            From alice@example.org Mon Nov 23 08:00:00 2026
            From: alice@example.org
            To: a@army.ml

            From the body: not a separator.

            From tomorrow on, neither.
            From bob@example.org Mon Nov 23 09:00:00 2026
            From: bob@example.org
            To: b@army.mil

            From bob@example.org Mon Nov 23 09:00:01 2026
            From: carol@example.org
            Bcc: c@state.gv
            """, framing: .mbox)
        #expect(messages.map(\.id) == ["sample#1", "sample#2"])
        #expect(messages.map(\.recipients) == [["a@army.ml"], ["c@state.gv"]])
    }
}
