import Foundation
import Testing

/// The quarantine action, the review copy and `misdirect-milter held`, through real Postfix.
extension PostfixTests {
    /// The hold-queue entries (`postqueue -j`) with a recipient of this address.
    static func heldEntries(for recipient: String, in env: PostfixEnvironment) throws -> [[String: Any]] {
        let output = try env.postfixTool("postqueue", ["-j"])
        return output.stdout.split(separator: "\n").compactMap { line in
            try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
        }.filter { entry in
            entry["queue_name"] as? String == "hold"
                && (entry["recipients"] as? [[String: Any]] ?? []).contains { $0["address"] as? String == recipient }
        }
    }

    /// Sends to a look-alike through the quarantine profile and waits for the message to be held.
    static func sendHeld(_ recipient: String, subject: String, in env: PostfixEnvironment, authenticated: Bool = false) throws -> String {
        let transcript = try env.send(via: .quarantine, to: [recipient], subject: subject, authenticated: authenticated)
        #expect(transcript.reply(to: recipient)?.code == 250, "the sender sees a normal acceptance")
        #expect(transcript.dataReply?.code == 250)
        var entries: [[String: Any]] = []
        _ = try Command.waitUntil(timeout: .seconds(20)) {
            entries = try heldEntries(for: recipient, in: env)
            return !entries.isEmpty
        }
        let queueID = try #require(entries.first?["queue_id"] as? String, "not in the hold queue:\n\(env.postfix.log.suffix(2000))")
        return queueID
    }

    @Test("quarantine holds the message with our header, a notice reaches the review mailbox, held lists it and release delivers it")
    func holdReviewRelease() throws {
        let env = try environment()
        let subject = PostfixEnvironment.uniqueSubject("hold")
        let queueID = try Self.sendHeld("j.hold@army.ml", subject: subject, in: env)

        let headers = try env.postfixTool("postcat", ["-h", "-q", queueID]).stdout
        #expect(headers.contains("X-Misdirection-Risk: high;"))
        #expect(headers.contains("action=quarantine"))

        let notices = env.sink.messages(withSubjectContaining: "Held for review: \(subject)")
        let notice = try #require(notices.first, "no review notice at the sink")
        #expect(notice.recipients == ["<\(PostfixEnvironment.reviewMailbox)>"])
        #expect(notice.text.contains("misdirect-milter held release \(queueID)"))
        #expect(notice.text.contains("j.hold@army.ml: army.ml looks like a misspelling of army.mil"))
        #expect(notice.text.contains("Content-Type: message/rfc822"))
        #expect(notice.text.contains("Subject: \(subject)"), "the held message is attached")
        #expect(notice.text.contains("Test message."), "with its body, metrics on or not")
        #expect(env.sink.messages(withSubjectContaining: subject, timeout: .zero).count == 1, "only the notice, not the held message")
        // The quarantine profile serves metrics: every stage it sees is timed, the body too.
        let metrics = PrometheusText(try Command.run("curl", ["-sS", "--max-time", "5", "http://127.0.0.1:\(env.quarantineMetricsPort)/metrics"]).stdout)
        for stage in ["envelope_recipient", "body", "end_of_message"] {
            #expect(metrics.value("misdirect_stage_duration_seconds_count", ["stage": stage]) ?? 0 >= 1, "stage \(stage) timed")
        }

        let listing = try env.held(["list", "--json"])
        #expect(listing.status == 0, "\(listing.stderr)")
        let entry = try #require(listing.stdout.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }.first { $0["queue_id"] as? String == queueID }, "held did not list \(queueID): \(listing.stdout)")
        #expect(entry["level"] as? String == "high")
        #expect(entry["suspected"] as? [String] == ["army.mil"])
        #expect(entry["recipients"] as? [String] == ["j.hold@army.ml"])
        #expect(try env.held([]).stdout.contains(queueID), "the table lists it too")

        let release = try env.held(["release", queueID, "--config", env.milters[.quarantine]!.configPath], environment: ["SUDO_USER": "alice"])
        #expect(release.status == 0, "\(release.stderr)")
        #expect(release.stderr.contains("released held message") && release.stderr.contains("operator="))
        // The audit line goes to syslog's mail facility, with what the kernel says beside the
        // name the operator claims.
        let audit = try #require(env.syslog.datagrams(containing: ["released held message", "mail.queue_id=\(queueID)"]).first, "\(env.syslog.datagrams)")
        #expect(audit.hasPrefix("<21>"), "mail facility, notice")
        #expect(audit.contains("operator=\"alice (via sudo)\""))
        #expect(audit.contains("operator.uid=\(getuid())"))
        #expect(audit.contains("operator.login_uid="))
        let delivered = env.sink.messages(withSubjectContaining: subject) { $0.recipients == ["<j.hold@army.ml>"] }
        #expect(delivered.count == 1, "released message delivered to the sink")
        #expect(delivered.first?.risk?["action"] == "quarantine")
        #expect(try Self.heldEntries(for: "j.hold@army.ml", in: env).isEmpty)
    }

