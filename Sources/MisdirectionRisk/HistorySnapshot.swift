/// What the organisation's past mail says about recipient domains, as values, for the history
/// rules `first-contact` and `established`. Built off the SMTP path from the correspondent
/// store (the `CorrespondentHistory` target) and shared, immutable, by every session; a
/// recipient costs a few dictionary lookups, plus one look-up in the index of established
/// domains when nothing else flagged it.
///
/// - `established`: a recipient whose domain is itself an established correspondent has a
///   weak finding (`other-suffix`, `mixed-script`) dropped to `none` (`low` for the others),
///   unless the domain it looks like gets ``typoRatio`` times as many messages: then it is a
///   frequent typo, and stays as it was. A look-alike of a protected domain (typo, homoglyph,
///   suffix confusion, …) is never lowered on history alone, however often it was written to:
///   `army.ml` was written to for ten years. A real partner there goes in `trusted`.
/// - `first-contact`: a recipient domain that is not (yet) an established correspondent and
///   looks like one that is: raises a look-alike one level, or flags an unflagged one `medium`
///   with the established correspondent as the suspected domain.
public final class HistorySnapshot: Sendable {
    /// The score a look-alike at an established correspondent drops to (`low`).
    public static let establishedScore = 0.3
    /// The highest score `first-contact` gives a recipient nothing else flagged (`medium`):
    /// learned domains are not curated like protected ones.
    public static let firstContactScore = 0.7

    /// Facts by recipient domain (keys from ``domainKey(_:)``).
    public let facts: [String: CorrespondentFacts]
    public let threshold: EstablishedThreshold
    /// A look-alike is a frequent typo, not a partner, when the domain it looks like gets at
    /// least this many times its messages; 0 turns the check off.
    public let typoRatio: Int
    /// The established correspondents, sorted.
    public let establishedDomains: [String]
    private let index: Classifier?
    private let suffixes: PublicSuffixList

    /// A recipient domain as history knows it.
    public struct Correspondent: Sendable, Hashable {
        /// The domain the facts are about: the recipient's own, or a parent of it up to its
        /// registrable domain.
        public let domain: String
        public let facts: CorrespondentFacts
        public let isEstablished: Bool
    }

    /// - Parameters:
    ///   - facts: per recipient domain, as the store aggregates them.
    ///   - classifier: the engine's classifier, whose suffix list and look-alike skeletons the
    ///     index of established domains shares.
    public init(facts: [String: CorrespondentFacts], threshold: EstablishedThreshold = EstablishedThreshold(), typoRatio: Int = 100, like classifier: Classifier) {
        self.facts = facts
        self.threshold = threshold
        self.typoRatio = typoRatio
        suffixes = classifier.suffixes
        // A whole public suffix is never a correspondent: it would make every name near it one.
        establishedDomains = facts.filter { threshold.isMet(by: $0.value) && !$0.key.hasPrefix("[") && !classifier.suffixes.isSuffix($0.key) }
            .keys.sorted()
        index = establishedDomains.isEmpty ? nil : Classifier(
            protectedDomains: establishedDomains, trustedDomains: [], suffixes: classifier.suffixes, confusables: classifier.confusables)
    }

    /// No history: every rule of it is silent.
    public convenience init(like classifier: Classifier) {
        self.init(facts: [:], like: classifier)
    }

    /// The key a recipient domain is recorded and looked up under: lower-case, no trailing dot,
    /// punycode labels decoded.
    public static func domainKey(_ domain: String) -> String {
        Classifier.normalized(domain)
    }

    /// What history knows of `domain` (a key): the closest of it and its parents up to the
    /// registrable domain that is established, else the closest known one.
    public func correspondent(for domain: String) -> Correspondent? {
        guard !facts.isEmpty else { return nil }
        var closest: Correspondent?
        let registrable = suffixes.registrableDomain(of: domain)
        var name = Substring(domain)
        while true {
            if let found = facts[String(name)] {
                let known = Correspondent(domain: String(name), facts: found, isEstablished: threshold.isMet(by: found))
                if known.isEstablished { return known }
                if closest == nil { closest = known }
            }
            guard let registrable, name != registrable, let dot = name.firstIndex(of: ".") else { break }
            name = name[name.index(after: dot)...]
        }
        return closest
    }

