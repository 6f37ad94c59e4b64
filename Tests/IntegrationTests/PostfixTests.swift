import Foundation
import Testing

/// misdirect-milter inside a real Postfix: reply codes at RCPT, the header at the sink, logs.
@Suite(.postfixEnvironment)
struct PostfixTests {
    @Test("the packaged configuration refuses someone@army.ml with 550 5.7.1 naming army.mil")
    func packagedRejectsArmyML() throws {
        let env = try environment()
        let transcript = try env.send(via: .packaged, to: ["someone@army.ml"], subject: PostfixEnvironment.uniqueSubject("packaged reject"))
        let reply = try #require(transcript.reply(to: "someone@army.ml"), "\(transcript.raw)")
        #expect(reply.code == 550)
        #expect(reply.text.hasPrefix("5.7.1 "))
        #expect(reply.text.contains("army.ml looks like a misspelling of army.mil"))
        #expect(reply.text.contains("did you mean someone@army.mil?"))
    }

    @Test("the packaged configuration delivers someone@army.mil with X-Misdirection-Risk: none")
    func packagedDeliversArmyMil() throws {
        let env = try environment()
        let subject = PostfixEnvironment.uniqueSubject("packaged clean")
        let transcript = try env.send(via: .packaged, to: ["someone@army.mil"], subject: subject)
        #expect(transcript.reply(to: "someone@army.mil")?.code == 250)
        let message = try #require(env.sink.messages(withSubjectContaining: subject).first, "not delivered")
        let risk = try #require(message.risk, "exactly one X-Misdirection-Risk header expected: \(message.header("X-Misdirection-Risk"))")
        #expect(risk.level == "none")
        #expect(risk["action"] == "accept")
        #expect(risk["mode"] == "enforce")
    }

    @Test("the packaged configuration listens on a unix socket of group postfix, mode 660, in a directory only postfix's group can enter")
    func packagedSocketPermissions() throws {
        let env = try environment()
        let socket = env.milters[.packaged]!.socket
        #expect(socket.hasPrefix("unix:"), "the packaged default must not be TCP, which every local user can reach: \(socket)")
        let path = String(socket.dropFirst("unix:".count))
        let postfixGroup = try #require(getgrnam("postfix")).pointee.gr_gid
        var file = stat()
        try #require(lstat(path, &file) == 0, "\(path): \(String(cString: strerror(errno)))")
        #expect(file.st_mode & S_IFMT == S_IFSOCK)
        #expect(file.st_mode & 0o7777 == 0o660, "mode \(String(file.st_mode & 0o7777, radix: 8))")
        #expect(file.st_gid == postfixGroup)
        // The installed package's directories (CI, after dpkg -i).
        guard PostfixEnvironment.installedConfigPath != nil else { return }
        #expect(path == "/var/spool/postfix/misdirect-milter/misdirect-milter.sock")
        let user = try #require(getpwnam("misdirect-milter")).pointee
        var directory = stat()
        try #require(stat("/var/spool/postfix/misdirect-milter", &directory) == 0)
        #expect(directory.st_uid == user.pw_uid)
        #expect(directory.st_gid == postfixGroup)
        #expect(directory.st_mode & 0o7777 == 0o2750, "mode \(String(directory.st_mode & 0o7777, radix: 8))")
        // The history is the milter's alone: not Postfix's group, not the milter's group.
        var state = stat()
        try #require(stat("/var/lib/misdirect-milter", &state) == 0)
        #expect(state.st_uid == user.pw_uid)
        #expect(state.st_mode & 0o077 == 0, "mode \(String(state.st_mode & 0o7777, radix: 8))")
    }

    @Test("the packaged configuration over TCP (inet:HOST:PORT in main.cf) refuses someone@army.ml too")
    func packagedOverTCPRejectsArmyML() throws {
        let env = try environment()
        let transcript = try env.send(via: .tcp, to: ["someone@army.ml"], subject: PostfixEnvironment.uniqueSubject("tcp reject"))
        #expect(transcript.reply(to: "someone@army.ml")?.code == 550, "\(transcript.raw)")
    }

    @Test("one bad recipient is refused while the good one of the same message is delivered")
    func mixedRecipients() throws {
        let env = try environment()
        let subject = PostfixEnvironment.uniqueSubject("mixed")
        let transcript = try env.send(via: .enforce, to: ["j.smith@army.ml", "j.smith@army.mil"], subject: subject)
        #expect(transcript.reply(to: "j.smith@army.ml")?.code == 550)
        #expect(transcript.reply(to: "j.smith@army.mil")?.code == 250)
        #expect(transcript.dataReply?.code == 250, "\(transcript.raw)")
        let message = try #require(env.sink.messages(withSubjectContaining: subject).first)
        #expect(message.recipients == ["<j.smith@army.mil>"])
        let risk = try #require(message.risk)
        #expect(risk.level == "none", "the delivered copy goes to the real domain only")
        #expect(risk["rcpt"] == "j.smith@army.ml")
        #expect(risk["rcpt-action"] == "reject")
        #expect(risk["suspected"] == "army.mil")
    }

