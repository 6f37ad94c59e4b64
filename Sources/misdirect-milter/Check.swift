import ArgumentParser
import CorrespondentHistory
import Foundation
import MisdirectionRisk

/// `misdirect-milter check`: classifies addresses or domains without any MTA.
struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Classify addresses or domains as the milter would.",
        discussion: """
            Reads them from the arguments, or one per line from standard input when none are given. \
            With --message, reads an RFC 5322 message instead: its To, Cc and Bcc recipients are \
            classified with the context of its headers (other recipients, sender, display names, \
            Reply-To, protective markings, attachments), as the milter does at end of message. \
            With history configured, the correspondent history is read first (first-contact, \
            established); if the store cannot be read, the check goes on without it.
            """
    )

    @OptionGroup var options: ConfigOptions

    @Flag(help: "Print one JSON object per line.")
    var json = false

    @Option(help: ArgumentHelp("An RFC 5322 message file to check as a whole.", valueName: "file"))
    var message: String?

    @Flag(help: "Do not read the correspondent history, even when configured.")
    var noHistory = false

    @Argument(help: ArgumentHelp("Addresses (user@domain) or bare domains.", valueName: "address"))
    var addresses: [String] = []

    func validate() throws {
        if message != nil && !addresses.isEmpty {
            throw ValidationError("give either addresses or --message, not both")
        }
    }

    func run() throws {
        let engine = try options.loadEngine()
        let history = noHistory ? nil : HistoryAccess.snapshot(for: engine)
        if let message {
            let text: String
            do {
                text = try String(contentsOfFile: message, encoding: .utf8)
            } catch {
                printError("misdirect-milter: \(message): cannot read the message")
                throw ExitCode(ExitStatus.noInput)
            }
            for (input, decision) in Self.decisions(forMessage: text, engine: engine, history: history) {
                print(output(input: input, decision: decision, history: history))
            }
            return
        }
        let inputs = addresses.isEmpty ? StandardInputLines() : AnySequence(addresses)
        for raw in inputs {
            let input = raw.trimmingCharacters(in: .whitespaces)
            if input.isEmpty || input.hasPrefix("#") { continue }
            let verdict = engine.classify(path: EmailAddress.parseAddressOrDomain(input), input: input, history: history)
            print(output(input: input, decision: engine.policy.decide(verdict), history: history))
        }
    }

    private func output(input: String, decision: Decision, history: HistorySnapshot?) -> String {
        guard json else { return Self.line(input: input, decision: decision) }
        var report = CheckReport(input: input, decision: decision)
        if let history {
            report.history = .some(CheckReport.HistoryReport(decision.verdict.address.flatMap { history.correspondent(for: HistorySnapshot.domainKey($0.domain)) }))
        }
        return report.jsonLine()
    }

    /// The decisions the milter would reach at end of message for a message's recipients (To,
    /// Cc, Bcc), then its flagged Reply-To addresses, each with the text it is shown under.
    static func decisions(forMessage text: String, engine: Engine, history: HistorySnapshot? = nil) -> [(String, Decision)] {
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
    static func line(input: String, decision: Decision) -> String {
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

/// The JSON shape of one `check --json` line.
struct CheckReport: Encodable {
    struct ReasonReport: Encodable {
        let rule: String
        let explanation: String
    }

    let address: String
    let domain: String?
    let level: String
    let score: Double
    let suspected: String?
    let didYouMean: String?
    let reasons: [ReasonReport]
    let note: String?
    let action: String
    let mode: String
    /// What the correspondent history knows of the domain; only encoded when history was read.
    var history: HistoryReport??

    /// The `history` object: the facts of the domain (or the parent they are about), or null
    /// when it is unknown.
    struct HistoryReport: Encodable {
        let domain: String
        let messages: Int
        let days: Int
        let firstSeen: String
        let lastSeen: String
        let established: Bool

        init?(_ correspondent: HistorySnapshot.Correspondent?) {
            guard let correspondent else { return nil }
            domain = correspondent.domain
            messages = correspondent.facts.messages
            days = correspondent.facts.days
            firstSeen = CorrespondentFacts.date(ofDay: correspondent.facts.firstDay)
            lastSeen = CorrespondentFacts.date(ofDay: correspondent.facts.lastDay)
            established = correspondent.isEstablished
        }

        enum CodingKeys: String, CodingKey {
            case domain, messages, days, firstSeen = "first_seen", lastSeen = "last_seen", established
        }
    }

    init(input: String, decision: Decision) {
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

    enum CodingKeys: String, CodingKey {
        case address, domain, level, score, suspected, didYouMean = "did_you_mean", reasons, note, action, mode, history
    }

    func encode(to encoder: any Encoder) throws {
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

    func jsonLine() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? encoder.encode(self)) ?? Data("{}".utf8), as: UTF8.self)
    }
}

/// Lines of standard input, read lazily.
func StandardInputLines() -> AnySequence<String> {
    AnySequence { AnyIterator { readLine(strippingNewline: true) } }
}
