import Foundation
import Testing

/// The same binary under a real Sendmail: refusal at RCPT, the header, log-only.
@Suite(.sendmailEnvironment)
struct SendmailTests {
    func environment() throws -> SendmailEnvironment {
        try #require(SendmailEnvironment.current, "the suite needs the .sendmailEnvironment trait")
    }

    @Test("Sendmail: a look-alike recipient is refused at RCPT with 550 5.7.1, the real one delivered with the header")
    func rejectAtRcpt() throws {
        let env = try environment()
        let subject = PostfixEnvironment.uniqueSubject("sendmail reject")
        let transcript = try env.send(via: .enforce, to: ["j.smith@army.ml", "j.smith@army.mil"], subject: subject)
        let refused = try #require(transcript.reply(to: "j.smith@army.ml"), "\(transcript.raw)")
        #expect(refused.code == 550)
        #expect(refused.text.contains("5.7.1"))
        #expect(refused.text.contains("army.ml looks like a misspelling of army.mil; did you mean j.smith@army.mil?"))
        #expect(transcript.reply(to: "j.smith@army.mil")?.code == 250)
        let message = try #require(env.sink.messages(withSubjectContaining: subject).first, "not delivered: \(env.log)")
        #expect(message.recipients == ["<j.smith@army.mil>"])
        let risk = try #require(message.risk)
        #expect(risk.level == "none")
        #expect(risk["rcpt"] == "j.smith@army.ml")
        #expect(risk["rcpt-action"] == "reject")
        let logged = env.milters[.enforce]!.logLines(containing: ["rejected recipient", "rcpt.address=<j.smith@army.ml>"])
        #expect(logged.count == 1)
        #expect(logged.first?.contains("mail.queue_id=NOQUEUE") == false, "Sendmail gives the queue id at RCPT")
    }

    @Test("Sendmail: tempfail gives 450 4.7.1")
    func tempfail() throws {
        let env = try environment()
        let transcript = try env.send(via: .enforce, to: ["x@army.il"], subject: PostfixEnvironment.uniqueSubject("sendmail tempfail"))
        let reply = try #require(transcript.reply(to: "x@army.il"), "\(transcript.raw)")
        #expect(reply.code == 450)
        #expect(reply.text.contains("4.7.1"))
    }

    @Test("Sendmail: log-only refuses nothing, marks the header and logs what enforce would do")
    func logOnly() throws {
        let env = try environment()
        let subject = PostfixEnvironment.uniqueSubject("sendmail log-only")
        let transcript = try env.send(via: .logOnly, to: ["logonly@army.ml"], subject: subject)
        #expect(transcript.reply(to: "logonly@army.ml")?.code == 250)
        let message = try #require(env.sink.messages(withSubjectContaining: subject).first, "not delivered: \(env.log)")
        let risk = try #require(message.risk)
        #expect(risk.level == "high")
        #expect(risk["action"] == "reject")
        #expect(risk["mode"] == "log-only")
        #expect(env.milters[.logOnly]!.logLines(containing: ["log-only: would reject recipient", "rcpt.address=<logonly@army.ml>"]).count == 1)
    }
}
