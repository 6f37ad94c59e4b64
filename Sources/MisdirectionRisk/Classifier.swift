/// Decides how likely a recipient is misdirected: whether its domain looks like one of the
/// protected domains without being one.
///
/// Pure and immutable: build it once per configuration and share it between connections.
public struct Classifier: Sendable {
    /// A protected entry, prepared once.
    struct Protected: Sendable {
        let domain: String
        let bytes: [UInt8]
        let labels: [String]
        /// True for a whole public suffix (`mil`, `gov.uk`): every name under it is protected.
        let isWholeSuffix: Bool
        /// Labels of the name in front of the suffix (`army` for `army.mil`).
        let nameLabels: [String]
    }

    let protected: [Protected]
    let trusted: [String]
    let suffixes: PublicSuffixList

    /// - Parameters:
    ///   - protectedDomains: domains the organisation writes to, or whole suffixes (`mil`):
    ///     look-alikes of these are flagged; the domains themselves and their sub-domains never.
    ///   - trustedDomains: domains never flagged, with their sub-domains (a real partner on `.ml`).
    ///   - suffixes: the public suffix list, to tell names from registry suffixes.
    public init(protectedDomains: [String], trustedDomains: [String], suffixes: PublicSuffixList) {
        self.suffixes = suffixes
        self.trusted = trustedDomains.map(Self.normalized)
        self.protected = protectedDomains.map(Self.normalized).map { domain in
            let labels = domain.split(separator: ".").map(String.init)
            let suffix = suffixes.suffix(of: domain)
            let suffixLabelCount = suffix.split(separator: ".").count
            return Protected(
                domain: domain, bytes: Array(domain.utf8), labels: labels,
                isWholeSuffix: suffix == domain,
                nameLabels: Array(labels.dropLast(suffixLabelCount)))
        }
    }

    private static func normalized(_ domain: String) -> String {
        var text = domain.lowercased()
        if text.hasSuffix(".") { text.removeLast() }
        if text.hasPrefix(".") { text.removeFirst() }
        return text
    }

    /// Classifies a recipient path as the MTA gave it (see ``EmailAddress/parsePath(_:)``).
    public func classify(path: ParsedPath, input: String) -> RecipientVerdict {
        switch path {
        case .address(let address):
            return classify(address, input: input)
        case .null:
            return .clean(nil, input: input, note: "null path")
        case .localOnly:
            return .clean(nil, input: input, note: "local name without a domain")
        case .malformed(let problem):
            return RecipientVerdict(
                address: nil, input: input, level: .medium, score: 0.6, suspectedDomain: nil,
                reasons: [Reason(rule: .malformedAddress, explanation: "the address could not be parsed: \(problem)")])
        }
    }

    /// Classifies one address (its local part is only used for the suggestion).
    public func classify(_ address: EmailAddress, input: String? = nil) -> RecipientVerdict {
        let input = input ?? address.description
        let domain = address.domain
        if address.isAddressLiteral {
            return .clean(address, input: input, note: "address literal: no domain to compare")
        }
        if let entry = trusted.first(where: { Self.isSame(domain, orUnder: $0) }) {
            return .clean(address, input: input, note: "trusted domain \(entry)")
        }
        if let entry = protected.first(where: { Self.isSame(domain, orUnder: $0.domain) }) {
            return .clean(address, input: input, note: "protected domain \(entry.domain)")
        }
        let labels = domain.split(separator: ".").map(String.init)
        var best: Finding?
        for entry in protected {
            guard let finding = match(labels, against: entry) else { continue }
            if best == nil || finding.score > best!.score { best = finding }
        }
        guard let best else { return .clean(address, input: input) }
        return RecipientVerdict(
            address: address, input: input, level: RiskLevel(score: best.score), score: best.score,
            suspectedDomain: best.suspected, reasons: [Reason(rule: best.rule, explanation: best.explanation(domain))])
    }

    struct Finding {
        let rule: Rule
        let score: Double
        let suspected: String

        func explanation(_ domain: String) -> String {
            "\(domain) looks like a misspelling of \(suspected)"
        }
    }

    /// Compares the recipient's last labels with a protected entry of as many labels.
    private func match(_ labels: [String], against entry: Protected) -> Finding? {
        let count = entry.labels.count
        guard labels.count >= count else { return nil }
        let tail = labels.suffix(count)
        let head = labels.dropLast(count)
        let tailBytes = Array(tail.joined(separator: ".").utf8)
        guard EditDistance.distance(tailBytes, entry.bytes, limit: 1) == 1 else { return nil }
        // A slip of the first character of a label is a much rarer typo than one further in
        // (and turns `.mil` into Israel's real `.il`): medium rather than high.
        let score = Self.editStartsLabel(tailBytes, entry.bytes) ? 0.7 : 0.95
        if entry.isWholeSuffix {
            // Any name under a suffix one edit from a protected suffix: `anything.ml` for `mil`.
            guard !head.isEmpty else { return nil }
            let name = head.joined(separator: ".")
            let suspected = name.hasSuffix("." + entry.domain) || name == entry.domain ? name : "\(name).\(entry.domain)"
            return Finding(rule: .suffixConfusion, score: score, suspected: suspected)
        }
        let suspected = (head + [entry.domain]).joined(separator: ".")
        let sameName = Array(tail.prefix(entry.nameLabels.count)) == entry.nameLabels
        return sameName
            ? Finding(rule: .suffixConfusion, score: score, suspected: suspected)
            : Finding(rule: .typo, score: score - 0.05, suspected: suspected)
    }

    /// True when the first difference between the two names is at the start of a label.
    static func editStartsLabel(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var index = 0
        while index < a.count, index < b.count, a[index] == b[index] { index += 1 }
        return index == 0 || a[index - 1] == UInt8(ascii: ".")
    }

    /// True when `domain` is `parent` or a sub-domain of it.
    static func isSame(_ domain: String, orUnder parent: String) -> Bool {
        domain == parent || (domain.hasSuffix(parent) && domain.utf8.dropLast(parent.utf8.count).last == UInt8(ascii: "."))
    }
}
