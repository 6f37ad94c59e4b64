import Foundation
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
        #expect(good.stdout == "\(Self.config): OK; socket inet:8897@127.0.0.1 (Postfix: inet:127.0.0.1:8897), mode enforce, 3 protected, 0 trusted, log syslog\n")
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
        let milter = try MilterProcess(name: "sigint", root: directory, socket: "unix:\(directory)/m.sock", configuration: "log_target: stderr\nprotected: [mil]\n")
        try milter.start()
        milter.signal(SIGHUP)
        #expect(milter.logLines(containing: ["configuration reloaded", "config.generation=2"]).count == 1)
        #expect(milter.isRunning)
        milter.signal(SIGINT)
        #expect(Command.waitUntil(timeout: .seconds(20)) { !milter.isRunning })
        #expect(milter.terminationStatus == 0)
        #expect(milter.logLines(containing: ["stopped", "sessions.left=0"]).count == 1)
    }
}
