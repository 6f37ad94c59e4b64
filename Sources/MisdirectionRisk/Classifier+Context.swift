/// The recipients of one message re-read at end of message, with what its headers say.
public struct MessageAssessment: Sendable, Hashable {
    /// One verdict per recipient, in the order given, with context reasons added.
    public let verdicts: [RecipientVerdict]
    /// Verdicts on Reply-To addresses that look like a protected domain (rule `reply-to`).
    public let replyTo: [RecipientVerdict]
}

extension Classifier {
    /// Adds what the message's context says to each recipient's verdict:
    /// - `odd-one-out`: a look-alike while other recipients or the sender are at the real
    ///   domain raises the level; a recipient whose domain looks like a domain more of the
    ///   message's addresses (or the sender) use is flagged `medium`;
    /// - `display-name`: the display name names another domain or address;
    /// - `reply-to`: a Reply-To that looks like a protected domain;
    /// - `sensitivity` and `attachment`: each raises every flagged recipient one level.
    /// Levels only go up.
    public func assess(_ verdicts: [RecipientVerdict], context: MessageContext) -> MessageAssessment {
        let references = referenceDomains(verdicts, context: context)
        // Recipients with the same count compare against the same stronger domains: one index
        // for them all (five recipients at army.mil from example.org built it five times). With
        // at most MessageContext.maximumAddresses header addresses there are few distinct counts.
        var lookalikeIndexes: [StrongerKey: Classifier?] = [:]
        var result = verdicts.map { verdict in
            let (reasons, real) = oddOneOut(verdict, references: references, indexes: &lookalikeIndexes)
            return verdict.adding(reasons, suspectedDomain: real)
        }
        // Display names by address, once per message rather than a pass over every mailbox for
        // each recipient.
        var displayNames: [EmailAddress: [String]] = [:]
        for mailbox in context.recipients where !mailbox.displayName.isEmpty {
            if let address = mailbox.address { displayNames[address, default: []].append(mailbox.displayName) }
        }
        result = result.map { verdict in
            let (reasons, named) = displayNameReasons(verdict, displayNames: displayNames)
            return verdict.adding(reasons, suspectedDomain: named?.domain, namedAddress: named)
        }
        var replyTo: [RecipientVerdict] = []
        for mailbox in context.replyTo {
            guard let address = mailbox.address else { continue }
            let verdict = classify(address)
            guard verdict.level > .none, let first = verdict.reasons.first else { continue }
            replyTo.append(RecipientVerdict(
                address: address, input: address.description, suspectedDomain: verdict.suspectedDomain,
                reasons: [Reason(rule: .replyTo, score: verdict.score, explanation: "replies would go to \(address): \(first.explanation)")]))
        }
        for (rule, cause) in [(Rule.sensitivity, context.markings.first.map { "the message is marked \($0)" }),
                              (Rule.attachment, context.attachmentHint.map { "the message carries attachments (\($0))" })] {
            guard let cause else { continue }
            result = result.map { Self.raise($0, rule: rule, cause: cause) }
            replyTo = replyTo.map { Self.raise($0, rule: rule, cause: cause) }
        }
        return MessageAssessment(verdicts: result, replyTo: replyTo)
    }

    /// The score one level up: `low` → `medium`, `medium` → `high`; `high` stays.
    static func raisedScore(_ score: Double) -> Double {
        switch RiskLevel(score: score) {
        case .none, .high: score
        case .low: max(score, 0.5)
        case .medium: max(score, 0.8)
        }
    }

    private static func raise(_ verdict: RecipientVerdict, rule: Rule, cause: String) -> RecipientVerdict {
        guard verdict.level > .none, !verdict.isReportOnly else { return verdict }
        let raised = raisedScore(verdict.score)
        return verdict.adding([Reason(rule: rule, score: raised, explanation: "\(cause): one level higher")])
    }

    /// Domains the message really goes to or comes from, with how many addresses use each.
    struct References {
        var counts: [String: Int] = [:]
        var senders: Set<String> = []
        /// Every domain of `counts` and `senders`, sorted: computed once per message.
        var sorted: [String] = []
        /// The sorted domains by their registrable domain.
        var byRegistrable: [String: [String]] = [:]
    }

    /// What a set of stronger domains depends on: the recipient's own count, and its own domain
    /// when that is a sender's (then left out).
    struct StrongerKey: Hashable {
        let count: Int
        let excludedSender: String?
    }

    private func referenceDomains(_ verdicts: [RecipientVerdict], context: MessageContext) -> References {
        var references = References()
        var addresses = Set<EmailAddress>()
        for verdict in verdicts where verdict.level == .none {
            if let address = verdict.address, !address.isAddressLiteral { addresses.insert(address) }
        }
        for mailbox in context.recipients {
            if let address = mailbox.address, !address.isAddressLiteral { addresses.insert(address) }
        }
        for address in addresses { references.counts[address.domain, default: 0] += 1 }
        for address in [context.sender].compactMap({ $0 }) + context.from.compactMap(\.address) where !address.isAddressLiteral {
            references.senders.insert(address.domain)
        }
        references.sorted = references.senders.union(references.counts.keys).sorted()
        for domain in references.sorted {
            references.byRegistrable[suffixes.registrableDomain(of: domain) ?? domain, default: []].append(domain)
        }
        return references
    }

