import Foundation
import TestSupport
import MTADriver
import Synchronization
import Testing

/// The real binary inside a real Postfix (`milter_default_action = tempfail`) under faults:
/// killed again and again under load, clients that vanish, reset or stall, a thousand
/// recipients, two hundred connections at once. Nothing Postfix accepted is lost, nothing
/// reaches the sink unchecked, no per-connection state is left behind, nothing crashes.
///
/// Serialized: the tests stop and restart the `faults` and `supervised` milters.
@Suite(.postfixEnvironment, .serialized)
struct FaultTests {
    @Test("killed with SIGKILL again and again under load: every accepted message arrives, checked; it comes back and serves")
    func killedUnderLoad() throws {
        let env = try environment()
        let milter = env.milters[.supervised]!
        let token = UUID().uuidString.prefix(8)
        let sender = "kill-\(token)@example.org"
        let subject = "kill test \(token)"

        // smtp-source sends batches until the supervisor is done: 4 sessions, 2 recipients each.
        let done = Atomic<Bool>(false)
        let batches = Locked<[Command.Output]>([])
        let sending = DispatchSemaphore(value: 0)
        let port = env.ports[.supervised]!
        Thread.detachNewThread {
            repeat {
                let output = try? Command.run("smtp-source", [
                    "-A", "-s", "4", "-m", "20", "-r", "2", "-M", "client.test.localdomain",
                    "-f", sender, "-t", "someone@army.ml", "-S", subject, "127.0.0.1:\(port)",
                ])
                if let output { batches.withLock { $0.append(output) } }
            } while !done.load(ordering: .relaxed)
            sending.signal()
        }

        // The supervisor: kill, leave it down a moment (connections refused), start it again.
        let kills = 6
        for round in 0..<kills {
            Thread.sleep(forTimeInterval: 0.4 + 0.1 * Double(round % 3))
            try milter.killHard()
            Thread.sleep(forTimeInterval: 0.2)
            try milter.start()
        }
        Thread.sleep(forTimeInterval: 0.5)
        done.store(true, ordering: .relaxed)
        #expect(sending.wait(timeout: .now() + 120) == .success, "smtp-source did not finish")
        #expect(batches.withLock { $0.count } > 0)

        // Postfix accepted exactly the messages its queue manager saw; each must reach the sink.
        // The queue manager logs a message a moment after smtpd answered 250 (and postlogd
        // writes the line later still), so the log, the sink and the queue are read again until
        // none of this test's messages is left in the queue and the log and the sink agree, or
        // the minute is up: a message accepted but never delivered, or delivered but never
        // queued, keeps them apart.
        func queuedByPostfix() -> Bool {
            guard let listing = try? env.postfixTool("postqueue", ["-j"]), listing.status == 0 else { return true }
            return listing.stdout.contains(sender)
        }
        func acceptedByPostfix() -> Set<String> {
            Set(env.postfix.log.split(separator: "\n").compactMap { line -> String? in
                // "... postfix/qmgr[123]: 4ABCDEF: from=<sender>, size=..., nrcpt=2 (queue active)"
                guard line.contains("from=<\(sender)>") else { return nil }
                let words = line.split(separator: " ")
                guard let qmgr = words.firstIndex(where: { $0.hasPrefix("postfix/qmgr[") }), qmgr + 1 < words.count else { return nil }
                return String(words[qmgr + 1].dropLast())
            })
        }
        var accepted: Set<String> = []
        var delivered: [ReceivedMessage] = []
        _ = Command.waitUntil(timeout: .seconds(60)) {
            accepted = acceptedByPostfix()
            delivered = env.sink.messages().filter { $0.header("Subject").contains(subject) }
            // postqueue (a process) only once the log and the sink agree.
            return Set(delivered.compactMap(\.postfixQueueID)) == accepted && delivered.count == accepted.count && !queuedByPostfix()
        }
        // Postfix refuses with 451 4.7.1 (milter_default_action = tempfail) whatever command was
        // in flight; one line per refused command.
        let refused = env.postfix.log.split(separator: "\n").filter { $0.contains("from=<\(sender)>") && $0.contains("milter-reject") }
        let attempts = batches.withLock { $0.count } * 20
        print("kill test: \(kills) kills, \(attempts) messages tried, \(accepted.count) accepted, \(delivered.count) delivered, \(refused.count) commands refused with 4xx")
        #expect(accepted.count > 0, "Postfix accepted nothing")
        #expect(!refused.isEmpty, "the kills never hit a message in flight")
        #expect(Set(delivered.compactMap(\.postfixQueueID)) == accepted, "every accepted message arrives, and nothing else")
        #expect(delivered.count == accepted.count, "each once")
        for message in delivered {
            let risk = message.risk
            #expect(risk?.level == "high", "checked: \(message.header("X-Misdirection-Risk"))")
        }

        // It comes back and serves.
        let check = PostfixEnvironment.uniqueSubject("after the kills")
        let transcript = try env.send(via: .supervised, to: ["j@army.ml"], subject: check)
        #expect(transcript.dataReply?.code == 250, "\(transcript.raw)")
        #expect(env.sink.messages(withSubjectContaining: check).first?.risk?.level == "high")
    }

