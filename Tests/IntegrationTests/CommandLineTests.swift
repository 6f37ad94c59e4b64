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
}
