import Milter
import MisdirectionRisk
import Testing
import MisdirectMilterKit

struct MisdirectionSessionTests {
    static let classifier = Classifier(protectedDomains: ["mil"], trustedDomains: [], suffixes: PublicSuffixList(rules: ["mil", "ml"]))

    static func decision(_ path: String, policy: Policy = Policy()) -> Decision {
        policy.decide(classifier.classify(path: EmailAddress.parsePath(path.utf8), input: path))
    }

    @Test("a refusal is one printable line of at most 512 octets, whatever the recipient", arguments: [
        "<" + String(repeating: "é", count: 300) + "@army.ml>",
        "<" + String(repeating: "x", count: 2000) + "@army.ml>",
        "<\"%s%n\\\"\"@army.ml>",
        "<a@army.ml\r\n250 fake>",
    ])
    func replyLine(path: String) {
        for policy in [Policy(), Policy(actions: [.high: .tempfail, .medium: .tempfail])] {
            let reply = MisdirectionSession.reply(for: Self.decision(path, policy: policy))
            #expect(reply.lines.count == 1)
            let line = "\(reply.code) \(reply.enhancedCode ?? "") \(reply.lines[0])\r\n"
            #expect(line.utf8.count <= 512)
            #expect(line.utf8.dropLast(2).allSatisfy { $0 >= 0x20 && $0 < 0x7F })
        }
    }

    @Test("the end-of-message refusal keeps every line printable and within 512 octets")
    func messageReplyLines() {
        let decisions = ["<" + String(repeating: "é", count: 600) + "@army.ml>", "<" + String(repeating: "x", count: 1500) + "@army.ml>", "<j@army.ml>"]
            .map { Self.decision($0) }
        let reply = MisdirectionSession.messageReply(for: decisions)
        #expect(reply.lines.count == 4)
        for line in reply.lines {
            let wire = "\(reply.code)-\(reply.enhancedCode ?? "") \(line.replacingOccurrences(of: "%%", with: "%"))\r\n"
            #expect(wire.utf8.count <= 512)
            #expect(wire.utf8.dropLast(2).allSatisfy { $0 >= 0x20 && $0 < 0x7F })
        }
        #expect(reply.lines[3].hasSuffix("[suffix-confusion]"))
    }
}
