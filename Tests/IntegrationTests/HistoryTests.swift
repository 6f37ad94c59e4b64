import Foundation
import MTADriver
import Testing

/// The correspondent history through real Postfix: SQLite for one MTA, one PostgreSQL shared by
/// two, and the database going away while mail flows.
@Suite(.postfixEnvironment(PostfixEnvironment.Profile.history), .serialized)
struct HistoryTests {
    /// `YYYY-MM-DD` (UTC) `daysAgo` days before today.
    static func date(daysAgo: Int) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd"
        return formatter.string(from: Date().addingTimeInterval(-Double(daysAgo) * 86_400))
    }

    /// The three days of the seed log.
    static let seedDays = [5, 3, 1].map { date(daysAgo: $0) }

    /// A Postfix log (RFC 3339 time stamps, as `maillog_file` writes them) of delivered mail on
    /// three days: each day two messages to army.mil and one to partner.ml, a look-alike under
    /// .ml; then one bounce, which must not count. Cut as at a rotation: no message's `removed`
    /// line is in it, so each delivery must be dated by its own `status=sent` line.
    static func seedLog() -> String {
        var lines: [String] = []
        for (index, day) in seedDays.enumerated() {
            for (n, recipient) in ["ops@army.mil", "ops@army.mil", "desk@partner.ml"].enumerated() {
                let id = "4A\(index)\(n)C0FFEE"
                lines += [
                    "\(day)T10:0\(n):00.000+00:00 mx postfix/qmgr[10]: \(id): from=<alice@example.org>, size=900, nrcpt=1 (queue active)",
                    "\(day)T10:0\(n):01.000+00:00 mx postfix/smtp[11]: \(id): to=<\(recipient)>, relay=mx.remote[192.0.2.1]:25, delay=1, status=sent (250 ok)",
                ]
            }
        }
        let last = seedDays[2]
        lines += [
            "\(last)T11:00:00.000+00:00 mx postfix/qmgr[10]: 4BOUNCE000: from=<alice@example.org>, size=900, nrcpt=1 (queue active)",
            "\(last)T11:00:01.000+00:00 mx postfix/smtp[11]: 4BOUNCE000: to=<x@bounced.example>, relay=none, delay=1, status=bounced (host not found)",
            "\(last)T11:00:01.000+00:00 mx postfix/qmgr[10]: 4BOUNCE000: removed",
        ]
        return lines.joined(separator: "\n") + "\n"
    }

    /// Sends until `done` holds for the transcript (the milter reads the store every 300 ms).
    func sendUntil(_ env: PostfixEnvironment, via profile: PostfixEnvironment.Profile, to recipient: String, label: String, _ done: (Swaks.Transcript) -> Bool) throws -> Swaks.Transcript {
        var transcript = try env.send(via: profile, to: [recipient], subject: PostfixEnvironment.uniqueSubject(label))
        for _ in 0..<40 where !done(transcript) {
            usleep(250_000)
            transcript = try env.send(via: profile, to: [recipient], subject: PostfixEnvironment.uniqueSubject(label))
        }
        return transcript
    }

    @Test("SQLite: after history import, a first message to a look-alike of army.mil is refused where it was tagged; a look-alike in the log is not learned and stays refused")
    func sqliteFirstContactAndEstablished() throws {
        let env = try environment()
        let milter = env.milters[.historySQLite]!

        // Before any history: army.il is medium (tagged, delivered), partner.ml high (refused).
        let subject = PostfixEnvironment.uniqueSubject("before history")
        let before = try env.send(via: .historySQLite, to: ["x@army.il"], subject: subject)
        #expect(before.reply(to: "x@army.il")?.code == 250)
        let tagged = try #require(env.sink.messages(withSubjectContaining: subject).first?.risk)
        #expect(tagged["rcpt-level"] == "medium")
        #expect(tagged["reasons"] == "suffix-confusion")
        let refused = try env.send(via: .historySQLite, to: ["desk@partner.ml"], subject: PostfixEnvironment.uniqueSubject("partner before"))
        #expect(refused.reply(to: "desk@partner.ml")?.code == 550)

        // Seed the history from a Postfix log while the milter runs: army.mil is learned, over
        // the three days of its own delivery lines; partner.ml, which the classifier flags, is not.
        let log = env.root + "/seed-mail.log"
        try Self.seedLog().write(toFile: log, atomically: true, encoding: .utf8)
        let imported = try Command.run(MilterProcess.binary, ["history", "import", "--config", milter.configPath, log])
        #expect(imported.status == 0, "\(imported.stderr)")
        #expect(imported.stdout.contains("not learned: 3 deliveries to 1 domain the classifier flags: partner.ml (3)"), "\(imported.stdout)")
        #expect(imported.stdout.contains("imported 6 messages to 6 recipients"), "\(imported.stdout)")
        let shown = try Command.run(MilterProcess.binary, ["history", "show", "--config", milter.configPath, "army.mil"])
        #expect(shown.stdout.hasPrefix("army.mil: established correspondent (6 messages over 3 days, \(Self.seedDays[0]) to \(Self.seedDays[2]))"), "\(shown.stdout)")
        #expect(shown.stdout.contains("example.org"))
        let partner = try Command.run(MilterProcess.binary, ["history", "show", "--config", milter.configPath, "partner.ml"])
        #expect(partner.stdout.hasPrefix("partner.ml: no history"), "\(partner.stdout)")

        // After: army.il is one level higher (refused), naming army.mil as established.
        let after = try sendUntil(env, via: .historySQLite, to: "x@army.il", label: "after history") { $0.reply(to: "x@army.il")?.code == 550 }
        let reply = try #require(after.reply(to: "x@army.il"), "\(after.raw)")
        #expect(reply.code == 550)
        #expect(reply.text.contains("(misdirect-milter: suffix-confusion,first-contact)"), "\(reply.text)")
        #expect(reply.text.contains("did you mean x@army.mil?"))

        // The look-alike is still refused.
        let still = try env.send(via: .historySQLite, to: ["desk@partner.ml"], subject: PostfixEnvironment.uniqueSubject("partner after"))
        #expect(still.reply(to: "desk@partner.ml")?.code == 550, "\(still.raw)")

        // check says which history fact applied.
        let check = try Command.run(MilterProcess.binary, ["check", "--config", milter.configPath, "x@army.il", "desk@partner.ml"])
        let lines = check.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first?.hasPrefix("x@army.il: high (score 0.80) -> reject; army.il looks like a misspelling of army.mil; did you mean x@army.mil?; history: first message to army.il, while army.mil is an established correspondent (6 messages over 3 days, \(Self.seedDays[0]) to \(Self.seedDays[2])): one level higher [suffix-confusion,first-contact]") == true, "\(check.stdout)")
        #expect(lines.last?.hasPrefix("desk@partner.ml: high") == true && lines.last?.hasSuffix("[suffix-confusion]") == true, "\(check.stdout)")

        // Forgetting army.mil makes army.il a plain medium look-alike again.
        let forgot = try Command.run(MilterProcess.binary, ["history", "forget", "--config", milter.configPath, "army.mil"])
        #expect(forgot.stdout.hasPrefix("forgot army.mil and its sub-domains: "), "\(forgot.stdout)\(forgot.stderr)")
        let again = try sendUntil(env, via: .historySQLite, to: "x@army.il", label: "army.mil forgotten") { $0.reply(to: "x@army.il")?.code == 250 }
        #expect(again.reply(to: "x@army.il")?.code == 250)
        #expect(milter.isRunning)
    }

    @Test("a log-only week of army.ml mail leaves army.ml high: flagged recipients delivered in log-only mode are never recorded")
    func logOnlyDoesNotTeach() throws {
        let history = "established: {messages: 1, days: 1}"
        try Self.withDriverMilter("history-log-only", configuration: "mode: log-only\nprotected: [mil, army.mil]", history: history) { milter, socket in
            // Ten messages to army.ml, each tagged and delivered (log-only), and one to a clean domain.
            for (index, recipient) in (Array(repeating: "<ops@army.ml>", count: 10) + ["<ops@clean-partner.example>"]).enumerated() {
                let replies = try Self.sendThroughDriver(socket: socket, queueID: "4QUEUE\(index)", recipient: recipient)
                #expect(replies.rcpt == .continue)
                #expect(replies.end == .continue)
            }
            milter.signal(SIGTERM)
            #expect(Command.waitUntil(timeout: .seconds(30)) { !milter.isRunning })
            #expect(milter.terminationStatus == 0, "\(milter.log)")
            let lookAlike = try Command.run(MilterProcess.binary, ["history", "show", "--config", milter.configPath, "army.ml"])
            #expect(lookAlike.stdout.hasPrefix("army.ml: no history"), "\(lookAlike.stdout)\(lookAlike.stderr)")
            let clean = try Command.run(MilterProcess.binary, ["history", "show", "--config", milter.configPath, "clean-partner.example"])
            #expect(clean.stdout.hasPrefix("clean-partner.example: established correspondent (1 message over 1 day"), "\(clean.stdout)\(clean.stderr)")
            let check = try Command.run(MilterProcess.binary, ["check", "--config", milter.configPath, "ops@army.ml"])
            #expect(check.stdout.hasPrefix("ops@army.ml: high (score 0.95)"), "\(check.stdout)")
        }
    }

    @Test("every decision that is not clean is recorded off the SMTP path and listed by history decisions; clean ones are not")
    func decisionsRecorded() throws {
        for mode in ["enforce", "log-only"] {
            try Self.withDriverMilter("decisions-\(mode)", configuration: "mode: \(mode)\nprotected: [mil, army.mil]", history: "decisions: true") { milter, socket in
                let refused = try Self.sendThroughDriver(socket: socket, queueID: "4DEC1", recipient: "<ops@army.ml>")
                if mode == "log-only" {
                    #expect(refused.rcpt == .continue)
                } else if case .text(let text)? = refused.rcpt {
                    #expect(text.hasPrefix("550"), "\(text)")
                } else {
                    Issue.record("army.ml was not refused in enforce mode: \(String(describing: refused.rcpt))")
                }
                _ = try Self.sendThroughDriver(socket: socket, queueID: "4DEC2", recipient: "<desk@clean-partner.example>")
                // The queue is written at the stop (flush_interval is an hour here).
                milter.signal(SIGTERM)
                #expect(Command.waitUntil(timeout: .seconds(30)) { !milter.isRunning })
                #expect(milter.terminationStatus == 0, "\(milter.log)")
                let listed = try Command.run(MilterProcess.binary, ["history", "decisions", "--config", milter.configPath])
                let lines = listed.stdout.split(separator: "\n").map(String.init)
                #expect(lines.count == 1, "\(listed.stdout)\(listed.stderr)")
                let line = try #require(lines.first)
                #expect(line.contains("  4DEC1  alice@example.org  ops@army.ml  high  "), "\(line)")
                #expect(line.contains(mode == "log-only" ? "would-refuse (reject)" : "refused (reject)"), "\(line)")
                #expect(line.contains("army.ml looks like"), "\(line)")
                let filtered = try Command.run(MilterProcess.binary, ["history", "decisions", "--config", milter.configPath, "--domain", "clean-partner.example"])
                #expect(filtered.stdout.isEmpty && filtered.stderr.contains("no recorded decision matches"), "\(filtered.stdout)")
                let bad = try Command.run(MilterProcess.binary, ["history", "decisions", "--config", milter.configPath, "--day", "2026-02-30"])
                #expect(bad.status == 64, "\(bad.stderr)")
            }
        }
    }

    @Test("PostgreSQL: what one MTA delivers, the other learns: a first message to a look-alike of it is flagged there")
    func sharedHistory() throws {
        let env = try environment()
        // Each probe goes to a look-alike never written to before: a delivered probe is itself
        // history, and three of them to one domain would establish it (3 messages on 1 day here).
        let name = Array("partner-corp")
        var variants = (1..<name.count).map { index in String(name[..<index] + name[(index + 1)...]) + ".com" }.makeIterator()
        let probe = { (domain: String, label: String) throws -> RiskItems? in
            let subject = PostfixEnvironment.uniqueSubject(label)
            _ = try env.send(via: .historyB, to: ["ops@\(domain)"], subject: subject)
            return env.sink.messages(withSubjectContaining: subject).first?.risk
        }
        let before = try #require(try probe("partner-crop.com", "shared before"))
        #expect(before.level == "none", "partner-crop.com looks like nothing protected")

        for index in 0..<3 {
            let transcript = try env.send(via: .historyA, to: ["ops@partner-corp.com"], subject: PostfixEnvironment.uniqueSubject("shared \(index)"))
            #expect(transcript.reply(to: "ops@partner-corp.com")?.code == 250)
        }
        var after: RiskItems?
        _ = try Command.waitUntil(timeout: .seconds(20)) {
            guard let domain = variants.next() else { return true }
            after = try probe(domain, "shared after")
            return after?.level != "none"
        }
        let risk = try #require(after)
        #expect(risk.level == "medium")
        #expect(risk["reasons"] == "first-contact")
        #expect(risk["suspected"] == "partner-corp.com")
        #expect(risk["did-you-mean"] == "ops@partner-corp.com")
        #expect(risk["rcpt-action"] == "tag")

        let shown = try Command.run(MilterProcess.binary, ["history", "show", "--config", env.milters[.historyB]!.configPath, "partner-corp.com"])
        #expect(shown.stdout.hasPrefix("partner-corp.com: established correspondent (3 messages over 1 day"), "\(shown.stdout)\(shown.stderr)")
    }

    @Test("PostgreSQL frozen, then killed, while mail flows: no message waits for it, the outage is logged and counted, and the deliveries are written once it is back")
    func databaseOutage() throws {
        let env = try environment()
        let postgres = try #require(env.postgres)
        let milter = env.milters[.historyB]!
        var durations: [Duration] = []
        func sendTimed(_ label: String, to recipient: String, via profile: PostfixEnvironment.Profile) throws {
            let clock = ContinuousClock()
            let start = clock.now
            let transcript = try env.send(via: profile, to: [recipient], subject: PostfixEnvironment.uniqueSubject(label))
            durations.append(clock.now - start)
            #expect(transcript.reply(to: recipient)?.code == 250, "\(transcript.raw)")
            #expect(transcript.dataReply?.code == 250)
        }

        postgres.freeze()
        for index in 0..<4 {
            try sendTimed("frozen \(index)", to: "outage@outage-partner.com", via: index.isMultiple(of: 2) ? .historyA : .historyB)
        }
        #expect(milter.logLines(containing: ["history store unavailable"], timeout: .seconds(20)).count >= 1, "\(milter.log)")
        postgres.kill9()
        for index in 0..<4 {
            try sendTimed("killed \(index)", to: "outage@outage-partner.com", via: index.isMultiple(of: 2) ? .historyA : .historyB)
        }
        let seconds = durations.map { Double($0.components.seconds) + Double($0.components.attoseconds) / 1e18 }
        print("history outage: SMTP transactions took \(seconds.map { String(format: "%.2f s", $0) }.joined(separator: ", ")) (store timeout \(PostfixEnvironment.historyTimeout) s)")
        #expect(seconds.allSatisfy { $0 < Double(PostfixEnvironment.historyTimeout) }, "a message waited for the store: \(seconds)")

        let metrics = try Command.run("curl", ["-sS", "--max-time", "5", "http://127.0.0.1:\(env.metricsPort)/metrics"]).stdout
        let samples = PrometheusText(metrics)
        let errors = ["open", "refresh", "write"].compactMap { samples.value("misdirect_history_store_errors_total", ["operation": $0]) }.reduce(0, +)
        #expect(errors >= 1, "\(metrics)")
        #expect(samples.value("misdirect_history_snapshot_age_seconds", [:]) != nil)

        // Back: both MTAs write what they queued, and say so.
        try postgres.start()
        #expect(milter.logLines(containing: ["history store available again"], timeout: .seconds(60)).count >= 1, "\(milter.log)")
        var shown = ""
        // Generous: under ThreadSanitizer (scripts/sanitize) reconnecting and writing is slow.
        _ = try Command.waitUntil(timeout: .seconds(180)) {
            shown = try Command.run(MilterProcess.binary, ["history", "show", "--config", milter.configPath, "outage-partner.com"]).stdout
            return shown.hasPrefix("outage-partner.com: established correspondent (8 messages")
        }
        #expect(shown.hasPrefix("outage-partner.com: established correspondent (8 messages over 1 day"), "\(shown)")
    }

    @Test("a clean stop writes the queued deliveries; record: authenticated counts only authenticated senders")
    func stopFlushesAndScope() throws {
        try Self.withDriverMilter("history-stop", configuration: "protected: [mil]", history: "record: authenticated") { milter, socket in
            for login in ["alice", nil] {
                let replies = try Self.sendThroughDriver(socket: socket, queueID: "4QUEUE1", recipient: "<j@partner.example>", login: login)
                #expect(replies.end == .continue)
            }
            milter.signal(SIGTERM)
            #expect(Command.waitUntil(timeout: .seconds(30)) { !milter.isRunning })
            #expect(milter.terminationStatus == 0, "\(milter.log)")
            #expect(milter.log.contains("history: queue written"), "\(milter.log)")
            let shown = try Command.run(MilterProcess.binary, ["history", "show", "--config", milter.configPath, "partner.example"])
            #expect(shown.stdout.hasPrefix("partner.example: known, not established (1 message over 1 day"), "\(shown.stdout)\(shown.stderr)")
        }
    }

    /// Runs `body` with a milter of its own on a unix socket in a new temporary directory,
    /// with SQLite history that is only written at a clean stop, and removes the directory.
    static func withDriverMilter(
        _ name: String, configuration: String, history: String, _ body: (MilterProcess, String) throws -> Void
    ) throws {
        let directory = FileManager.default.temporaryDirectory.path + "/\(name)-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let milter = try MilterProcess(
            name: name, root: directory, socket: "unix:\(directory)/m.sock",
            configuration: """
                log_target: stderr
                \(configuration)
                history:
                  state_directory: \(directory)/state
                  \(history)
                  flush_interval: 1h

                """)
        try milter.start()
        try body(milter, "\(directory)/m.sock")
    }

    /// One message through the test MTA driver: MAIL from alice@example.org (logged in as
    /// `login`), one RCPT, a Subject, end of message.
    static func sendThroughDriver(
        socket: String, queueID: String, recipient: String, login: String? = nil
    ) throws -> (rcpt: MTAConnection.Reply?, end: MTAConnection.Reply) {
        let connection = try MTAConnection(unixPath: socket)
        _ = try connection.negotiate()
        try connection.macros("M", [("i", queueID)] + (login.map { [("{auth_authen}", $0)] } ?? []))
        _ = try connection.mail([Array("<alice@example.org>".utf8)])
        let rcpt = try connection.rcpt([Array(recipient.utf8)])
        _ = try connection.header("Subject", Array("hello".utf8))
        try connection.macros("E", [("i", queueID)])
        let end = try connection.endOfMessage().reply
        try connection.quit()
        return (rcpt, end)
    }
}
