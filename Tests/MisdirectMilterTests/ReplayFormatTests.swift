import Testing
import MisdirectMilterKit

/// How replay tells the kind of a file from its first line.
struct ReplayFormatTests {
    @Test("a Postfix log is a log in both time formats, RFC 3339 (maillog_file) included", arguments: [
        "2026-12-05T10:00:00.000+00:00 mx postfix/qmgr[10]: 4ABC1: from=<alice@example.org>, size=900, nrcpt=2 (queue active)",
        "Nov 25 19:58:53 mx1 postfix/smtp[4110]: 4Xk9Lq1Zb2z9tJ: to=<j@army.ml>, relay=none, status=sent (250 ok)",
    ])
    func postfixLog(line: String) {
        #expect(ReplayFormat.sniff(Array(line.utf8), path: "mail.log") == .postfixLog)
    }

    @Test("a message starts with a header field, an mbox with From_", arguments: [
        ("Received: from mx.example.org", ReplayFormat.message), ("X-Mailer: 2026-12-05T10:00:00", .message),
        ("From alice@example.org Thu Nov 26 10:00:00 2026", .mbox),
    ])
    func others(line: String, format: ReplayFormat) {
        #expect(ReplayFormat.sniff(Array(line.utf8), path: "x") == format)
    }
}
