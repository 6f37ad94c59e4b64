// The classifier and policy: one recipient per input line against the packaged protection, and
// the first line's comma-separated domains as a protected list of their own.
import FuzzSupport
import Milter
import MisdirectionRisk

fuzz { bytes in
    let fields = lines(bytes, maximum: 8)
    // Protected domains from the input, as the configuration loader would accept them.
    let protected = fields[0].split(separator: UInt8(ascii: ",")).compactMap { field -> String? in
        guard case .success(let domain) = EmailAddress.normalizeDomain(Array(field)), !domain.hasPrefix("[") else { return nil }
        return domain
    }
    for recipient in fields.dropFirst() {
        check(Fixtures.classifier, recipient, protected: Fixtures.protected, trusted: Fixtures.trusted)
    }
    guard !protected.isEmpty else { return }
    let own = Classifier(protectedDomains: protected, trustedDomains: [], suffixes: Fixtures.suffixes)
    for recipient in fields.dropFirst() {
        check(own, recipient, protected: protected, trusted: [])
    }
}

func check(_ classifier: Classifier, _ recipient: [UInt8], protected: [String], trusted: [String]) {
    let input = String(decoding: recipient, as: UTF8.self)
    let verdict = classifier.classify(path: EmailAddress.parsePath(recipient), input: input)
    require((0...1).contains(verdict.score), "score \(verdict.score)", input: recipient)
    require((verdict.level == .none) == verdict.reasons.isEmpty, "level \(verdict.level) with reasons \(verdict.rules)", input: recipient)
    if let address = verdict.address, verdict.level > .none {
        let domain = address.domain
        // Under a protected or trusted domain only a name that is not valid (bad punycode) is flagged.
        if (protected + trusted).contains(where: { isSame(domain, orUnder: $0) }) {
            require(verdict.rules == [.malformedAddress], "\(domain) is protected or trusted yet flagged \(verdict.rules)", input: recipient)
            return
        }
        // Two rules flag a name without suspecting a particular domain: mixed-script, and
        // malformed-address for a label that is not valid punycode.
        if let suspected = verdict.suspectedDomain {
            require(suspected != domain && protected.contains { isSame(suspected, orUnder: $0) }, "suspected \(suspected) is not protected", input: recipient)
        } else {
            require(verdict.rules.allSatisfy { $0 == .mixedScript || $0 == .malformedAddress }, "flagged by \(verdict.rules) without a suspected domain", input: recipient)
        }
        if let suggestion = verdict.suggestedAddress {
            // The suggestion is itself an address the classifier lets through.
            let again = classifier.classify(path: EmailAddress.parsePath("<\(suggestion)>".utf8), input: suggestion.description)
            require(again.level == .none, "the suggestion \(suggestion) is flagged \(again.level)", input: recipient)
        }
    }
    for mode in [Mode.enforce, .logOnly] {
        let decision = Policy(mode: mode).decide(verdict)
        // The refusal text stays one printable line: nothing a sender writes adds a reply line.
        let reply = SMTPReply(code: "550", enhancedCode: "5.7.1", text: decision.explanation)
        require(reply?.lines.count == 1, "explanation is not one line: \(decision.explanation)", input: recipient)
        require(mode == .enforce || !decision.effectiveAction.refuses, "log-only refuses", input: recipient)
    }
}

func isSame(_ domain: String, orUnder parent: String) -> Bool {
    domain == parent || domain.hasSuffix("." + parent)
}
