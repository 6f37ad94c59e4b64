import Foundation
import Testing

/// The classes of look-alikes that once slipped through (issue 12), through a real Postfix with
/// the default actions: medium is tagged, high refused at RCPT.
@Suite(.postfixEnvironment)
struct LookAlikeClassPostfixTests {
    @Test("look-alikes under a protected suffix, of a suffix name, of a suffix and with two look-alike letters are refused; a real name under the suffix is delivered")
    func refusedAtRcpt() throws {
        let env = try environment()
        let subject = PostfixEnvironment.uniqueSubject("look-alike classes")
        let refused = ["j@arny.mil", "j@gob.uk", "j@hmrc.gov.uk.com", "j@outlook.om", "j@bareiays.co.uk"]
        let transcript = try env.send(via: .lookAlikes, to: refused + ["j@navy.mil"], subject: subject)
        for address in refused {
            let reply = try #require(transcript.reply(to: address), "\(address): \(transcript.raw)")
            #expect(reply.code == 550, "\(address): \(reply.code) \(reply.text)")
            #expect(reply.text.hasPrefix("5.7.1 "))
        }
        #expect(transcript.reply(to: "j@arny.mil")?.text.contains("it is under the protected suffix mil but is not listed itself") == true)
        #expect(transcript.reply(to: "j@outlook.om")?.text.contains("did you mean j@outlook.com?") == true)
        #expect(transcript.reply(to: "j@navy.mil")?.code == 250)
        let message = try #require(env.sink.messages(withSubjectContaining: subject).first, "not delivered")
        #expect(message.recipients == ["<j@navy.mil>"])
    }

    @Test("the same name under another suffix is delivered with a low header naming other-suffix")
    func otherSuffixDelivered() throws {
        let env = try environment()
        let subject = PostfixEnvironment.uniqueSubject("other suffix")
        let transcript = try env.send(via: .lookAlikes, to: ["j@barclays.us"], subject: subject)
        #expect(transcript.reply(to: "j@barclays.us")?.code == 250, "\(transcript.raw)")
        let message = try #require(env.sink.messages(withSubjectContaining: subject).first, "not delivered")
        let risk = try #require(message.risk)
        #expect(risk.level == "low")
        #expect(risk["reasons"] == "other-suffix")
        #expect(risk["suspected"] == "barclays.co.uk")
        #expect(risk["action"] == "accept")
    }
}
