import Foundation
import MisdirectionRisk
import Testing
@testable import misdirect_milter

struct ReviewNoticeTests {
    let notice = ReviewNotice(
        queueID: "4ABC123", sender: "<alice@example.org>",
        reason: "misdirect-milter: j@army.ml: army.ml looks like a misspelling of army.mil [suffix-confusion]",
        review: ReviewConfiguration(mailbox: EmailAddress(localPart: "review", domain: "example.org")),
        riskHeader: "high; score=0.95; action=quarantine; mode=enforce",
        headers: [(Array("Subject".utf8), Array("Plans\r\n\tfor Monday".utf8)), (Array("To".utf8), Array("j@army.ml".utf8))],
        body: Array("line one\nline two\r\n.hidden dot\n".utf8), truncated: false)

    @Test("is a MIME message with CRLF line ends, the reason, the commands and the held copy attached")
    func composition() throws {
        let bytes = notice.message(hostname: "mta.example.org", date: Date(timeIntervalSince1970: 0))
        for (index, byte) in bytes.enumerated() where byte == 10 {
            #expect(index > 0 && bytes[index - 1] == 13, "bare LF at \(index)")
        }
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text.hasPrefix("From: misdirect-milter <MAILER-DAEMON@mta.example.org>\r\nTo: <review@example.org>\r\n"))
        #expect(text.contains("Subject: Held for review: Plans for Monday\r\n"))
        #expect(text.contains("Auto-Submitted: auto-generated\r\n"))
        #expect(text.contains("misdirect-milter held release 4ABC123"))
        #expect(text.contains("Content-Type: message/rfc822"))
        #expect(text.contains("\r\nX-Misdirection-Risk: high; score=0.95; action=quarantine; mode=enforce\r\nSubject: Plans\r\n\tfor Monday\r\nTo: j@army.ml\r\n\r\nline one\r\nline two\r\n.hidden dot\r\n"))
        #expect(text.hasSuffix("--\r\n"))
    }
}
