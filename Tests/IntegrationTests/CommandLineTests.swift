import Foundation
import TestSupport
import Testing

/// The built binary's commands, without an MTA.
struct CommandLineTests {
    static let config = PostfixEnvironment.packagedConfigPath

    @Test("check reads addresses from standard input, skipping blank lines and comments")
    func checkStdin() throws {
        let output = try Command.run(
            MilterProcess.binary, ["check", "--config", Self.config],
            input: "# from the incident report\nsomeone@army.ml\n\n  someone@army.mil  \n")
        #expect(output.status == 0)
        #expect(output.stdout == """
            someone@army.ml: high (score 0.95) -> reject; army.ml looks like a misspelling of army.mil; did you mean someone@army.mil? [suffix-confusion]
            someone@army.mil: none (score 0.00) -> accept; protected domain mil

            """)
    }

    @Test("check names each class of look-alike that once slipped through (issue 12)")
    func checkLookAlikeClasses() throws {
        let directory = FileManager.default.temporaryDirectory.path + "/check-classes-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/misdirect-milter.yml"
        try PostfixEnvironment.lookAlikeProtection.write(toFile: path, atomically: true, encoding: .utf8)
        let output = try Command.run(MilterProcess.binary, [
            "check", "--config", path,
            "j@arny.mil", "j@navy.mil", "j@gob.uk", "j@hmrc.gov.uk.com", "j@outlook.om", "j@barclays.us", "j@bareiays.co.uk",
        ])
        #expect(output.status == 0, "\(output.stderr)")
        #expect(output.stdout == """
            j@arny.mil: high (score 0.95) -> reject; arny.mil looks like a misspelling of army.mil; it is under the protected suffix mil but is not listed itself; did you mean j@army.mil? [typo,homoglyph]
            j@navy.mil: none (score 0.00) -> accept; protected domain mil
            j@gob.uk: high (score 0.95) -> reject; gob.uk looks like a misspelling of gov.uk; did you mean j@gov.uk? [suffix-confusion]
            j@hmrc.gov.uk.com: high (score 0.95) -> reject; hmrc.gov.uk.com holds gov.uk followed by another suffix; did you mean j@hmrc.gov.uk? [structure]
            j@outlook.om: high (score 0.95) -> reject; outlook.om looks like a misspelling of outlook.com; did you mean j@outlook.com? [suffix-confusion]
            j@barclays.us: low (score 0.30) -> accept; barclays.us has the name of barclays.co.uk under another suffix (.us); did you mean j@barclays.co.uk? [other-suffix]
            j@bareiays.co.uk: high (score 0.90) -> reject; bareiays.co.uk looks like barclays.co.uk written with look-alike characters; did you mean j@barclays.co.uk? [homoglyph]

            """)
    }

    @Test("check --json prints one object per line with address, domain, level, score, suspected and reasons")
    func checkJSON() throws {
        let output = try Command.run(MilterProcess.binary, ["check", "--json", "--config", Self.config, "x@state.gv", "gov.uk"])
        let lines = output.stdout.split(separator: "\n")
        #expect(lines.count == 2)
        let first = try #require(try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any])
        #expect(first["address"] as? String == "x@state.gv")
        #expect(first["domain"] as? String == "state.gv")
        #expect(first["level"] as? String == "high")
        #expect(first["score"] as? Double == 0.95)
        #expect(first["suspected"] as? String == "state.gov")
        #expect((first["reasons"] as? [[String: Any]])?.first?["rule"] as? String == "suffix-confusion")
        let second = try #require(try JSONSerialization.jsonObject(with: Data(lines[1].utf8)) as? [String: Any])
        #expect(second["level"] as? String == "none")
    }

    @Test("serve and check exit 78 with file, line and key for a bad configuration")
    func badConfig() throws {
        let path = FileManager.default.temporaryDirectory.path + "/bad-\(UUID().uuidString).yml"
        try "socket: inet:8897@127.0.0.1\nactions:\n  high: block\n".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        for arguments in [["serve", "--config", path], ["check", "--config", path, "x@army.ml"]] {
            let output = try Command.run(MilterProcess.binary, arguments)
            #expect(output.status == 78)
            #expect(output.stderr.contains("\(path):3: actions.high: unknown action \"block\""))
        }
        let missing = try Command.run(MilterProcess.binary, ["serve", "--config", "/nonexistent/misdirect-milter.yml"])
        #expect(missing.status == 78)
        #expect(missing.stderr.contains("/nonexistent/misdirect-milter.yml: cannot read the file"))
    }

    @Test("config check exits 0 with a summary for the packaged file, 78 with file, line and key for a bad one")
    func configCheck() throws {
        let good = try Command.run(MilterProcess.binary, ["config", "check", "--config", Self.config])
        #expect(good.status == 0)
        #expect(good.stdout == "\(Self.config): OK; socket unix:/var/spool/postfix/misdirect-milter/misdirect-milter.sock (Postfix: unix:/var/spool/postfix/misdirect-milter/misdirect-milter.sock), mode enforce, 3 protected, 0 trusted, log syslog, history sqlite /var/lib/misdirect-milter/history.sqlite\n")
        let path = FileManager.default.temporaryDirectory.path + "/bad-\(UUID().uuidString).yml"
        try "protected: [mil]\nmetrics_listen: 0.0.0.0:9897\n".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let bad = try Command.run(MilterProcess.binary, ["config", "check", "--config", path])
        #expect(bad.status == 78)
        #expect(bad.stderr == "misdirect-milter: \(path):2: metrics_listen: \"0.0.0.0:9897\": metrics are served on loopback only (127.0.0.0/8 or [::1])\n")
    }

    @Test("SIGINT stops serve cleanly with exit 0; SIGHUP before it does not stop it")
    func sigint() throws {
        let directory = FileManager.default.temporaryDirectory.path + "/sigint-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // TCP, so the stop replaces a TCP listener (the graceful-stop test covers a unix socket).
        let milter = try MilterProcess(
            name: "sigint", root: directory, socket: "inet:\(try Loopback.freePort())@127.0.0.1", configuration: "log_target: stderr\nprotected: [mil]\n")
        try milter.start()
        milter.signal(SIGHUP)
        #expect(milter.logLines(containing: ["configuration reloaded", "config.generation=2"]).count == 1)
        #expect(milter.isRunning)
        milter.signal(SIGINT)
        #expect(Command.waitUntil(timeout: .seconds(20)) { !milter.isRunning })
        #expect(milter.terminationStatus == 0)
        #expect(milter.logLines(containing: ["stopped", "sessions.left=0"]).count == 1)
    }

    static let fixtures = Repository.path("Tests/Fixtures/replay")

    @Test("replay reports a Postfix log, its gzip-rotated part, an mbox and a Maildir")
    func replayReport() throws {
        let output = try Command.run(
            MilterProcess.binary, ["replay", "--config", Self.config, "mail.log", "mail.log.1.gz", "sent.mbox", "Maildir"],
            workingDirectory: Self.fixtures)
        #expect(output.status == 0, "\(output.stderr)")
        #expect(output.stderr.isEmpty, "no progress bar without a terminal")
        #expect(output.stdout == """
            misdirect-milter replay: policy of \(Self.config) (mode enforce)
              read mail.log: postfix-log, 3.2 KiB, 4 messages
              read mail.log.1.gz: postfix-log, gzip, 319 B, 2 messages
              read sent.mbox: mbox, 551 B, 2 messages
              read Maildir/cur/1700000000.M1P1.mx1:2,S: message, 145 B, 1 message

            Messages: 9    Recipients: 16

            What the policy would do per recipient:
              accept               9  56.25%
              tag                  0  0.00%
              quarantine           0  0.00%
              tempfail             0  0.00%
              reject               7  43.75%
            Messages with a recipient refused: 6    held: 0    tagged: 0

            By level: none 9    low 0    medium 0    high 7
            By rule:  suffix-confusion 7

            Top suspicious domains:
              domain     recipients  level  action  suspected   rules             example
              army.ml             3  high   reject  army.mil    suffix-confusion  j.smith@army.ml -> j.smith@army.mil
              mod.go.uk           2  high   reject  mod.gov.uk  suffix-confusion  desk@mod.go.uk -> desk@mod.gov.uk
              state.gv            2  high   reject  state.gov   suffix-confusion  procurement@state.gv -> procurement@state.gov

            """)
    }

    @Test("replay --html writes the report's charts as one self-contained file, each log line on its own day")
    func replayHTML() throws {
        let directory = FileManager.default.temporaryDirectory.path + "/replay-html-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let output = try Command.run(
            MilterProcess.binary, ["replay", "--config", Self.config, "--year", "2026", "--html", "\(directory)/report.html", "mail.log"],
            workingDirectory: Self.fixtures)
        #expect(output.status == 0, "\(output.stderr)")
        #expect(output.stdout.contains("Top suspicious domains:"), "the text report is printed as before")
        let html = try String(contentsOfFile: "\(directory)/report.html", encoding: .utf8)
        for id in ["chart-levels", "chart-rules", "chart-domains", "chart-would-refuse"] { #expect(html.contains("<svg id=\"\(id)\""), "\(id)") }
        // The log's army.ml deliveries are on 24 November: the bar is dated by the line.
        #expect(html.contains("<title>2026-11-24 high: "), "\(html.prefix(3000))")
        #expect(html.contains(">army.ml</text>"), "army.ml among the top look-alike domains")
        #expect(!html.contains("<script") && !html.contains("<link") && html.contains("<style>"))
        let unwritable = try Command.run(MilterProcess.binary, ["replay", "--config", Self.config, "--html", "/nonexistent/dir/r.html", "mail.log"],
                                         workingDirectory: Self.fixtures)
        #expect(unwritable.status == 73 && unwritable.stderr.contains("cannot write /nonexistent/dir/r.html"), "\(unwritable.stderr)")
    }

    @Test("replay --json counts actions, levels and rules for machines")
    func replayJSON() throws {
        let output = try Command.run(MilterProcess.binary, ["replay", "--json", "--top", "1", "--config", Self.config, Self.fixtures + "/sent.mbox"])
        let report = try #require(try JSONSerialization.jsonObject(with: Data(output.stdout.utf8)) as? [String: Any])
        #expect(report["messages"] as? Int == 2)
        #expect(report["recipients"] as? Int == 6)
        #expect((report["actions"] as? [String: Int])?["reject"] == 2)
        #expect((report["levels"] as? [String: Int])?["high"] == 2)
        #expect((report["rules"] as? [String: Int])?["suffix-confusion"] == 2)
        let top = try #require(report["top_domains"] as? [[String: Any]])
        #expect(top.count == 1)
        #expect(top.first?["suspected"] as? String == "army.mil")
    }

    @Test("replay reads concatenated gzip members as one log and reports a truncated one without failing the others")
    func replayGzipEdges() throws {
        let directory = FileManager.default.temporaryDirectory.path + "/replay-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let log = try String(contentsOfFile: Self.fixtures + "/mail.log", encoding: .utf8)
        try log.write(toFile: "\(directory)/a", atomically: true, encoding: .utf8)
        try Command.run("sh", ["-c", "cd \(directory) && gzip -c a > one.gz && cat one.gz one.gz > two.gz && head -c 300 one.gz > cut.gz"])
        let output = try Command.run(MilterProcess.binary, ["replay", "--json", "--config", Self.config, "\(directory)/two.gz", "\(directory)/cut.gz"])
        #expect(output.status == 0)
        let report = try #require(try JSONSerialization.jsonObject(with: Data(output.stdout.utf8)) as? [String: Any])
        let sources = try #require(report["sources"] as? [[String: Any]])
        // Both members are read: the three messages removed in each count twice; the deferred one
        // (no removed line) is still open when its queue id comes again, so it counts once.
        #expect(sources.first?["messages"] as? Int == 7)
        #expect((sources.last?["error"] as? String)?.contains("ends early") == true)
        #expect(output.stderr.contains("cut.gz: the gzip data ends early"))
    }

    @Test("replay reads a pipe through - and /dev/stdin like the file itself, plain or gzip, losing nothing to the format probe")
    func replayPipe() throws {
        let directory = FileManager.default.temporaryDirectory.path + "/replay-pipe-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // Bigger than the 4 KiB the format probe looks at.
        try Command.run("sh", ["-c", "cd \(directory) && for i in 1 2 3 4; do cat '\(Self.fixtures)/mail.log'; done > big.log && gzip -c big.log > big.log.gz"])
        func messages(_ command: String) throws -> Int? {
            let output = try Command.run("sh", ["-c", command], workingDirectory: directory)
            #expect(output.status == 0, "\(command): \(output.stderr)")
            let report = try JSONSerialization.jsonObject(with: Data(output.stdout.utf8)) as? [String: Any]
            return report?["messages"] as? Int
        }
        let replay = "'\(MilterProcess.binary)' replay --json --config '\(Self.config)'"
        let fromFile = try #require(try messages("\(replay) big.log"))
        #expect(fromFile > 4)
        #expect(try messages("cat big.log | \(replay) -") == fromFile)
        #expect(try messages("cat big.log | \(replay) /dev/stdin") == fromFile)
        #expect(try messages("cat big.log.gz | \(replay) -") == fromFile)
        #expect(try messages("cat '\(Self.fixtures)/mail.log' | \(replay) -") == 4, "a log smaller than the probe")
    }

    @Test("replay of input with nothing it understands exits 65 and says so")
    func replayNothingUnderstood() throws {
        for input in ["", "hello\nthis is not a mail log\n"] {
            let output = try Command.run(MilterProcess.binary, ["replay", "--config", Self.config, "-"], input: input)
            #expect(output.status == 65, "\(output.stdout)")
            #expect(output.stderr.contains("misdirect-milter: replay found no messages in -: expected Postfix mail logs"), "\(output.stderr)")
        }
    }

    static let malformedShapes: [([UInt8], String)] = [
        (Array("mode: enforce\nmode: log-only\n".utf8), ":1: mode: key given more than once"),
        (Array("actions:\n\thigh: reject\n".utf8), ":2: actions: not valid YAML"),
        (Array("mode: lo".utf8) + [0x1B] + Array("g-only\n".utf8), ":1: mode: not valid YAML: control characters are not allowed (U+001B)"),
        (Array("protected:\n  - arm".utf8) + [0xE9] + Array("e.fr\n".utf8), ":2: protected: not UTF-8 text (byte 0xE9)"),
        (Array("socket: /\n".utf8), ":1: socket: \"/\": a unix socket needs an absolute path to a file"),
        (Array("protected: [mil, g\u{200B}ov]\n".utf8), ":1: protected: \"g\u{200B}ov\" is not a domain: invisible character U+200B"),
        (Array("mode: \"log\n\n  only\"\n".utf8), ":1: mode: unknown mode \"log\\nonly\""),
        (Array("history:\n  typo_ratio: 9223372036854775807\n".utf8), ":2: history.typo_ratio: \"9223372036854775807\" is not a whole number from 0 to 1000000"),
        (Array("sender_override: {header: Subject}\n".utf8), ":1: sender_override.header: \"Subject\" is a standard header"),
    ]

    @Test("serve exits 78 with file, line and key for every malformed shape of file", arguments: malformedShapes)
    func malformedFiles(contents: [UInt8], expected: String) throws {
        let path = FileManager.default.temporaryDirectory.path + "/malformed-\(UUID().uuidString).yml"
        try Data(contents).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let output = try Command.run(MilterProcess.binary, ["serve", "--config", path])
        #expect(output.status == 78)
        #expect(output.stderr.hasPrefix("misdirect-milter: \(path)\(expected)"), "\(output.stderr)")
        #expect(output.stderr.split(separator: "\n").count == 1, "one line")
    }
}
