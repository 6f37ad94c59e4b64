import Foundation
import MisdirectionRisk

/// The JSON shape of one `check --json` line.
package struct CheckReport: Encodable {
    package struct ReasonReport: Encodable {
        package let rule: String
        package let explanation: String
    }

    package let address: String
    package let domain: String?
    package let level: String
    package let score: Double
    package let suspected: String?
    package let didYouMean: String?
    package let reasons: [ReasonReport]
    package let note: String?
    package let action: String
    package let mode: String
    /// What the correspondent history knows of the domain; only encoded when history was read.
    package var history: HistoryReport??

    /// The `history` object: the facts of the domain (or the parent they are about), or null
    /// when it is unknown.
    package struct HistoryReport: Encodable {
        package let domain: String
        package let messages: Int
        package let days: Int
        package let firstSeen: String
        package let lastSeen: String
        package let established: Bool

        package init?(_ correspondent: HistorySnapshot.Correspondent?) {
            guard let correspondent else { return nil }
            domain = correspondent.domain
            messages = correspondent.facts.messages
            days = correspondent.facts.days
            firstSeen = CorrespondentFacts.date(ofDay: correspondent.facts.firstDay)
            lastSeen = CorrespondentFacts.date(ofDay: correspondent.facts.lastDay)
            established = correspondent.isEstablished
        }

        package enum CodingKeys: String, CodingKey {
            case domain, messages, days, firstSeen = "first_seen", lastSeen = "last_seen", established
        }
    }

    package init(input: String, decision: Decision) {
        let verdict = decision.verdict
        address = input
        domain = verdict.address?.domain
        level = verdict.level.description
        score = (verdict.score * 100).rounded() / 100
        suspected = verdict.suspectedDomain
        didYouMean = verdict.suggestedAddress?.description
        reasons = verdict.reasons.map { ReasonReport(rule: $0.rule.id, explanation: $0.explanation) }
        note = verdict.note
        action = decision.action.description
        mode = decision.mode.description
    }

    package enum CodingKeys: String, CodingKey {
        case address, domain, level, score, suspected, didYouMean = "did_you_mean", reasons, note, action, mode, history
    }

    package func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(address, forKey: .address)
        try container.encode(domain, forKey: .domain)
        try container.encode(level, forKey: .level)
        try container.encode(score, forKey: .score)
        try container.encode(suspected, forKey: .suspected)
        try container.encode(didYouMean, forKey: .didYouMean)
        try container.encode(reasons, forKey: .reasons)
        try container.encode(note, forKey: .note)
        try container.encode(action, forKey: .action)
        try container.encode(mode, forKey: .mode)
        if let history { try container.encode(history, forKey: .history) }
    }

    package func jsonLine() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? encoder.encode(self)) ?? Data("{}".utf8), as: UTF8.self)
    }

    /// The decisions the milter would reach at end of message for a message's recipients (To,
    /// Cc, Bcc), then its flagged Reply-To addresses, each with the text it is shown under.
    package static func decisions(forMessage text: String, engine: Engine, history: HistorySnapshot? = nil) -> [(String, Decision)] {
        let context = MessageContext(headers: MessageContext.headerFields(ofMessage: text), envelopeSender: nil)
        let recipients = context.recipients.compactMap(\.address)
        let verdicts = recipients.map { address in
            engine.classify(path: .address(address), input: address.description, history: history)
        }
        let assessment = engine.classifier.assess(verdicts, context: context)
        return assessment.verdicts.map { ($0.input, engine.policy.decide($0)) }
            + assessment.replyTo.map { ("Reply-To \($0.input)", engine.policy.decide($0)) }
    }

    /// `input: level (score) -> action; explanation [rules]`.
    package static func line(input: String, decision: Decision) -> String {
        let verdict = decision.verdict
        var text = "\(input): \(verdict.level) (score \(String(format: "%.2f", verdict.score))) -> \(decision.action)"
        if decision.mode == .logOnly { text += decision.effectiveAction == decision.action ? " (log-only)" : " (log-only: \(decision.effectiveAction))" }
        if verdict.reasons.isEmpty {
            if let note = verdict.note { text += "; \(note)" }
        } else {
            text += "; \(decision.explanation)"
            // A history fact behind another rule's finding: say which one applied.
            for reason in verdict.reasons.dropFirst() where reason.rule == .established || reason.rule == .firstContact {
                text += "; history: \(reason.explanation)"
            }
            text += " [\(verdict.rules.map(\.id).joined(separator: ","))]"
        }
        return text
    }
}
