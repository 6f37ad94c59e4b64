/// Decides how likely a recipient is misdirected: whether its domain looks like one of the
/// protected domains without being one, and which rules say so.
///
/// Pure and immutable: build it once per configuration and share it between connections. The
/// protected and trusted domains are indexed when it is built (see ``ProtectedIndex``), so a
/// recipient costs about the same with 10 or 100,000 of them.
public struct Classifier: Sendable {
    /// Name labels at least this long are also compared at two edits (`double-typo`).
    public static let doubleTypoMinimumLength = 10

    let index: ProtectedIndex
    var suffixes: PublicSuffixList { index.suffixes }
    var confusables: Confusables { index.confusables }

    /// - Parameters:
    ///   - protectedDomains: domains the organisation writes to, or whole suffixes (`mil`):
    ///     look-alikes of these are flagged; the domains themselves and their sub-domains never.
    ///   - trustedDomains: domains never flagged, with their sub-domains (a real partner on `.ml`).
    ///   - suffixes: the public suffix list, to tell names from registry suffixes.
    ///   - confusables: the look-alike skeletons (one may be shared by several classifiers).
    public init(protectedDomains: [String], trustedDomains: [String], suffixes: PublicSuffixList, confusables: Confusables = Confusables()) {
        var entries: [ProtectedIndex.Entry] = []
        var seen = Set<String>()
        for (domains, isTrusted) in [(trustedDomains, true), (protectedDomains, false)] {
            for raw in domains {
                let domain = Self.normalized(raw)
                guard !domain.isEmpty, seen.insert(domain).inserted else { continue }
                let suffix = suffixes.suffix(of: domain)
                entries.append(ProtectedIndex.Entry(
                    domain: domain, isTrusted: isTrusted, isWholeSuffix: suffix == domain,
                    suffixStart: domain.utf8.count - suffix.utf8.count,
                    suffixLabelCount: suffix.utf8.reduce(1) { $0 + ($1 == UInt8(ascii: ".") ? 1 : 0) }))
            }
        }
        index = ProtectedIndex(entries: entries, suffixes: suffixes, confusables: confusables, twoEditMinimumLength: Self.doubleTypoMinimumLength)
    }

    /// Lower-case, without leading or trailing dots, punycode labels decoded.
    static func normalized(_ domain: String) -> String {
        var text = domain.lowercased()
        while text.hasSuffix(".") { text.removeLast() }
        while text.hasPrefix(".") { text.removeFirst() }
        if text.contains("xn--"), let unicode = Confusables.unicodeDomain(text) { text = unicode }
        return text
    }