    @Test("clients that vanish mid-message, reset, or stall past smtpd_timeout leave no session behind")
    func vanishingClients() throws {
        let env = try environment()
        let port = env.ports[.faults]!
        let milter = env.milters[.faults]!
        // Gone in the middle of DATA.
        for _ in 0..<5 {
            let client = try SMTPClient(port: port)
            _ = try client.envelope(to: [Array("<j@army.mil>".utf8)])
            #expect(try client.command("DATA").code == 354)
            try client.send(Array("Subject: cut\r\n\r\nhalf a mess".utf8))
            client.drop()
        }
        // Gone right after RCPT.
        for _ in 0..<5 {
            let client = try SMTPClient(port: port)
            _ = try client.envelope(to: [Array("<j@army.ml>".utf8)])
            client.drop()
        }
        // RSET mid-transaction, then a message that must arrive checked.
        let subject = PostfixEnvironment.uniqueSubject("after reset")
        let reset = try SMTPClient(port: port)
        _ = try reset.envelope(to: [Array("<j@army.mil>".utf8), Array("<k@army.mil>".utf8)])
        #expect(try reset.command("RSET").code == 250)
        #expect(try reset.command("MAIL FROM:<alice@example.org>").code == 250)
        #expect(try reset.command("RCPT TO:<only@army.mil>").code == 250)
        #expect(try reset.data(SMTPClient.message(subject: subject)).code == 250)
        try reset.command("QUIT")
        let message = try #require(env.sink.messages(withSubjectContaining: subject).first)
        #expect(message.recipients == ["<only@army.mil>"], "the reset recipients are gone")
        #expect(message.risk?.level == "none")
        // Stalls in DATA until Postfix gives up on it (smtpd_timeout = 3s on this listener).
        let stalled = try SMTPClient(port: port)
        _ = try stalled.envelope(to: [Array("<j@army.mil>".utf8)])
        #expect(try stalled.command("DATA").code == 354)
        try stalled.send(Array("Subject: stalled\r\n".utf8))
        #expect(stalled.isClosedByServer(), "Postfix drops the silent client")
        // And the MTA side of the protocol cut off straight at the milter.
        let socket = String(milter.socket.dropFirst("unix:".count))
        for stage in 0..<4 {
            let connection = try MTAConnection(unixPath: socket)
            _ = try connection.negotiate()
            if stage >= 1 { _ = try connection.mail([Array("<alice@example.org>".utf8)]) }
            if stage >= 2 { _ = try connection.rcpt([Array("<j@army.ml>".utf8)]) }
            if stage >= 3 { try connection.sendRaw(MTAConnection.uint32(50) + Array("LSubj".utf8)) }
            connection.drop()
        }
        try Self.expectNoSessionLeft(milter)
    }