    @Test("tempfail refuses the recipient with 450 4.7.1 and the same explanation")
    func tempfail() throws {
        let env = try environment()
        let transcript = try env.send(via: .enforce, to: ["x@army.il"], subject: PostfixEnvironment.uniqueSubject("tempfail"))
        let reply = try #require(transcript.reply(to: "x@army.il"), "\(transcript.raw)")
        #expect(reply.code == 450)
        #expect(reply.text.hasPrefix("4.7.1 "))
        #expect(reply.text.contains("army.il looks like a misspelling of army.mil"))
    }

    @Test("tag delivers the message with a parsable header naming the recipient, suspicion and reasons")
    func tag() throws {
        let env = try environment()
        let subject = PostfixEnvironment.uniqueSubject("tag")
        let transcript = try env.send(via: .tag, to: ["j@army.ml"], subject: subject)
        #expect(transcript.reply(to: "j@army.ml")?.code == 250)
        let message = try #require(env.sink.messages(withSubjectContaining: subject).first)
        let risk = try #require(message.risk)
        #expect(risk.level == "high")
        #expect(risk["score"] == "0.95")
        #expect(risk["action"] == "tag")
        #expect(risk["mode"] == "enforce")
        #expect(risk["rcpt"] == "j@army.ml")
        #expect(risk["suspected"] == "army.mil")
        #expect(risk["did-you-mean"] == "j@army.mil")
        #expect(risk["reasons"] == "suffix-confusion")
    }

    @Test("log-only refuses nothing, adds the header and logs what enforce would have done")
    func logOnly() throws {
        let env = try environment()
        let subject = PostfixEnvironment.uniqueSubject("log-only")
        let transcript = try env.send(via: .logOnly, to: ["logonly@army.ml", "x@army.il"], subject: subject)
        #expect(transcript.reply(to: "logonly@army.ml")?.code == 250)
        #expect(transcript.reply(to: "x@army.il")?.code == 250)
        let message = try #require(env.sink.messages(withSubjectContaining: subject).first)
        #expect(Set(message.recipients) == ["<logonly@army.ml>", "<x@army.il>"])
        let risk = try #require(message.risk)
        #expect(risk.level == "high")
        #expect(risk["action"] == "reject")
        #expect(risk["mode"] == "log-only")
        let lines = env.milters[.logOnly]!.logLines(containing: ["log-only: would reject recipient", "rcpt.address=<logonly@army.ml>"])
        #expect(lines.count == 1)
        let line = try #require(lines.first)
        #expect(line.contains("risk.level=high"))
        #expect(line.contains("risk.reasons=suffix-confusion"))
        #expect(line.contains("mail.sender=<alice@example.org>"))
        #expect(!line.contains("mail.queue_id=NOQUEUE"), "the queue id is known at end of message")
    }

    @Test("a forged X-Misdirection-Risk header from the sender is removed; only ours arrives")
    func forgedHeaderRemoved() throws {
        let env = try environment()
        let subject = PostfixEnvironment.uniqueSubject("forged")
        _ = try env.send(
            via: .enforce, to: ["j@army.ml.example.com"], subject: subject,
            headers: ["X-Misdirection-Risk: none; score=0.00; action=accept; mode=enforce", "x-misdirection-risk: none; forged"])
        let message = try #require(env.sink.messages(withSubjectContaining: subject).first)
        let values = message.header("X-Misdirection-Risk")
        #expect(values.count == 1)
        #expect(values.first?.contains("forged") == false)
        #expect(env.milters[.enforce]!.logLines(containing: ["removed forged header", "header.count=2"]).count >= 1)
    }