    /// Bytes held by the index of protected and trusted domains.
    public var indexMemoryFootprint: Int { index.memoryFootprint }

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
            return Self.malformed(nil, givenInput: input, problem: "the address could not be parsed: \(problem)")
        }
    }

    /// Classifies one address (its local part is only used for the suggestion).
    public func classify(_ address: EmailAddress, input: String? = nil) -> RecipientVerdict {
        classify(address, input: input, checkingSuggestions: true)
    }

    private func classify(path: ParsedPath, input: String, checkingSuggestions: Bool) -> RecipientVerdict {
        guard case .address(let address) = path else { return classify(path: path, input: input) }
        return classify(address, input: input, checkingSuggestions: checkingSuggestions)
    }

    private func classify(_ address: EmailAddress, input: String?, checkingSuggestions: Bool) -> RecipientVerdict {
        if address.isAddressLiteral {
            return .clean(address, givenInput: input, note: .text("address literal: no domain to compare"))
        }
        var domain = address.domain
        // One pass over the bytes tells which forms need looking at, and makes them ready for
        // the lookups; punycode labels are decoded first, and the domain looked at again.
        var (findings, traits) = scanRaw(domain, decodingPunycode: true)
        if traits.hasPunycode {
            guard let unicode = Confusables.unicodeDomain(domain) else {
                return Self.malformed(address, givenInput: input, problem: "\(domain) has a label that is not valid punycode (IDNA2008)")
            }
            domain = unicode
            (findings, traits) = scanRaw(domain, decodingPunycode: false)
        }
        if let note = findings.cleanNote { return .clean(address, givenInput: input, note: note) }

        if traits.hasNonASCII {
            for label in domain.split(separator: ".") where confusables.isMixedScript(String(label)) {
                findings.add(Finding(
                    rule: .mixedScript, score: 0.6, suspected: nil,
                    explanation: .text("the label \(label) of \(domain) mixes writing systems (look-alike letters)")))
                break
            }
            let skeleton = confusables.skeleton(domain)
            skeleton.withUnsafeBufferPointer { bytes in scan(bytes, domain: domain, shown: domain, path: .skeleton, into: &findings) }
        } else if traits.needsFolding {
            Confusables.foldASCII(Array(domain.utf8)).withUnsafeBufferPointer { bytes in
                scan(bytes, domain: domain, shown: domain, path: .skeleton, into: &findings)
            }
        }
        return findings.verdict(address: address, givenInput: input) { suggestion in
            // Never suggest what would be flagged (a name under `mil` can look like another
            // protected domain there); checked without checking its own suggestions.
            checkingSuggestions && classify(path: EmailAddress.parseAddressOrDomain(suggestion), input: suggestion, checkingSuggestions: false).level == .none
        }
    }

    /// The domain's traits, and what its bytes as they are match: nothing yet when it has
    /// punycode labels to decode first (`decodingPunycode`).
    private func scanRaw(_ domain: String, decodingPunycode: Bool) -> (Findings, DomainTraits) {
        var utf8 = domain
        return utf8.withUTF8 { bytes in
            guard bytes.count <= 253 else { return (Findings(), DomainTraits(bytes)) }
            // The prefix hashes and labels serve both the clean check and the scan.
            return DomainBytes.with(bytes) { prepared in
                var findings = Findings()
                if decodingPunycode && prepared.traits.hasPunycode {
                    // Decoded and looked at again by the caller.
                } else {
                    let entry = index.cleanEntry(for: prepared)
                    if let entry, !entry.isWholeSuffix || entry.isTrusted || prepared.count == entry.domain.utf8.count {
                        findings.cleanNote = entry.note
                        return (findings, prepared.traits)
                    }
                    // Under a whole protected suffix only (`arny.mil` with `mil` and `army.mil`
                    // protected), a name is still compared with the protected domains under
                    // that suffix, and is clean only if it looks like none of them.
                    findings.protectedSuffix = entry?.domain
                    scan(prepared, domain: domain, shown: domain, path: .raw, into: &findings)
                    if findings.isEmpty { scanNames(prepared, domain: domain, into: &findings) }
                }
                return (findings, prepared.traits)
            }
        }
    }

    static func malformed(_ address: EmailAddress?, givenInput: String?, problem: String) -> RecipientVerdict {
        RecipientVerdict(address: address, givenInput: givenInput, suspectedDomain: nil, reasons: [Reason(rule: .malformedAddress, score: 0.6, explanation: problem)])
    }

    /// True when `domain` is `parent` or a sub-domain of it.
    static func isSame(_ domain: String, orUnder parent: String) -> Bool {
        domain == parent || (domain.hasSuffix(parent) && domain.utf8.dropLast(parent.utf8.count).last == UInt8(ascii: "."))
    }
}

/// A finding on the way to a verdict.
struct Finding {
    let rule: Rule
    let score: Double
    /// The domain the sender probably meant.
    let suspected: String?
    let explanation: Explanation
    /// True when ``suspected`` is a name under a whole protected suffix (`vukdouarmy.mil` for
    /// `vukdouarmy.mll`), which may itself be flagged: checked before it is suggested.
    var suggestionNeedsCheck = false
}

extension Classifier {
    /// Only a real domain is suggested: one built from a long name can pass 253 octets, a
    /// skeleton can hold what no domain can, and one edit from a name can make an `xn--` label
    /// that is not punycode.
    static func isSuggestible(_ domain: String) -> Bool {
        guard case .success = EmailAddress.normalizeDomain(Array(domain.utf8)) else { return false }
        return !domain.contains("xn--") || Confusables.unicodeDomain(domain) != nil
    }
}

/// What a finding says, put into words only for the findings a verdict keeps: a recipient can
/// match several keys, and most matches lose to a stronger one of the same rule.
enum Explanation {
    /// Where ``holds(_:_:_:)`` found the protected domain.
    enum Placement {
        case reversed, dotsChanged, inside
        /// Whole labels followed by another suffix: `hmrc.gov.uk.com`.
        case beforeSuffix
    }

    /// `shown` looks like a misspelling of `suspected`.
    case misspelling(String, String)
    /// The same, at two edits.
    case twoSlips(String, String)
    case lookAlikeCharacters(String, String)
    /// The same, found through the skeleton: `suspected` may not be a domain, then `protected`
    /// is named instead.
    case lookAlikeSkeleton(String, String, String)
    /// `shown` holds the protected `domain` in another shape.
    case holds(String, String, Placement)
    case punctuation(String, String)
    case bitFlip(String, String)
    /// `shown` has the name of the protected `domain` under `suffix`, another suffix.
    case otherSuffix(String, String, String)
    case text(String)