    @Test("a thousand recipients in one message: all delivered, one header with ten groups and the count of the rest")
    func thousandRecipients() throws {
        let env = try environment()
        let subject = PostfixEnvironment.uniqueSubject("thousand")
        let client = try SMTPClient(port: env.ports[.tag]!)
        // One in four is a look-alike: 250 flagged recipients, all delivered under the tag policy.
        let recipients = (0..<1000).map { Array("<r\($0)@\($0.isMultiple(of: 4) ? "army.ml" : "army.mil")>".utf8) }
        let replies = try client.envelope(to: recipients)
        #expect(replies.allSatisfy { $0.code == 250 }, "\(replies.first { $0.code != 250 }.map(String.init(describing:)) ?? "")")
        #expect(try client.data(SMTPClient.message(subject: subject)).code == 250)
        var copies: [ReceivedMessage] = []
        _ = Command.waitUntil(timeout: .seconds(60)) {
            copies = env.sink.messages().filter { $0.header("Subject").contains { $0.contains(subject) } }
            return copies.map(\.recipients.count).reduce(0, +) >= 1000
        }
        #expect(copies.map(\.recipients.count).reduce(0, +) == 1000)
        for copy in copies {
            let risk = try #require(copy.risk)
            #expect(risk.level == "high")
            #expect(risk.all("rcpt").count == 10)
            #expect(risk["more"] == "240")
        }
        #expect(env.milters[.tag]!.isRunning)
    }

    @Test("two hundred connections at once, through Postfix and straight at the milter: each served, none left")
    func twoHundredConnections() throws {
        let env = try environment()
        let milter = env.milters[.faults]!
        // Straight at the milter: 200 connections open together, each mid-message.
        let socket = String(milter.socket.dropFirst("unix:".count))
        var connections: [MTAConnection] = []
        for index in 0..<200 {
            let connection = try MTAConnection(unixPath: socket)
            _ = try connection.negotiate()
            _ = try connection.mail([Array("<alice@example.org>".utf8)])
            let reply = try connection.rcpt([Array("<c\(index)@\(index.isMultiple(of: 2) ? "army.ml" : "army.mil")>".utf8)])
            #expect(index.isMultiple(of: 2) ? reply != .continue : reply == .continue)
            connections.append(connection)
        }
        for (index, connection) in connections.enumerated() {
            if index.isMultiple(of: 5) { connection.drop(); continue }
            let (changes, final) = try connection.endOfMessage()
            #expect(final == .continue)
            let header = changes.compactMap { change -> String? in
                if case .insertHeader(0, "X-Misdirection-Risk", let value) = change { return value }
                return nil
            }
            // Its own recipient, no other connection's.
            #expect(header.count == 1 && header[0].contains("rcpt=c\(index)@army.ml") == index.isMultiple(of: 2))
            try connection.quit()
        }
        // Through Postfix: 200 SMTP sessions at once, one message each.
        let token = UUID().uuidString.prefix(8)
        let output = try Command.run("smtp-source", [
            "-s", "200", "-m", "200", "-M", "client.test.localdomain", "-f", "many-\(token)@example.org",
            "-t", "someone@army.mil", "-S", "two hundred \(token)", "127.0.0.1:\(env.ports[.faults]!)",
        ])
        #expect(output.status == 0, "\(output.stderr)")
        var arrived: [ReceivedMessage] = []
        _ = Command.waitUntil(timeout: .seconds(90)) {
            arrived = env.sink.messages().filter { $0.header("Subject").contains("two hundred \(token)") }
            return arrived.count >= 200
        }
        #expect(arrived.count == 200)
        #expect(arrived.allSatisfy { $0.risk?.level == "none" })
        try Self.expectNoSessionLeft(milter)
    }

    /// Stops the milter with SIGTERM: the count of sessions left after the drain must be 0 (a
    /// leaked session never ends), and the exit clean. Then starts it again.
    static func expectNoSessionLeft(_ milter: MilterProcess, sourceLocation: SourceLocation = #_sourceLocation) throws {
        // Postfix closes its milter connections as its sessions end; give them a moment.
        Thread.sleep(forTimeInterval: 1)
        let report = milter.stopGracefully()
        print("\(milter.name) milter stopped: sessions.live=\(report.live.map(String.init) ?? "?") sessions.left=\(report.left.map(String.init) ?? "?") exit=\(report.status.map(String.init) ?? "killed")")
        #expect(report.left == 0, "sessions left: \(report.log)", sourceLocation: sourceLocation)
        #expect(report.status == 0, "exit status", sourceLocation: sourceLocation)
        #expect(!report.log.contains("Fatal error"), sourceLocation: sourceLocation)
        try milter.start()
    }
}