    /// The verdict with what history says added.
    /// - Parameter lowering: false when `established` runs in log-only mode: the drop to `low`
    ///   is reported, not made.
    public func assess(_ verdict: RecipientVerdict, lowering: Bool = true) -> RecipientVerdict {
        guard !facts.isEmpty, let address = verdict.address, !address.isAddressLiteral, !verdict.hasNote else { return verdict }
        let domain = Self.domainKey(address.domain)
        let own = correspondent(for: domain)
        let meant = verdict.suspectedDomain.flatMap { correspondent(for: Self.domainKey($0)) }
        if verdict.level > .none {
            if let own, own.isEstablished {
                if verdict.rules.contains(where: \.findsProtectedLookAlike) {
                    let reason = Reason(
                        rule: .established, score: 0,
                        explanation: "\(own.domain) is an established correspondent (\(own.facts.summary)), but a look-alike of a protected domain is not lowered on history alone: list it under trusted if it is a real partner")
                    return verdict.adding([reason])
                }
                if let meant, typoRatio > 0, Self.isFrequentTypo(meant: meant.facts.messages, own: own.facts.messages, ratio: typoRatio) {
                    return verdict
                }
                return lowered(verdict, own: own, lowering: lowering)
            }
            guard let meant, meant.isEstablished, !verdict.isReportOnly else { return verdict }
            let reason = Reason(
                rule: .firstContact, score: Classifier.raisedScore(verdict.score),
                explanation: "\(Self.contact(domain, own)), while \(meant.domain) is an established correspondent (\(meant.facts.summary)): one level higher")
            return verdict.adding([reason])
        }
        // Nothing else flagged it: does it look like an established correspondent?
        guard own?.isEstablished != true, let index else { return verdict }
        let lookalike = index.classify(address)
        guard lookalike.level >= .medium, let real = lookalike.suspectedDomain, let first = lookalike.reasons.first,
              let established = correspondent(for: Self.domainKey(real)), established.isEstablished
        else { return verdict }
        let reason = Reason(
            rule: .firstContact, score: min(lookalike.score, Self.firstContactScore),
            explanation: "\(first.explanation), an established correspondent (\(established.facts.summary)); \(Self.contact(domain, own))")
        return RecipientVerdict(address: address, input: verdict.input, suspectedDomain: real, reasons: [reason])
    }

    private static func contact(_ domain: String, _ own: Correspondent?) -> String {
        guard let own else { return "first message to \(domain)" }
        return "\(own.domain) is not an established correspondent yet (\(own.facts.summary))"
    }

    private func lowered(_ verdict: RecipientVerdict, own: Correspondent, lowering: Bool) -> RecipientVerdict {
        let fact = "\(own.domain) is an established correspondent (\(own.facts.summary))"
        // The same name under another suffix, written to as a correspondent, is no finding.
        let cap = verdict.rules.allSatisfy { $0 == .otherSuffix } ? 0 : Self.establishedScore
        guard lowering else {
            return verdict.adding([Reason(rule: .established, score: 0, explanation: "\(fact): would be lowered to \(RiskLevel(score: min(verdict.score, cap))) (log-only)")])
        }
        let reasons = verdict.reasons.map { Reason(rule: $0.rule, score: min($0.score, cap), explanation: $0.explanation) }
        return RecipientVerdict(
            address: verdict.address, input: verdict.input, suspectedDomain: verdict.suspectedDomain,
            reasons: reasons + [Reason(rule: .established, score: min(verdict.score, cap), explanation: "\(fact): lowered to \(RiskLevel(score: min(verdict.score, cap)))")],
            namedAddress: verdict.namedAddress)
    }

    /// Whether the domain a look-alike resembles got at least `ratio` times its messages; a
    /// product too large for `Int` is simply "no".
    static func isFrequentTypo(meant: Int, own: Int, ratio: Int) -> Bool {
        let (needed, overflow) = ratio.multipliedReportingOverflow(by: own)
        return !overflow && meant >= needed
    }
}
