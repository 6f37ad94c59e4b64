import Foundation
import ReviewLinks
import Testing
import TestSupport

/// The review console end to end: real Postfix holds three messages for the quarantine profile,
/// `misdirect-milter console` serves them, a headless Chromium (Tests/Browser/console_browser.py)
/// signs in, releases one and drops one, finds the held ones on the decisions page and charts on
/// the report, and uses the signed link of the third's review notice.
extension PostfixTests {
    static let reviewer = "reviewer"
    static let reviewerPassword = "a long test password"

    @Test("through a real browser: sign in, release, drop, and a notice's one-use link; refused without session, token or a good link")
    func consoleInBrowser() throws {
        let env = try environment()
        let directory = env.root + "/console"
        let configPath = env.milters[.quarantine]!.configPath
        let base = "http://127.0.0.1:\(env.consolePort)"

        let subjects = ["console-release", "console-drop", "console-link"].map(PostfixEnvironment.uniqueSubject)
        let recipients = ["c.release@army.ml", "c.drop@army.ml", "c.link@army.ml"]
        // The third is sent with SMTP AUTH: its sender is told too (notify_sender).
        let ids = try zip(recipients, subjects).enumerated().map { index, message in
            try Self.sendHeld(message.0, subject: message.1, in: env, authenticated: index == 2)
        }

        // The review notices carry signed links to the console.
        let notice = try #require(env.sink.messages(withSubjectContaining: "Held for review: \(subjects[2])").first, "no review notice")
        let reviewRelease = try #require(Self.link("release it", in: notice.text), "no release link in:\n\(notice.text)")
        let dropLink = try #require(Self.link("drop it", in: notice.text))
        #expect(reviewRelease.hasPrefix("\(base)/link?t=") && dropLink.hasPrefix("\(base)/link?t="))
        // The authenticated sender's notice: "Send anyway" is the link the browser uses. The
        // unauthenticated senders of the other two get none.
        let senderNotice = try #require(env.sink.messages(withSubjectContaining: "Not sent yet: \(subjects[2])").first, "no notice to the sender")
        #expect(senderNotice.recipients == ["<alice@example.org>"])
        let releaseLink = try #require(Self.link("Send anyway", in: senderNotice.text), "no Send anyway link in:\n\(senderNotice.text)")
        #expect(Self.link("Don't send", in: senderNotice.text)?.hasPrefix("\(base)/link?t=") == true)
        for subject in subjects.prefix(2) {
            #expect(env.sink.messages(withSubjectContaining: "Not sent yet: \(subject)", timeout: .zero).isEmpty)
        }

        // A reviewer, and the held command the package runs through sudo, here pointed at the
        // private Postfix.
        let passwd = try Command.run(MilterProcess.binary, ["console", "passwd", "--password-stdin", "--users-file", "\(directory)/users", Self.reviewer],
                                     input: Self.reviewerPassword + "\n")
        #expect(passwd.status == 0, "\(passwd.stderr)")
        try "\(Self.reviewerPassword)\n".write(toFile: "\(directory)/password", atomically: true, encoding: .utf8)
        try """
            #!/bin/sh
            exec \(MilterProcess.binary) held "$@" --postfix-config \(env.postfix.configDirectory) --config \(configPath)

            """.write(toFile: "\(directory)/held", atomically: true, encoding: .utf8)
        chmod("\(directory)/held", 0o755)

        let log = "\(env.root)/log/console.log"
        let console = try Command.start(MilterProcess.binary, ["console", "--config", configPath], log: log)
        defer { Command.stop(console) }
        let up = Command.waitUntil(timeout: .seconds(20)) {
            (try? Command.run("curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "\(base)/login"]).stdout) == "200"
        }
        try #require(up, "the console did not answer:\n\((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")

        // Refusals the browser does not try: a forged link, an expired one (signed with the
        // install's own key), a release without the form's token.
        let key = try #require(FileManager.default.contents(atPath: "\(directory)/link-key"), "the milter made no link key")
        let signer = LinkSigner(key: Array(key))
        let expired = signer.token(for: ReviewLink(queueID: ids[2], action: .release, recipient: PostfixEnvironment.reviewMailbox,
                                                  expiry: Int(Date().timeIntervalSince1970) - 60))
        let forged = LinkSigner(key: Array(repeating: 1, count: 32)).token(
            for: ReviewLink(queueID: ids[2], action: .release, recipient: "x@example.org", expiry: Int(Date().timeIntervalSince1970) + 3600))
        for (token, reason) in [(expired, "This link has expired."), (forged, "signature does not match")] {
            let answer = try Command.run("curl", ["-s", "-w", "\n%{http_code}", "--data-urlencode", "t=\(token)", "\(base)/link"])
            #expect(answer.stdout.hasSuffix("\n403") && answer.stdout.contains(reason), "\(answer.stdout)")
        }
        let noToken = try Command.run("curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "-d", "csrf=", "\(base)/held/\(ids[0])/release"])
        #expect(noToken.stdout == "403")

        // The browser: every step prints "ok N NAME"; the first failure exits 1.
        let screenshots = "\(env.root)/screenshots"
        let browser = try Command.run("/usr/bin/python3", [
            Repository.path("Tests/Browser/console_browser.py"), "--base-url", base, "--user", Self.reviewer,
            "--password-file", "\(directory)/password", "--release", ids[0], "--drop", ids[1], "--link", releaseLink,
            "--screenshots", screenshots, "--expect-decision", recipients[0],
        ])
        #expect(browser.status == 0, "\(browser.stdout)\n\(browser.stderr)\nconsole log:\n\((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")
        #expect(browser.stdout.contains("ok 11 "), "\(browser.stdout)")
        if let keep = ProcessInfo.processInfo.environment["MISDIRECT_SCREENSHOTS"] {
            for name in (try? FileManager.default.contentsOfDirectory(atPath: screenshots)) ?? [] where name.hasSuffix(".png") {
                try? FileManager.default.removeItem(atPath: "\(keep)/\(name)")
                try FileManager.default.copyItem(atPath: "\(screenshots)/\(name)", toPath: "\(keep)/\(name)")
            }
        }

        // Released by the reviewer and by the link: delivered, with our header; dropped: gone.
        for (recipient, subject) in [(recipients[0], subjects[0]), (recipients[2], subjects[2])] {
            let delivered = env.sink.messages(withSubjectContaining: subject) { $0.recipients == ["<\(recipient)>"] }
            #expect(delivered.count == 1, "\(recipient) released and delivered")
            #expect(delivered.first?.risk?["action"] == "quarantine")
        }
        #expect(try Self.heldEntries(for: recipients[1], in: env).isEmpty, "dropped")
        #expect(env.sink.messages(withSubjectContaining: subjects[1], timeout: .seconds(2)) { $0.recipients == ["<\(recipients[1])>"] }.isEmpty)
        // The drop link of the released message no longer works.
        let late = try Command.run("curl", ["-s", "-w", "\n%{http_code}", "\(dropLink)"])
        #expect(late.stdout.hasSuffix("\n403") && late.stdout.contains("no longer held"), "\(late.stdout)")

        let audit = (try? String(contentsOfFile: "\(directory)/audit.log", encoding: .utf8)) ?? ""
        #expect(audit.contains("released held message") && audit.contains("mail.queue_id=\(ids[0])") && audit.contains("reviewer=\(Self.reviewer)"), "\(audit)")
        #expect(audit.contains("dropped held message") && audit.contains("mail.queue_id=\(ids[1])"))
        #expect(audit.split(separator: "\n").contains { $0.contains("via=link") && $0.contains("mail.queue_id=\(ids[2])") })
    }

    /// The address after `label` (and a colon) in a notice's text.
    static func link(_ label: String, in text: String) -> String? {
        guard let start = text.range(of: label) else { return nil }
        return text[start.upperBound...].drop { $0 == " " || $0 == ":" }.prefix { !$0.isWhitespace }.description
    }
}
