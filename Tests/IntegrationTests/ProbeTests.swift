import Foundation
import TestSupport
import Testing

/// `misdirect-milter probe` against the real binary serving on a unix socket: what an operator
/// sees when asking a running milter what it decides.
struct ProbeTests {
    /// Runs `body` with a milter serving `configuration` on a unix socket of its own.
    static func withMilter(_ name: String, _ configuration: String, _ body: (MilterProcess) throws -> Void) throws {
        let directory = FileManager.default.temporaryDirectory.path + "/probe-\(name)-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory + "/log", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let milter = try MilterProcess(name: name, root: directory, socket: "unix:\(directory)/milter.sock",
                                       configuration: "log_target: stderr\nprotected: [mil, gov]\n" + configuration)
        try milter.start()
        defer { milter.stop() }
        try body(milter)
    }

    @Test("prints the answer to each recipient and the verdict header the milter adds")
    func enforce() throws {
        try Self.withMilter("enforce", "") { milter in
            let output = try Command.run(MilterProcess.binary, ["probe", milter.socket, "j.smith@army.ml", "bob@army.mil"])
            #expect(output.status == 0, "\(output.stderr)")
            let lines = output.stdout.split(separator: "\n").map(String.init)
            #expect(lines.count == 4, "\(lines)")
            #expect(lines.first?.hasPrefix("<j.smith@army.ml>: 550 5.7.1 ") == true)
            #expect(lines.first?.contains("did you mean j.smith@army.mil?") == true)
            #expect(lines.dropFirst().first == "<bob@army.mil>: accepted")
            #expect(lines.dropFirst(2).first?.hasPrefix("inserts header X-Misdirection-Risk at 0: none; ") == true)
            #expect(lines.last == "end of message: accepted")
            // The milter saw a message like any other, with the probe's queue id.
            #expect(milter.logLines(containing: ["rejected recipient", "mail.queue_id=PROBE", "rcpt.address=<j.smith@army.ml>"]).count == 1)
        }
    }

    @Test("shows the hold of a message to a look-alike the policy holds, and an all-refused message as not sent")
    func held() throws {
        try Self.withMilter("held", "actions: {high: quarantine, medium: tag}\n") { milter in
            let output = try Command.run(MilterProcess.binary, ["probe", milter.socket, "j.smith@army.ml"])
            #expect(output.status == 0, "\(output.stderr)")
            #expect(output.stdout.contains("<j.smith@army.ml>: accepted\n"))
            #expect(output.stdout.contains("holds the message: misdirect-milter: j.smith@army.ml: army.ml looks like"))
            #expect(output.stdout.contains("action=quarantine"))
        }
        try Self.withMilter("refused", "actions: {high: tempfail}\n") { milter in
            let output = try Command.run(MilterProcess.binary, ["probe", milter.socket, "j.smith@army.ml"])
            #expect(output.stdout.hasPrefix("<j.smith@army.ml>: 450 4.7.1 "))
            #expect(output.stdout.hasSuffix("message: not sent, every recipient was refused\n"))
        }
    }

    @Test("an authenticated sender's override header is shown delivered, tagged override=sender")
    func senderOverride() throws {
        try Self.withMilter("override", "sender_override: {header: X-Misdirection-Override}\n") { milter in
            let output = try Command.run(MilterProcess.binary, [
                "probe", "--from", "alice@army.mil", "--auth", "alice", "--header", "X-Misdirection-Override: j.smith@army.ml",
                milter.socket, "j.smith@army.ml",
            ])
            #expect(output.stdout.contains("<j.smith@army.ml>: accepted\n"))
            #expect(output.stdout.contains("removes header X-Misdirection-Override #1\n"))
            #expect(output.stdout.contains("override=sender"))
        }
    }

    @Test("a socket nobody serves exits 69 and says why; a malformed one is a usage error")
    func unreachable() throws {
        let path = FileManager.default.temporaryDirectory.path + "/probe-nobody-\(UUID().uuidString).sock"
        let output = try Command.run(MilterProcess.binary, ["probe", "unix:\(path)", "a@army.ml"])
        #expect(output.status == 69)
        #expect(output.stderr.contains("No such file or directory"))
        let malformed = try Command.run(MilterProcess.binary, ["probe", "nonsense", "a@army.ml"])
        #expect(malformed.status == 64)
    }
}
