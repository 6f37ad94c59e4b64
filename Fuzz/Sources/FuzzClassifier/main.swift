// The classifier and policy: one recipient per input line against the packaged protection, and
// the first line's comma-separated domains as a protected list of their own.
import FuzzSupport
import Milter
import MisdirectionRisk
import Synchronization

/// Classifiers already built for a protected list. libFuzzer mostly changes one part of an input
/// at a time, so the first line comes back often, and building its index was most of the time
/// of an execution. Kept small: a bounded cache, emptied when full.
enum Recent {
    static let classifiers = Mutex<[[String]: Classifier]>([:])

    static func classifier(protecting protected: [String]) -> Classifier {
        if let known = classifiers.withLock({ $0[protected] }) { return known }
        let built = Classifier(protectedDomains: protected, trustedDomains: [], suffixes: Fixtures.suffixes)
        classifiers.withLock { cache in
            if cache.count >= 256 { cache.removeAll(keepingCapacity: true) }
            cache[protected] = built
        }
        return built
    }
}

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
    let own = Recent.classifier(protecting: protected)
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
        // Compared as the classifier compares them: punycode labels decoded.
        let domain = unicode(address.domain)
        let protected = protected.map(unicode)
        let trusted = trusted.map(unicode)
        // Under a trusted domain or a specific protected one only a name that is not valid (bad
        // punycode) is flagged; under a whole protected suffix only (`mil`), a name may be a
        // look-alike of another protected domain there (`arny.mil`), and then says so.
        let wholeSuffixes = protected.filter { Fixtures.suffixes.isSuffix($0) }
        if (protected.filter { !wholeSuffixes.contains($0) } + trusted).contains(where: { isSame(domain, orUnder: $0) }) {
            require(verdict.rules == [.malformedAddress], "\(domain) is protected or trusted yet flagged \(verdict.rules)", input: recipient)
            return
        }
        if let suffix = wholeSuffixes.filter({ isSame(domain, orUnder: $0) }).max(by: { $0.utf8.count < $1.utf8.count }) {
            require(
                verdict.rules == [.malformedAddress] || verdict.reasons.first?.explanation.contains("is under the protected suffix \(suffix)") == true,
                "\(domain) under the protected suffix \(suffix) is flagged without saying so: \(verdict.reasons)", input: recipient)
        }
        // A suspected domain, when there is one, is a valid domain under a protected one (a
        // finding whose would-be suggestion is not a domain suggests nothing).
        if let suspected = verdict.suspectedDomain {
            require(suspected != domain && protected.contains { isSame(suspected, orUnder: $0) }, "suspected \(suspected) is not protected", input: recipient)
            require(EmailAddress.normalizeDomain(Array(suspected.utf8)) == .success(suspected), "suspected \(suspected) is not a domain", input: recipient)
        }
        if let suggestion = verdict.suggestedAddress {
            // The suggestion is an address; for a plain LDH name (what real typos are) it is one
            // the classifier lets through. Folded look-alikes of odd Unicode may suggest odd names.
            let path = EmailAddress.parsePath("<\(suggestion)>".utf8)
            guard case .address = path else {
                require(false, "the suggestion \(suggestion) is not an address", input: recipient)
                return
            }
            let plain = domain.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D || $0 == 0x2E } && !domain.contains("xn--")
            let again = classifier.classify(path: path, input: suggestion.description)
            require(!plain || again.level == .none, "the suggestion \(suggestion) is flagged \(again.level)", input: recipient)
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

func unicode(_ domain: String) -> String {
    domain.contains("xn--") ? Confusables.unicodeDomain(domain) ?? domain : domain
}
