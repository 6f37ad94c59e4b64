import Foundation
import MisdirectionRisk
import Testing
import MisdirectMilterKit
import ReviewLinks

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

    @Test("with console.base_url, the notice carries a Release and a Drop link, each signed for the review mailbox")
    func links() throws {
        let signer = LinkSigner(key: Array(repeating: 3, count: 32))
        let start = Date(timeIntervalSince1970: 1_800_000_000)
        let links = NoticeLinks(signer: signer, baseURL: "https://review.example.org", hours: 48)
            .urls(queueID: notice.queueID, recipient: "review@example.org", now: start)
        let withLinks = ReviewNotice(
            queueID: notice.queueID, sender: notice.sender, reason: notice.reason, review: notice.review, riskHeader: notice.riskHeader,
            headers: notice.headers, body: notice.body, truncated: false, links: links)
        let text = String(decoding: withLinks.message(hostname: "mta.example.org"), as: UTF8.self)
        #expect(text.contains("  release it:  \(links.release)\r\n"))
        #expect(text.contains("  drop it:     \(links.drop)\r\n"))
        #expect(text.contains("works once, for 48 hours"))
        #expect(text.contains("misdirect-milter held release 4ABC123"), "the shell commands stay")
        for (url, action) in [(links.release, ReviewLink.Action.release), (links.drop, .drop)] {
            #expect(url.hasPrefix("https://review.example.org/link?t="))
            let token = String(url.dropFirst("https://review.example.org/link?t=".count))
            let link = try signer.verify(token, now: Int(start.timeIntervalSince1970) + 47 * 3600).get()
            #expect(link == ReviewLink(queueID: "4ABC123", action: action, recipient: "review@example.org", expiry: 1_800_000_000 + 48 * 3600))
            #expect(signer.verify(token, now: Int(start.timeIntervalSince1970) + 49 * 3600) == .failure(.expired))
        }
        let plain = String(decoding: notice.message(hostname: "mta.example.org"), as: UTF8.self)
        #expect(!plain.contains("/link?t="), "no console address, no links")
    }

    @Test("the sender's notice: to the sender, why, Send anyway and Don't send links for the sender, no copy attached")
    func senderNotice() throws {
        let signer = LinkSigner(key: Array(repeating: 4, count: 32))
        let sender = EmailAddress(localPart: "alice", domain: "example.org")
        let links = NoticeLinks(signer: signer, baseURL: "https://review.example.org", hours: 24)
            .urls(queueID: notice.queueID, recipient: sender.description)
        let forSender = ReviewNotice(
            queueID: notice.queueID, sender: notice.sender, reason: notice.reason, review: notice.review, riskHeader: notice.riskHeader,
            headers: notice.headers, body: [], truncated: false, links: links, senderNotice: sender)
        #expect(forSender.to == sender)
        let bytes = forSender.message(hostname: "mta.example.org")
        for (index, byte) in bytes.enumerated() where byte == 10 {
            #expect(index > 0 && bytes[index - 1] == 13, "bare LF at \(index)")
        }
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text.contains("\r\nTo: <alice@example.org>\r\n"))
        #expect(text.contains("Subject: Not sent yet: Plans for Monday\r\n"))
        #expect(text.contains("j@army.ml: army.ml looks like a misspelling of army.mil [suffix-confusion]"))
        #expect(text.contains("Send anyway   \(links.release)\r\n") && text.contains("Don't send    \(links.drop)\r\n"))
        #expect(!text.contains("message/rfc822") && !text.contains("misdirect-milter held release"), "no copy, no root commands")
        let token = String(links.release.split(separator: "=", maxSplits: 1)[1])
        #expect((try? signer.verify(token, now: Int(Date().timeIntervalSince1970)).get())?.recipient == "alice@example.org")
        let withoutConsole = ReviewNotice(
            queueID: notice.queueID, sender: notice.sender, reason: notice.reason, review: notice.review, riskHeader: notice.riskHeader,
            headers: notice.headers, body: [], truncated: false, senderNotice: sender)
        #expect(String(decoding: withoutConsole.message(hostname: "h"), as: UTF8.self).contains("Reply to review@example.org if every address is right."))
    }

    /// A notice whose held message has `bodyBytes` of body.
    func notice(bodyBytes: Int) -> ReviewNotice {
        ReviewNotice(
            queueID: "4ABC124", sender: notice.sender, reason: notice.reason, review: notice.review, riskHeader: notice.riskHeader,
            headers: [], body: Array(repeating: 0x41, count: bodyBytes), truncated: false)
    }

    @Test("the review queue is bounded by bytes as well as by count, and frees the bytes of a notice once sent")
    func queueBoundedByBytes() {
        var queue = ReviewQueue(maximumBytes: 10_000)
        func add(_ bytes: Int) -> Bool { queue.enqueue(notice(bodyBytes: bytes)) }
        #expect(add(4_000))
        #expect(add(4_000))
        #expect(!add(4_000), "12,000 bytes would pass the bound")
        #expect(add(2_000), "10,000 bytes fit")
        #expect(queue.bytes == 10_000)
        let first = queue.next()!
        #expect(!add(1), "a notice being sent still counts")
        queue.finished(first)
        #expect(add(4_000))
        var counted = ReviewQueue(maximumBytes: 1 << 30)
        var accepted = 0
        for _ in 0...ReviewQueue.maximumCount where counted.enqueue(notice(bodyBytes: 10)) { accepted += 1 }
        #expect(accepted == ReviewQueue.maximumCount, "and by count")
    }

    @Test("review.queue_size defaults to 64 MiB, max_size is capped, and queue_size must hold one max_size")
    func queueConfiguration() throws {
        let review = try #require(try ConfigurationLoader.parse("review: {mailbox: r@example.org}\n", file: "r.yml").review)
        #expect(review.queueSize == 64 << 20)
        let set = try #require(try ConfigurationLoader.parse("review: {mailbox: r@example.org, max_size: 1000, queue_size: 5000}\n", file: "r.yml").review)
        #expect(set.queueSize == 5000)
        ConfigurationLoaderTests.expectError(
            parsing: "review:\n  mailbox: r@example.org\n  max_size: 50000001\n", file: "r.yml",
            startingWith: "r.yml:3: review.max_size: \"50000001\" is not a size in bytes from 0 to 50000000")
        ConfigurationLoaderTests.expectError(
            parsing: "review:\n  mailbox: r@example.org\n  queue_size: 1000\n", file: "r.yml",
            startingWith: "r.yml:3: review.queue_size: 1000 is less than max_size (10240000)")
    }
}