    /// - Parameter indexes: classifiers already built in this message, by protected domains.
    private func oddOneOut(
        _ verdict: RecipientVerdict, references: References, indexes: inout [StrongerKey: Classifier?]
    ) -> ([Reason], String?) {
        guard let address = verdict.address, !address.isAddressLiteral else { return ([], nil) }
        let own = address.domain
        if verdict.isReportOnly { return ([], nil) }
        if verdict.level > .none, let suspected = verdict.suspectedDomain {
            let wanted = suffixes.registrableDomain(of: suspected) ?? suspected
            guard let real = references.byRegistrable[wanted]?.first(where: { $0 != own }) else { return ([], nil) }
            let who = references.senders.contains(real) ? "the sender is" : "other recipients are"
            return ([Reason(rule: .oddOneOut, score: Self.raisedScore(verdict.score), explanation: "\(who) at \(real): one level higher")], nil)
        }
        guard verdict.level == .none, !verdict.hasNote else { return ([], nil) }
        // Unflagged: does it look like a domain more of this message's addresses use?
        let ownCount = references.counts[own] ?? 0
        let key = StrongerKey(count: ownCount, excludedSender: references.senders.contains(own) ? own : nil)
        let local: Classifier?
        if let built = indexes[key] {
            local = built
        } else {
            // Sorted already: `references.sorted` filtered. The same for every recipient with
            // this key: another recipient's own domain is never stronger than itself.
            let domains = references.sorted.filter {
                $0 != own && (references.senders.contains($0) || (references.counts[$0] ?? 0) > ownCount)
            }
            local = domains.isEmpty ? nil : Classifier(protectedDomains: domains, trustedDomains: [], suffixes: suffixes, confusables: confusables)
            indexes[key] = local
        }
        guard let local else { return ([], nil) }
        let lookalike = local.classify(address)
        guard lookalike.level > .none, let real = lookalike.suspectedDomain, let first = lookalike.reasons.first else { return ([], nil) }
        let who = references.senders.contains(real) ? "the sender is" : "the other recipients are"
        return ([Reason(rule: .oddOneOut, score: 0.6, explanation: "\(first.explanation), where \(who)")], real)
    }

    /// Reasons from display names attached to this recipient in To, Cc or Bcc.
    /// - Parameter displayNames: the non-empty display names of To, Cc and Bcc, by address.
    private func displayNameReasons(_ verdict: RecipientVerdict, displayNames: [EmailAddress: [String]]) -> ([Reason], EmailAddress?) {
        guard let address = verdict.address, !address.isAddressLiteral else { return ([], nil) }
        for displayName in displayNames[address] ?? [] {
            for (domain, named) in namedDomains(in: displayName) where !Self.isSame(address.domain, orUnder: domain) {
                let local = Classifier(protectedDomains: [domain], trustedDomains: [], suffixes: suffixes, confusables: confusables)
                let lookalike = local.classify(address)
                let quoted = "\"\(displayName)\""
                if lookalike.level > .none {
                    let suggestion = named ?? (address.localPart.isEmpty ? nil : address.replacingDomain(with: domain))
                    return ([Reason(rule: .displayName, score: 0.9, explanation: "the display name \(quoted) names \(named?.description ?? domain), which \(address.domain) looks like")], suggestion)
                }
                return ([Reason(rule: .displayName, score: 0.3, explanation: "the display name \(quoted) names \(named?.description ?? domain), not \(address.domain)")], nil)
            }
        }
        return ([], nil)
    }

    /// Domains (and addresses) written in a display name: `J. Smith (army.mil)`,
    /// `j.smith@army.mil`. A word counts as a domain when its last label is a listed suffix.
    func namedDomains(in displayName: String) -> [(domain: String, address: EmailAddress?)] {
        var found: [(String, EmailAddress?)] = []
        let separators: Set<Character> = [" ", "(", ")", "[", "]", "<", ">", "\"", "'", ",", ";", ":", "/"]
        for word in displayName.lowercased().split(whereSeparator: { separators.contains($0) }) {
            let token = word.trimmingCharacters(".")
            if token.contains("@") {
                if case .address(let named) = EmailAddress.parsePath(token.utf8), !named.isAddressLiteral, named.domain.contains(".") {
                    found.append((named.domain, named))
                }
            } else if token.contains("."), case .success(let domain) = EmailAddress.normalizeDomain(Array(token.utf8)),
                      suffixes.isListedTopLevel(of: domain) {
                found.append((domain, nil))
            }
        }
        return found
    }
}

extension Substring {
    func trimmingCharacters(_ character: Character) -> String {
        var slice = self
        while slice.first == character { slice.removeFirst() }
        while slice.last == character { slice.removeLast() }
        return String(slice)
    }
}