    @Test("held drop deletes a held message, which never reaches the sink")
    func holdDrop() throws {
        let env = try environment()
        let subject = PostfixEnvironment.uniqueSubject("drop")
        let queueID = try Self.sendHeld("j.drop@army.ml", subject: subject, in: env)
        let drop = try env.held(["drop", queueID, "--config", env.milters[.quarantine]!.configPath])
        #expect(drop.status == 0, "\(drop.stderr)")
        #expect(drop.stdout == "dropped \(queueID)\n")
        let audit = env.syslog.datagrams(containing: ["dropped held message", "mail.queue_id=\(queueID)", "operator.uid=\(getuid())"])
        #expect(audit.count == 1, "\(env.syslog.datagrams)")
        #expect(try Self.heldEntries(for: "j.drop@army.ml", in: env).isEmpty)
        let arrived = env.sink.messages(withSubjectContaining: subject, timeout: .seconds(3)) { $0.recipients == ["<j.drop@army.ml>"] }
        #expect(arrived.isEmpty, "a dropped message is never delivered")
    }

    @Test("held refuses unknown ids and anything that is not a queue id")
    func heldRefuses() throws {
        let env = try environment()
        for id in ["ALL", "0ABCDEF123", "-d"] {
            let output = try env.held(["drop", id])
            #expect(output.status != 0)
            #expect(output.stderr.contains("misdirect-milter held:") || output.stderr.contains("Error"), "\(id): \(output.stderr)")
        }
        let wrongInstance = try Command.run(MilterProcess.binary, ["held", "--postfix-config", "/nonexistent"])
        #expect(wrongInstance.status == 1)
        #expect(wrongInstance.stderr.hasPrefix("misdirect-milter held: postqueue -j failed: postqueue: fatal: open /nonexistent/main.cf"))
    }

    @Test("held lists and touches only messages the milter held, not others in the hold queue carrying our header")
    func heldOnlyQuarantined() throws {
        let env = try environment()
        // Tagged by the milter (action=tag), held by a header check of Postfix's.
        let subject = PostfixEnvironment.uniqueSubject("held-by-other")
        _ = try env.send(via: .tag, to: ["j.other@army.ml"], subject: subject, headers: ["X-Test-Hold: yes"])
        var entries: [[String: Any]] = []
        _ = try Command.waitUntil(timeout: .seconds(20)) {
            entries = try Self.heldEntries(for: "j.other@army.ml", in: env)
            return !entries.isEmpty
        }
        let queueID = try #require(entries.first?["queue_id"] as? String, "not held by the header check")
        defer { _ = try? env.postfixTool("postsuper", ["-d", queueID]) }
        #expect(try env.postfixTool("postcat", ["-h", "-q", queueID]).stdout.contains("action=tag"))
        let listing = try env.held(["list", "--json"])
        #expect(listing.status == 0, "\(listing.stderr)")
        #expect(!listing.stdout.contains(queueID), "listed a message the milter did not hold")
        let release = try env.held(["release", queueID])
        #expect(release.status == 1)
        #expect(release.stderr.contains("no message \(queueID) in the hold queue was held by misdirect-milter"), "\(release.stderr)")
    }

    @Test("held reports a failing postcat as an error, not as no held messages")
    func heldReportsToolFailure() throws {
        let env = try environment()
        let queueID = try Self.sendHeld("j.toolfail@army.ml", subject: PostfixEnvironment.uniqueSubject("toolfail"), in: env)
        defer { _ = try? env.postfixTool("postsuper", ["-d", queueID]) }
        let bin = FileManager.default.temporaryDirectory.path + "/fake-postcat-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: bin) }
        try "#!/bin/sh\necho 'postcat: fatal: queue file read error' >&2\nexit 1\n".write(toFile: "\(bin)/postcat", atomically: true, encoding: .utf8)
        chmod("\(bin)/postcat", 0o755)
        let path = "\(bin):" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/sbin:/usr/bin")
        for arguments in [["list"], ["list", "--json"], ["drop", queueID]] {
            let output = try env.held(arguments, environment: ["PATH": path])
            #expect(output.status == 1, "\(arguments): \(output.stdout)")
            // One postcat reads every held message (another test's too).
            #expect(output.stderr.hasPrefix("misdirect-milter held: postcat -e -h -q "), "\(output.stderr)")
            #expect(output.stderr.contains(" failed: postcat: fatal: queue file read error"), "\(output.stderr)")
            #expect(!output.stdout.contains("no held messages"))
        }
        #expect(!(try Self.heldEntries(for: "j.toolfail@army.ml", in: env)).isEmpty, "nothing was dropped")
    }

    @Test("a clean message through the quarantine profile is delivered, never held")
    func cleanNotHeld() throws {
        let env = try environment()
        let subject = PostfixEnvironment.uniqueSubject("clean-not-held")
        _ = try env.send(via: .quarantine, to: ["j.clean@army.mil"], subject: subject)
        let message = try #require(env.sink.messages(withSubjectContaining: subject).first)
        #expect(message.recipients == ["<j.clean@army.mil>"])
        #expect(message.risk?.level == "none")
        #expect(try Self.heldEntries(for: "j.clean@army.mil", in: env).isEmpty)
    }

    @Test("a tagged message also goes to the review mailbox as an extra recipient")
    func tagCopiesToReview() throws {
        let env = try environment()
        let subject = PostfixEnvironment.uniqueSubject("tag-review")
        _ = try env.send(via: .quarantine, to: ["j.tag@army.il"], subject: subject)
        let message = try #require(env.sink.messages(withSubjectContaining: subject).first)
        #expect(Set(message.recipients) == ["<j.tag@army.il>", "<\(PostfixEnvironment.reviewMailbox)>"])
        #expect(message.risk?["action"] == "tag")
    }
}
