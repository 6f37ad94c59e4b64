import Foundation
import MTADriver
import Testing

/// The sender override, against the real binary. Postfix sends `{auth_authen}` only after SMTP
/// AUTH, which the private Postfix does not offer, so these tests speak the MTA side of the
/// milter protocol themselves, sending the macros as Postfix does.
@Suite(.serialized)
struct SenderOverrideTests {
    /// A milter with the override enabled on a unix socket of its own, for one test.
    func withMilter(_ body: (MilterProcess) throws -> Void) throws {
        let directory = FileManager.default.temporaryDirectory.path + "/override-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let milter = try MilterProcess(
            name: "override", root: directory, socket: "unix:\(directory)/m.sock",
            configuration: "log_target: stderr\nprotected: [mil, gov]\nsender_override: {header: X-Confirm-Recipient}\n")
        try milter.start()
        defer { milter.stop() }
        try body(milter)
    }

    /// Sends one message the way Postfix does, up to the end of the headers.
    func send(_ milter: MilterProcess, login: String?, to recipients: [String], headers: [(String, String)]) throws -> (connection: MTAConnection, rcpt: [MTAConnection.Reply?]) {
        let connection = try MTAConnection(unixPath: String(milter.socket.dropFirst("unix:".count)))
        _ = try connection.negotiate()
        try connection.macros("M", [("i", "4QUEUE1")] + (login.map { [("{auth_authen}", $0)] } ?? []))
        #expect(try connection.mail([Array("<alice@example.org>".utf8)]) == nil, "not answered on a unix socket")
        var replies: [MTAConnection.Reply?] = []
        for recipient in recipients {
            try connection.macros("R", [("i", "4QUEUE1")])
            replies.append(try connection.rcpt([Array("<\(recipient)>".utf8)]))
        }
        for (name, value) in headers + [("Subject", "convoy")] { _ = try connection.header(name, Array(value.utf8)) }
        try connection.macros("E", [("i", "4QUEUE1")])
        return (connection, replies)
    }

    @Test("an authenticated sender who names the recipient in the header gets it delivered, tagged override=sender, and the header removed")
    func confirmed() throws {
        try withMilter { milter in
            let (connection, replies) = try send(milter, login: "alice", to: ["j.smith@army.ml", "k@army.mil"], headers: [("X-Confirm-Recipient", "J. Smith <j.smith@army.ml>")])
            #expect(replies == [.continue, .continue], "the refusal waits for the end of the message")
            let (changes, reply) = try connection.endOfMessage()
            #expect(reply == .continue)
            #expect(changes.contains(.changeHeader(index: 1, name: "X-Confirm-Recipient", value: "")), "\(changes)")
            let risk = changes.compactMap { change -> String? in
                if case let .insertHeader(_, name, value) = change, name == "X-Misdirection-Risk" { return value }
                return nil
            }.first ?? ""
            #expect(risk.contains("rcpt=j.smith@army.ml"))
            #expect(risk.contains("rcpt-action=reject;") && risk.contains("override=sender"), "\(risk)")
            #expect(!risk.contains("alice"), "the login stays out of the header")
            #expect(milter.logLines(containing: ["sender override: delivering", "override.user=alice", "rcpt.address=<j.smith@army.ml>"]).count == 1, "\(milter.log)")
            #expect(milter.logLines(containing: ["delivered recipient on sender override", "risk.action=reject", "override.user=alice"]).count == 1)
        }
    }

    @Test("an authenticated sender who does not confirm the recipient gets the whole message refused at end of data")
    func notConfirmed() throws {
        try withMilter { milter in
            let (connection, replies) = try send(milter, login: "alice", to: ["j.smith@army.ml", "k@army.mil"], headers: [("X-Confirm-Recipient", "someone.else@army.ml")])
            #expect(replies == [.continue, .continue])
            let (_, reply) = try connection.endOfMessage()
            guard case .text(let text) = reply else { Issue.record("expected a refusal, got \(reply)"); return }
            #expect(text.hasPrefix("550-5.7.1 Message refused"), "\(text)")
            #expect(text.contains("j.smith@army.ml: army.ml looks like a misspelling of army.mil"))
        }
    }

    @Test("without authentication the override header is ignored and the recipient refused at RCPT as before")
    func unauthenticated() throws {
        try withMilter { milter in
            let (connection, replies) = try send(milter, login: nil, to: ["j.smith@army.ml", "k@army.mil"], headers: [("X-Confirm-Recipient", "j.smith@army.ml")])
            guard case .text(let text)? = replies.first else { Issue.record("expected a refusal at RCPT, got \(replies)"); return }
            #expect(text.hasPrefix("550 5.7.1"))
            #expect(replies.last == .continue)
            let (changes, reply) = try connection.endOfMessage()
            #expect(reply == .continue)
            #expect(changes.contains(.changeHeader(index: 1, name: "X-Confirm-Recipient", value: "")), "removed even so")
            #expect(milter.logLines(containing: ["sender override"], timeout: .seconds(1)).isEmpty)
        }
    }
}