    var text: String {
        switch self {
        case .misspelling(let shown, let suspected): Self.joined(shown, " looks like a misspelling of ", suspected)
        case .twoSlips(let shown, let suspected): Self.joined(shown, " looks like a misspelling of ", suspected, " (two slips)")
        case .lookAlikeCharacters(let shown, let suspected): Self.joined(shown, " looks like ", suspected, " written with look-alike characters")
        case .lookAlikeSkeleton(let shown, let suspected, let protected):
            Classifier.isSuggestible(suspected)
                ? Self.joined(shown, " looks like ", suspected, " written with look-alike characters")
                : Self.joined(shown, " looks like a name under ", protected, " written with look-alike characters")
        case .holds(let shown, let domain, .reversed): Self.joined(shown, " holds ", domain, " with its labels reversed")
        case .holds(let shown, let domain, .dotsChanged): Self.joined(shown, " holds ", domain, " with its dots dropped or turned into hyphens")
        case .holds(let shown, let domain, .inside): Self.joined(shown, " holds ", domain, " inside a longer name")
        case .holds(let shown, let domain, .beforeSuffix): Self.joined(shown, " holds ", domain, " followed by another suffix")
        case .punctuation(let shown, let suspected):
            Self.joined(shown, " looks like ", suspected, " with a dot or hyphen added, dropped or changed")
        case .bitFlip(let shown, let suspected): Self.joined(shown, " is ", suspected, " with one bit flipped")
        case .otherSuffix(let shown, let domain, let suffix):
            Self.joined(shown, " has the name of ", domain, " under another suffix (." + suffix + ")")
        case .text(let text): text
        }
    }

    /// The parts one after the other, in a string made at its final size (interpolation grows
    /// its result piece by piece, at a quarter more instructions).
    private static func joined(_ a: String, _ b: String, _ c: String, _ d: String = "") -> String {
        var text = String()
        text.reserveCapacity(a.utf8.count + b.utf8.count + c.utf8.count + d.utf8.count)
        text.append(a)
        text.append(b)
        text.append(c)
        text.append(d)
        return text
    }
}

/// The findings for one recipient: the strongest per rule, or why it is clean.
struct Findings {
    private(set) var items: [Finding] = []
    /// Set when the recipient is a trusted or protected domain (or under one).
    var cleanNote: RecipientVerdict.Note?
    var isTrusted = false
    /// The whole protected suffix the recipient is under (`mil` for `arny.mil`), when no more
    /// specific entry is: only look-alikes of other protected domains count then.
    var protectedSuffix: String?

    var isEmpty: Bool { items.isEmpty }

    /// Adds a finding whose suggestion is a name under a whole protected suffix when
    /// `underWholeSuffix` (see ``Finding/suggestionNeedsCheck``).
    mutating func add(_ underWholeSuffix: Bool, _ finding: Finding) {
        var finding = finding
        finding.suggestionNeedsCheck = underWholeSuffix
        add(finding)
    }

    mutating func add(_ finding: Finding) {
        if let index = items.firstIndex(where: { $0.rule == finding.rule }) {
            if items[index].score < finding.score { items[index] = finding }
        } else {
            items.append(finding)
        }
    }

    /// - Parameter accepts: whether a suggestion that needs a check may be made.
    func verdict(address: EmailAddress, givenInput: String?, accepts: (String) -> Bool) -> RecipientVerdict {
        guard !items.isEmpty else {
            guard let protectedSuffix else { return .clean(address, givenInput: givenInput) }
            return .clean(address, givenInput: givenInput, note: .domain(protectedSuffix, isTrusted: false))
        }
        // On a tie, the shorter suggestion first: `army.mil` rather than `mil.army.mil` for
        // `mil.army.ml`; the verdict keeps this order among equal scores.
        let ordered = items.count == 1 ? items : items.sorted { a, b in
            a.score != b.score ? a.score > b.score : (a.suspected?.utf8.count ?? 999) < (b.suspected?.utf8.count ?? 999)
        }
        var suspected: String?
        for finding in ordered {
            guard let candidate = finding.suspected, Classifier.isSuggestible(candidate) else { continue }
            if !finding.suggestionNeedsCheck || accepts(candidate) {
                suspected = candidate
                break
            }
        }
        // Under a whole protected suffix, say so: the name is in the organisation's own space
        // (a restricted registry such as `mil` or `gov.uk`), but it is not one of the listed
        // domains. The level stays: mail to a mistyped name there bounces or reaches the wrong
        // office, and a refusal at RCPT tells the sender at once instead of hours later.
        var reasons = ordered.map { Reason(rule: $0.rule, score: $0.score, explanation: $0.explanation.text) }
        if let protectedSuffix {
            reasons[0] = Reason(
                rule: reasons[0].rule, score: reasons[0].score,
                explanation: reasons[0].explanation + "; it is under the protected suffix \(protectedSuffix) but is not listed itself")
        }
        return RecipientVerdict(address: address, givenInput: givenInput, suspectedDomain: suspected, reasons: reasons)
    }
}
