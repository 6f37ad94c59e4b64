import Foundation
import Testing

/// Reload and stop with real signals against the real binary, under live traffic.
extension PostfixTests {
    @Test("SIGHUP and SIGUSR1 under live traffic: a good config applies to new connections, a bad one is logged and the old kept, nothing refused or lost")
    func reloadUnderTraffic() throws {
        let env = try environment()
        let milter = env.milters[.reload]!
        let base = PostfixEnvironment.protectedDomains
        let probe = { (label: String) throws -> Int in
            let transcript = try env.send(via: .reload, to: ["probe@army.ml"], subject: PostfixEnvironment.uniqueSubject(label))
            return transcript.reply(to: "probe@army.ml")?.code ?? 0
        }
        #expect(try probe("before") == 250, "generation 1 tags high risk")

        // Clean traffic runs the whole time: 4 sessions, 400 messages to a protected domain.
        let subject = PostfixEnvironment.uniqueSubject("reload load")
        let messages = 400
        let load = try Command.start(
            "smtp-source", ["-s", "4", "-m", "\(messages)", "-f", "alice@example.org", "-t", "load@army.mil", "-S", subject, "127.0.0.1:\(env.ports[.reload]!)"],
            log: env.root + "/log/smtp-source.log")
        defer { Command.stop(load) }
        _ = Command.waitUntil(timeout: .seconds(10)) { env.sink.messages(withSubjectContaining: subject, timeout: .zero).count >= 20 }

        // A good new configuration, by SIGHUP: new connections reject what was tagged.
        try (base + PostfixEnvironment.reloadConfiguration(high: "reject")).write(toFile: milter.configPath, atomically: true, encoding: .utf8)
        milter.signal(SIGHUP)
        let reloaded = milter.jsonLogLines { $0["message"] == "configuration reloaded" && $0["config.generation"] == "2" }
        #expect(reloaded.count == 1, "\(milter.log)")
        #expect(try probe("after good") == 550)

        // A bad one, by SIGUSR1: logged with file, line and key; the previous policy stays.
        let bad = base + "log_target: json\nactions: {high: block}\n"
        try bad.write(toFile: milter.configPath, atomically: true, encoding: .utf8)
        milter.signal(SIGUSR1)
        let failed = milter.jsonLogLines { $0["message"] == "reload failed; keeping the previous configuration" }
        let failure = try #require(failed.first, "\(milter.log)")
        let badLine = bad.split(separator: "\n", omittingEmptySubsequences: false).firstIndex { $0.hasPrefix("actions:") }! + 1
        #expect(failure["error"]?.contains("\(milter.configPath):\(badLine): actions.high: unknown action \"block\"") == true, "\(failure)")
        #expect(failure["config.generation"] == "2")
        #expect(try probe("after bad") == 550)

        // A burst of signals, as logrotate and systemd can send, is a burst of reloads, not a stop.
        try (base + PostfixEnvironment.reloadConfiguration(high: "reject")).write(toFile: milter.configPath, atomically: true, encoding: .utf8)
        for index in 0..<20 { milter.signal(index.isMultiple(of: 2) ? SIGHUP : SIGUSR1) }
        _ = milter.jsonLogLines(timeout: .seconds(20)) { $0["message"] == "configuration reloaded" && Int($0["config.generation"] ?? "") ?? 0 >= 3 }
        #expect(milter.isRunning)
        #expect(try probe("after burst") == 550)

        // Every message of the load arrived, each with its header; none was refused.
        #expect(Command.waitUntil(timeout: .seconds(120)) { !load.isRunning }, "smtp-source did not finish")
        #expect(load.terminationStatus == 0, "\(env.logText("smtp-source.log"))")
        var delivered: [ReceivedMessage] = []
        _ = Command.waitUntil(timeout: .seconds(60)) {
            delivered = env.sink.messages(withSubjectContaining: subject, timeout: .zero)
            return delivered.count >= messages
        }
        #expect(delivered.count == messages)
        #expect(delivered.allSatisfy { $0.risk?.level == "none" })
        let refusals = env.postfix.log.split(separator: "\n").filter { $0.contains("load@army.mil") && ($0.contains("reject") || $0.contains(" 4.")) }
        #expect(refusals.isEmpty, "a load message was refused: \(refusals)")
    }

    @Test("SIGTERM stops accepting but lets the open SMTP transaction finish through the milter, then exits 0")
    func gracefulStop() throws {
        let env = try environment()
        let milter = env.milters[.lifecycle]!
        let port = env.ports[.lifecycle]!
        let client = try SMTPClient(port: port)
        #expect(try client.reply().code == 220)
        #expect(try client.command("EHLO client.test.localdomain").code == 250)
        #expect(try client.command("MAIL FROM:<alice@example.org>").code == 250)
        #expect(try client.command("RCPT TO:<inflight@army.mil>").code == 250)

        milter.signal(SIGTERM)
        #expect(milter.logLines(containing: ["stopping", "sessions.live=1"]).count == 1, "\(milter.log)")
        let subject = PostfixEnvironment.uniqueSubject("in flight")
        #expect(try client.command("DATA").code == 354)
        #expect(try client.command("Subject: \(subject)\r\n\r\nSent while the milter stops.\r\n.").code == 250)
        _ = try? client.command("QUIT")

        let message = try #require(env.sink.messages(withSubjectContaining: subject).first)
        #expect(message.risk?.level == "none")
        #expect(Command.waitUntil(timeout: .seconds(20)) { !milter.isRunning })
        #expect(milter.terminationStatus == 0)
        #expect(milter.logLines(containing: ["stopped", "sessions.left=0"]).count == 1)

        // With the milter gone, Postfix (milter_default_action = tempfail) lets nothing through unchecked.
        let after = try env.send(via: .lifecycle, to: ["after@army.mil"], subject: PostfixEnvironment.uniqueSubject("after stop"))
        #expect(after.raw.contains("451 4.7.1"), "\(after.raw)")
        #expect(after.dataReply?.code != 250)
    }
}
