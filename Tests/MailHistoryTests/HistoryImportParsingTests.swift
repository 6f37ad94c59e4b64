import MailHistory
import Testing

/// What `history import` needs from a log beyond `replay`: delivered recipients only, and the
/// date of each line.
struct HistoryImportParsingTests {
    @Test("with deliveredOnly, bounced and deferred attempts do not count; a deferral later sent does")
    func deliveredOnly() {
        var parser = PostfixLogParser(deliveredOnly: true)
        let messages = parse("""
            Nov 24 09:12:01 mx1 postfix/qmgr[880]: 4Xk9Lq1Zb2z9tJ: from=<alice@example.org>, size=2214, nrcpt=3 (queue active)
            Nov 24 09:12:02 mx1 postfix/smtp[4110]: 4Xk9Lq1Zb2z9tJ: to=<sent@army.mil>, relay=mx[192.0.2.10]:25, delay=0.9, dsn=2.0.0, status=sent (250 Ok)
            Nov 24 09:12:02 mx1 postfix/smtp[4110]: 4Xk9Lq1Zb2z9tJ: to=<bounced@army.mil>, relay=none, delay=0.9, dsn=5.1.1, status=bounced (user unknown)
            Nov 24 09:12:02 mx1 postfix/smtp[4110]: 4Xk9Lq1Zb2z9tJ: to=<later@army.mil>, relay=none, delay=0.9, dsn=4.4.1, status=deferred (timed out)
            Nov 24 09:22:02 mx1 postfix/smtp[4110]: 4Xk9Lq1Zb2z9tJ: to=<later@army.mil>, relay=mx[192.0.2.10]:25, delay=600, dsn=2.0.0, status=sent (250 Ok)
            Nov 24 09:22:02 mx1 postfix/qmgr[880]: 4Xk9Lq1Zb2z9tJ: removed
            Nov 24 09:30:00 mx1 postfix/qmgr[880]: 5BOUNCE123: from=<alice@example.org>, size=2214, nrcpt=1 (queue active)
            Nov 24 09:30:01 mx1 postfix/smtp[4110]: 5BOUNCE123: to=<x@nowhere.example>, relay=none, delay=1, status=bounced (host not found)
            Nov 24 09:30:01 mx1 postfix/qmgr[880]: 5BOUNCE123: removed
            """, into: &parser, consume: { $0.consume($1, emit: $2) }, finish: { $0.finish(emit: $1) })
        #expect(messages == [ReplayedMessage(id: "4Xk9Lq1Zb2z9tJ", sender: "alice@example.org", recipients: ["sent@army.mil", "later@army.mil"])])
    }

    @Test("each recipient keeps the stamp of its own delivery line, not of the line that completes the message")
    func stampsPerDelivery() {
        var parser = PostfixLogParser(deliveredOnly: true)
        var messages: [ReplayedMessage] = []
        let lines = [
            (1, "Nov 24 09:12:01 mx1 postfix/qmgr[880]: 4Xk9Lq1Zb2z9tJ: from=<alice@example.org>, size=2214, nrcpt=2 (queue active)"),
            (1, "Nov 24 09:12:02 mx1 postfix/smtp[4110]: 4Xk9Lq1Zb2z9tJ: to=<first@army.mil>, relay=mx[192.0.2.10]:25, delay=0.9, dsn=2.0.0, status=sent (250 Ok)"),
            (1, "Nov 24 09:12:02 mx1 postfix/smtp[4110]: 4Xk9Lq1Zb2z9tJ: to=<later@army.mil>, relay=none, delay=0.9, dsn=4.4.1, status=deferred (timed out)"),
            (2, "Nov 25 09:22:02 mx1 postfix/smtp[4110]: 4Xk9Lq1Zb2z9tJ: to=<later@army.mil>, relay=mx[192.0.2.10]:25, delay=600, dsn=2.0.0, status=sent (250 Ok)"),
            (3, "Nov 26 00:00:01 mx1 postfix/qmgr[880]: 9OTHER: from=<bob@example.org>, size=1, nrcpt=1 (queue active)"),
        ]
        for (stamp, line) in lines {
            Array(line.utf8).withUnsafeBufferPointer { parser.consume($0, stamp: stamp) { messages.append($0) } }
        }
        parser.finish { messages.append($0) }
        #expect(messages == [ReplayedMessage(id: "4Xk9Lq1Zb2z9tJ", sender: "alice@example.org", recipients: ["first@army.mil", "later@army.mil"], stamps: [1, 2])])
    }

    @Test("reads the date of RFC 3339 and syslog time stamps", arguments: [
        ("2026-11-24T09:25:41.000001+00:00 mx1 postfix/qmgr[880]: x", LogDate(year: 2026, month: 11, day: 24)),
        ("Nov 24 09:12:01 mx1 postfix/qmgr[880]: x", LogDate(year: nil, month: 11, day: 24)),
        ("Jan  5 00:00:01 mx1 postfix/qmgr[880]: x", LogDate(year: nil, month: 1, day: 5)),
    ])
    func dates(line: String, date: LogDate) {
        #expect(Array(line.utf8).withUnsafeBufferPointer { LogDate(line: $0) } == date)
    }

    @Test("a line without a time stamp has no date", arguments: ["", "postfix/qmgr[880]: x", "Foo 24 09:12:01 mx", "2026-13-24T00:00:00Z x"])
    func noDate(line: String) {
        #expect(Array(line.utf8).withUnsafeBufferPointer { LogDate(line: $0) } == nil)
    }
}