    @Test("a refused recipient is logged with its reasons; the message's line names the clean one")
    func decisionLog() throws {
        let env = try environment()
        let subject = PostfixEnvironment.uniqueSubject("log")
        _ = try env.send(via: .enforce, to: ["logged@army.ml", "logged@army.mil"], subject: subject)
        _ = env.sink.messages(withSubjectContaining: subject)
        let milter = env.milters[.enforce]!
        let rejected = milter.logLines(containing: ["rejected recipient", "rcpt.address=<logged@army.ml>"])
        #expect(rejected.count == 1)
        #expect(rejected.first?.contains("risk.action=reject") == true)
        #expect(rejected.first?.contains("risk.suspected=army.mil") == true)
        let checked = milter.logLines(containing: ["checked message", "rcpt.clean=<logged@army.mil>"])
        #expect(checked.count == 1)
        #expect(checked.first?.contains("rcpt.count=1") == true && checked.first?.contains("rcpt.flagged=0") == true)
        let queueID = checked.first?.split(separator: " ").first { $0.hasPrefix("mail.queue_id=") }
        #expect(queueID != nil && queueID != "mail.queue_id=NOQUEUE")
        // At info a clean recipient has no line of its own.
        #expect(milter.logLines(containing: ["accepted recipient", "rcpt.address=<logged@army.mil>"], timeout: .seconds(1)).isEmpty)
    }

    // MARK: Sensitivity and context at end of message

    @Test("OFFICIAL-SENSITIVE to a high look-alike and a real recipient: the look-alike is refused at RCPT, the real one gets the message")
    func sensitiveHighLookAlike() throws {
        let env = try environment()
        let subject = PostfixEnvironment.uniqueSubject("[OFFICIAL-SENSITIVE] plans")
        let transcript = try env.send(via: .packaged, to: ["j.smith@army.ml", "k.jones@army.mil"], subject: subject)
        #expect(transcript.reply(to: "j.smith@army.ml")?.code == 550, "\(transcript.raw)")
        #expect(transcript.reply(to: "k.jones@army.mil")?.code == 250)
        #expect(transcript.dataReply?.code == 250, "\(transcript.raw)")
        let message = try #require(env.sink.messages(withSubjectContaining: subject).first)
        #expect(message.recipients == ["<k.jones@army.mil>"])
        let risk = try #require(message.risk)
        #expect(risk.level == "none", "the delivered copy goes to the real domain only")
        #expect(risk["rcpt"] == "j.smith@army.ml")
        #expect(risk["rcpt-action"] == "reject")
        #expect(risk["did-you-mean"] == "j.smith@army.mil")
    }

    @Test("OFFICIAL-SENSITIVE raises a medium look-alike accepted at RCPT to high: the whole message is refused at end of data, naming it")
    func sensitiveRaisesToRefusal() throws {
        let env = try environment()
        let subject = PostfixEnvironment.uniqueSubject("[OFFICIAL-SENSITIVE] raised")
        let transcript = try env.send(via: .packaged, to: ["x@army.il", "k.jones@army.mil"], subject: subject)
        #expect(transcript.reply(to: "x@army.il")?.code == 250, "medium is only tagged at RCPT: \(transcript.raw)")
        #expect(transcript.reply(to: "k.jones@army.mil")?.code == 250)
        let data = try #require(transcript.dataReply, "\(transcript.raw)")
        #expect(data.code == 550)
        #expect(data.text.contains("5.7.1"))
        #expect(transcript.raw.contains("x@army.il: army.il looks like a misspelling of army.mil; did you mean x@army.mil?"))
        #expect(transcript.raw.contains("sensitivity"))
        #expect(env.sink.messages(withSubjectContaining: subject, timeout: .seconds(2)).isEmpty, "nothing is delivered")
        let lines = env.milters[.packaged]!.logLines(containing: ["refused message at end of data", "rcpt.address=<x@army.il>"])
        #expect(lines.first?.contains("risk.reasons=suffix-confusion,odd-one-out,sensitivity") == true, "\(lines)")
    }

    @Test("with high look-alikes tagged, an OFFICIAL-SENSITIVE message reaches both recipients and the header shows the raise")
    func sensitiveTagged() throws {
        let env = try environment()
        let subject = PostfixEnvironment.uniqueSubject("[OFFICIAL-SENSITIVE] tagged")
        let transcript = try env.send(via: .tag, to: ["x@army.il", "k.jones@army.mil"], subject: subject)
        #expect(transcript.dataReply?.code == 250, "\(transcript.raw)")
        let message = try #require(env.sink.messages(withSubjectContaining: subject).first)
        #expect(Set(message.recipients) == ["<x@army.il>", "<k.jones@army.mil>"])
        let risk = try #require(message.risk)
        #expect(risk.level == "high")
        #expect(risk["action"] == "tag")
        #expect(risk["rcpt"] == "x@army.il")
        #expect(risk["rcpt-level"] == "high")
        #expect(risk["reasons"] == "suffix-confusion,odd-one-out,sensitivity")
        #expect(risk["did-you-mean"] == "x@army.mil")
    }
}
