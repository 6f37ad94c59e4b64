import Logging
import Milter
import MisdirectionRisk

/// The milter session of one MTA connection: classifies each recipient at RCPT, refuses those
/// the policy refuses, and at end of message re-reads the recipients with the message's headers
/// (context and sensitivity), removes forged verdict headers, adds ours, and holds or copies the
/// message for review when the policy says so.
///
/// A recipient accepted at RCPT cannot be refused alone afterwards: when the headers raise one
/// to a refusing action, the whole message is refused at end of message
/// (``refuseMessage(_:queueID:)``), naming the recipients and the reasons.
final package class MisdirectionSession: MilterSession {
    /// The stages this session needs; the body only when held mail is copied to reviewers.
    package static func stages(reviewing: Bool) -> MilterStages {
        reviewing ? [.envelopeSender, .envelopeRecipient, .headers, .body] : [.envelopeSender, .envelopeRecipient, .headers]
    }
    /// Stages that only collect (the sender, the headers) and always continue: on a unix socket
    /// the MTA is told not to wait for their answer. Refusals come at RCPT and end of message.
    package static let unansweredStages: MilterStages = [.envelopeSender, .headers]
    package static let actions: MilterActions = [.addHeaders, .changeHeaders, .quarantine, .addRecipients]
    package static let macros: [MacroStage: [String]] = [
        .envelopeSender: ["i", "{auth_authen}"],
        .envelopeRecipient: ["i"],
        .endOfMessage: ["i"],
    ]

    package let engine: Engine
    package let logger: Logger
    private let notifier: ReviewNotifier?
    /// The correspondent history, when configured: read at RCPT, added to at end of message.
    package let history: HistoryRuntime?
    package var message = MessageState()

    /// What is known about the message in progress.
    package struct MessageState {
        package var sender = ""
        package var senderAddress: EmailAddress?
        package var decisions: [Decision] = []
        package var forgedHeaders = 0
        /// The message's headers as received, for the copy attached to a review notice.
        package var headers: [(name: [UInt8], value: [UInt8])] = []
        package var body: [UInt8] = []
        package var bodyTruncated = false
        /// `{auth_authen}` at MAIL FROM: the login of an authenticated sender.
        package var authenticatedUser: String?
        /// The recipients the sender confirmed in the override header, lower-cased.
        package var confirmed: Set<String> = []
        /// Override headers seen, to remove them before delivery.
        package var overrideHeaders = 0

        /// The strongest action carried out for a recipient this copy goes to.
        package var action: Action {
            decisions.map(\.effectiveAction).filter { !$0.refuses }.max() ?? .accept
        }
    }

    /// - Parameters:
    ///   - notifier: sends notices of held mail to the review mailbox; nil when the
    ///     configuration at start had no review mailbox.
    ///   - history: the correspondent history; nil when not configured.
    package init(engine: Engine, logger: Logger, notifier: ReviewNotifier?, history: HistoryRuntime? = nil) {
        self.engine = engine
        self.logger = logger
        self.notifier = notifier
        self.history = history
    }

    package func envelopeSender(_ arguments: [[UInt8]], context: any MilterContext) -> MilterResponse {
        message = MessageState()
        message.sender = arguments.first.map { String(decoding: $0, as: UTF8.self) } ?? ""
        if case .address(let address) = EmailAddress.parsePath(arguments.first ?? []) { message.senderAddress = address }
        message.authenticatedUser = context.macro("{auth_authen}").flatMap { $0.isEmpty ? nil : $0 }
        return .continue
    }

    package func envelopeRecipient(_ arguments: [[UInt8]], context: any MilterContext) -> MilterResponse {
        let raw = arguments.first ?? []
        let input = String(decoding: raw, as: UTF8.self)
        let verdict = engine.classify(path: EmailAddress.parsePath(raw), input: input, history: history?.snapshot)
        let decision = engine.policy.decide(verdict)
        MilterMetrics.record(decision)
        message.decisions.append(decision)
        guard decision.effectiveAction.refuses else { return .continue }
        if defersRefusals {
            // The sender may confirm this recipient in a header: decide at end of message.
            log(decision, queueID: context.macro("i"), level: .debug, message: "refusal deferred to end of message (sender override)")
            return .continue
        }
        log(decision, queueID: context.macro("i"))
        recordDecisions([decision], queueID: context.macro("i"))
        return .reply(Self.reply(for: decision))
    }

    package func header(name: [UInt8], value: [UInt8], context: any MilterContext) -> MilterResponse {
        if Self.isRiskHeader(name) {
            message.forgedHeaders += 1
        } else if isOverrideHeader(name) {
            readOverride(value)
        } else {
            message.headers.append((name, value))
        }
        return .continue
    }

    package func body(_ chunk: [UInt8], context: any MilterContext) -> MilterResponse {
        guard let review = engine.configuration.review, notifier != nil, message.action == .quarantine else { return .skip }
        let room = review.maxSize - message.body.count
        message.body += chunk.prefix(max(room, 0))
        if chunk.count > room { message.bodyTruncated = true }
        return .continue
    }

    package func endOfMessage(context: any MilterContext) -> MilterResponse {
        let queueID = context.macro("i")
        let (raised, replyTo) = reassessWithHeaders()
        let refusedRecipients = applySenderOverride(raised: raised, queueID: queueID)
        let refusedReplyTo = replyTo.filter(\.effectiveAction.refuses)
        if !refusedRecipients.isEmpty || !refusedReplyTo.isEmpty {
            recordDecisions(refusedRecipients, queueID: queueID)
            recordDecisions(refusedReplyTo, queueID: queueID, role: "reply-to")
            return refuseMessage(refusedRecipients + refusedReplyTo, queueID: queueID)
        }
        let action = message.action
        let headerValue = RiskHeader.value(for: message.decisions, replyTo: replyTo, mode: engine.policy.mode)
        do {
            // From the last to the first, so each index still names the header it did.
            for occurrence in stride(from: message.forgedHeaders, to: 0, by: -1) {
                try context.changeHeader(RiskHeader.name, occurrence: occurrence, value: nil)
            }
            if let override = engine.configuration.senderOverride {
                for occurrence in stride(from: message.overrideHeaders, to: 0, by: -1) {
                    try context.changeHeader(override.header, occurrence: occurrence, value: nil)
                }
            }
            try context.insertHeader(RiskHeader.name, value: headerValue, at: 0)
            if action == .quarantine {
                try context.quarantine(reason: holdReason)
            }
            if action == .tag, let review = engine.configuration.review {
                try context.addRecipient("<\(review.mailbox)>")
            }
        } catch {
            // The MTA refused a change: do not let the message through unchecked.
            logger.error("could not change the message; asking the client to retry", metadata: [
                "mail.queue_id": "\(queueID ?? "NOQUEUE")", "error": "\(error)",
            ])
            message = MessageState()
            MilterMetrics.recordMessage(.failed)
            return .tempfail
        }
        MilterMetrics.recordMessage(action == .quarantine ? .held : .delivered)
        if action != .quarantine { recordDelivery() }
        if message.forgedHeaders > 0 { MilterMetrics.recordForgedHeaders(message.forgedHeaders) }
        logEndOfMessage(queueID: queueID, action: action)
        for decision in replyTo { log(decision, queueID: queueID, role: "reply-to") }
        recordDecisions(message.decisions.filter { !$0.effectiveAction.refuses }, queueID: queueID)
        recordDecisions(replyTo, queueID: queueID, role: "reply-to")
        if action == .quarantine, let notifier, let review = engine.configuration.review {
            notifier.submit(ReviewNotice(
                queueID: queueID ?? "unknown", sender: message.sender, reason: holdReason, review: review,
                riskHeader: headerValue, headers: message.headers, body: message.body, truncated: message.bodyTruncated,
                links: queueID.flatMap { id in notifier.links?.urls(queueID: id, recipient: review.mailbox.description) }))
            if let sender = senderToNotify {
                notifier.submit(ReviewNotice(
                    queueID: queueID ?? "unknown", sender: message.sender, reason: holdReason, review: review,
                    riskHeader: headerValue, headers: message.headers.filter { Self.isSubject($0.name) }, body: [], truncated: false,
                    links: queueID.flatMap { id in notifier.links?.urls(queueID: id, recipient: sender.description) },
                    senderNotice: sender))
            }
        }
        message = MessageState()
        return .continue
    }

    package func abort(context: any MilterContext) {
        message = MessageState()
    }

    /// The sender to tell that their message is held (`console.notify_sender`): only one who
    /// authenticated (SMTP AUTH), so that a forged envelope sender gets nothing, and only when
    /// a rule of a held recipient is listed.
    package var senderToNotify: EmailAddress? {
        guard let rules = engine.configuration.console?.notifySender, !rules.isEmpty,
              message.authenticatedUser != nil, let sender = message.senderAddress
        else { return nil }
        let held = message.decisions.filter { $0.effectiveAction == .quarantine }
        return held.contains { !rules.isDisjoint(with: $0.verdict.rules) } ? sender : nil
    }

    private static func isSubject(_ name: [UInt8]) -> Bool {
        String(decoding: name, as: UTF8.self).lowercased() == "subject"
    }

    /// Why the message is held, for `postqueue` and the review notice: each recipient the
    /// policy holds, what looks wrong and the rules.
    package var holdReason: String {
        let held = message.decisions.filter { $0.effectiveAction == .quarantine }
        let text = held.map { decision in
            "\(decision.verdict.address?.description ?? decision.verdict.input): \(decision.explanation) [\(decision.verdict.rules.map(\.id).joined(separator: ","))]"
        }.joined(separator: "; ")
        return "misdirect-milter: " + (text.count > 400 ? String(text.prefix(400)) + "..." : text)
    }

    private static let riskHeaderName = Array(RiskHeader.name.lowercased().utf8)

    package static func isRiskHeader(_ name: [UInt8]) -> Bool {
        name.count == riskHeaderName.count && zip(name, riskHeaderName).allSatisfy { byte, lower in
            (byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte) == lower
        }
    }
}
