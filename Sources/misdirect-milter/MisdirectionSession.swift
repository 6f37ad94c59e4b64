import Logging
import Milter
import MisdirectionRisk

/// The milter session of one MTA connection: classifies each recipient at RCPT, refuses those
/// the policy refuses, and at end of message removes forged verdict headers and adds ours.
final class MisdirectionSession: MilterSession {
    /// The stages, actions and macros this session needs from the MTA.
    static let stages: MilterStages = [.envelopeSender, .envelopeRecipient, .headers]
    static let actions: MilterActions = [.addHeaders, .changeHeaders]
    static let macros: [MacroStage: [String]] = [
        .envelopeSender: ["i", "{auth_authen}"],
        .envelopeRecipient: ["i"],
        .endOfMessage: ["i"],
    ]

    private let engine: Engine
    private let logger: Logger
    private var message = MessageState()

    /// What is known about the message in progress.
    struct MessageState {
        var sender = ""
        var decisions: [Decision] = []
        var forgedHeaders = 0
    }

    init(engine: Engine, logger: Logger) {
        self.engine = engine
        self.logger = logger
    }

    func envelopeSender(_ arguments: [[UInt8]], context: MilterContext) -> MilterResponse {
        message = MessageState()
        message.sender = arguments.first.map { String(decoding: $0, as: UTF8.self) } ?? ""
        return .continue
    }

    func envelopeRecipient(_ arguments: [[UInt8]], context: MilterContext) -> MilterResponse {
        let raw = arguments.first ?? []
        let input = String(decoding: raw, as: UTF8.self)
        let verdict = engine.classifier.classify(path: EmailAddress.parsePath(raw), input: input)
        let decision = engine.policy.decide(verdict)
        message.decisions.append(decision)
        guard decision.effectiveAction.refuses else { return .continue }
        log(decision, queueID: context.macro("i"))
        return .reply(Self.reply(for: decision))
    }

    func header(name: [UInt8], value: [UInt8], context: MilterContext) -> MilterResponse {
        if Self.isRiskHeader(name) { message.forgedHeaders += 1 }
        return .continue
    }

    func endOfMessage(context: MilterContext) -> MilterResponse {
        let queueID = context.macro("i")
        do {
            // From the last to the first, so each index still names the header it did.
            for occurrence in stride(from: message.forgedHeaders, to: 0, by: -1) {
                try context.changeHeader(RiskHeader.name, occurrence: occurrence, value: nil)
            }
            try context.insertHeader(RiskHeader.name, value: RiskHeader.value(for: message.decisions, mode: engine.policy.mode), at: 0)
        } catch {
            // The MTA refused a header change: do not let the message through unchecked.
            logger.error("could not change headers", metadata: ["mail.queue_id": "\(queueID ?? "NOQUEUE")", "error": "\(error)"])
            return .tempfail
        }
        if message.forgedHeaders > 0 {
            logger.warning("removed forged header", metadata: [
                "mail.queue_id": "\(queueID ?? "NOQUEUE")", "mail.sender": "\(message.sender)",
                "header.count": "\(message.forgedHeaders)",
            ])
        }
        for decision in message.decisions where !decision.effectiveAction.refuses {
            log(decision, queueID: queueID)
        }
        message = MessageState()
        return .continue
    }

    func abort(context: MilterContext) {
        message = MessageState()
    }

    // MARK: Helpers

    private func log(_ decision: Decision, queueID: String?) {
        let verdict = decision.verdict
        var metadata: Logger.Metadata = [
            "mail.queue_id": "\(queueID ?? "NOQUEUE")",
            "mail.sender": "\(message.sender)",
            "rcpt.address": "\(verdict.address.map { "<\($0)>" } ?? verdict.input)",
            "risk.level": "\(verdict.level)",
            "risk.score": "\(verdict.score)",
            "risk.action": "\(decision.action)",
            "risk.mode": "\(decision.mode)",
        ]
        if !verdict.reasons.isEmpty { metadata["risk.reasons"] = "\(verdict.rules.map(\.id).joined(separator: ","))" }
        if let suspected = verdict.suspectedDomain { metadata["risk.suspected"] = "\(suspected)" }
        if let note = verdict.note { metadata["risk.note"] = "\(note)" }
        let text: Logger.Message = switch (decision.mode, decision.action) {
        case (.logOnly, let action) where action != .accept: "log-only: would \(action) recipient"
        case (_, .reject): "rejected recipient"
        case (_, .tempfail): "tempfailed recipient"
        case (_, .tag): "tagged recipient"
        case (_, .accept): "accepted recipient"
        }
        logger.info(text, metadata: metadata)
    }

    /// `550 5.7.1` (reject) or `450 4.7.1` (tempfail) with the explanation and the suggestion.
    static func reply(for decision: Decision) -> SMTPReply {
        let temporary = decision.action == .tempfail
        let rules = decision.verdict.rules.map(\.id).joined(separator: ",")
        var text = "Recipient address rejected: \(decision.explanation)"
        if text.count > 400 { text = String(text.prefix(400)) + "..." }
        text += temporary ? " (misdirect-milter: \(rules); temporary, will be retried)" : " (misdirect-milter: \(rules))"
        return SMTPReply(code: temporary ? "450" : "550", enhancedCode: temporary ? "4.7.1" : "5.7.1", text: text)!
    }

    private static let riskHeaderName = Array(RiskHeader.name.lowercased().utf8)

    static func isRiskHeader(_ name: [UInt8]) -> Bool {
        name.count == riskHeaderName.count && zip(name, riskHeaderName).allSatisfy { byte, lower in
            (byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte) == lower
        }
    }
}
