import Logging
import Milter
import MisdirectionRisk

package extension MisdirectionSession {
    /// One line per decision: queue id, sender, recipient, level, action, mode, reasons.
    /// - Parameters:
    ///   - role: what the address is to the message: `recipient`, or `reply-to`.
    ///   - text: the message instead of the one the action gives.
    func log(_ decision: Decision, queueID: String?, role: String = "recipient", level: Logger.Level = .info, message text: Logger.Message? = nil) {
        // The metadata is built before the logger could drop the line: at `log_level: warning`
        // that was every accepted recipient's nine strings at every end of message, for nothing.
        guard logger.logLevel <= level else { return }
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
        if let suggestion = verdict.suggestedAddress { metadata["risk.did_you_mean"] = "\(suggestion)" }
        if !decision.logOnlyRules.isEmpty {
            metadata["risk.log_only_rules"] = "\(decision.logOnlyRules.map(\.id).joined(separator: ","))"
            metadata["risk.applied"] = "\(decision.effectiveAction)"
        }
        let outcome: Logger.Message = switch (decision.overridden, decision.mode, decision.action) {
        case (true, _, _): "delivered \(role) on sender override"
        case (false, .logOnly, let action) where action != .accept: "log-only: would \(action) \(role)"
        case (false, _, .reject): "rejected \(role)"
        case (false, _, .tempfail): "tempfailed \(role)"
        case (false, _, .quarantine): "held \(role)"
        case (false, _, .tag): "tagged \(role)"
        case (false, _, .accept): "accepted \(role)"
        }
        if decision.overridden, let user = message.authenticatedUser { metadata["override.user"] = "\(user)" }
        logger.log(level: level, text ?? outcome, metadata: metadata)
    }

    /// The end of a message: a line for each recipient this copy goes to that the policy flagged
    /// (any level above none, an action other than accept, a log-only rule, a sender override),
    /// and one line for the message that names the clean ones. Clean recipients get a line each
    /// only at `debug`: at `info` five clean recipients cost one line, not five, which is most of
    /// what logging costs a busy milter (docs/performance-and-accuracy.md).
    func logEndOfMessage(queueID: String?, action: Action) {
        let queue = "\(queueID ?? "NOQUEUE")"
        if message.forgedHeaders > 0 {
            logger.warning("removed forged header", metadata: [
                "mail.queue_id": "\(queue)", "mail.sender": "\(message.sender)",
                "header.count": "\(message.forgedHeaders)",
            ])
        }
        var clean: [Decision] = []
        var flagged = 0
        for decision in message.decisions where !decision.effectiveAction.refuses {
            if Self.isClean(decision) {
                clean.append(decision)
                log(decision, queueID: queueID, level: .debug)
            } else {
                flagged += 1
                log(decision, queueID: queueID)
            }
        }
        if logger.logLevel <= .info {
            var metadata: Logger.Metadata = [
                "mail.queue_id": "\(queue)", "mail.sender": "\(message.sender)",
                "risk.action": "\(action)", "risk.mode": "\(engine.policy.mode)",
                "rcpt.count": "\(clean.count + flagged)", "rcpt.flagged": "\(flagged)",
            ]
            if !clean.isEmpty { metadata["rcpt.clean"] = "\(Self.addressList(clean))" }
            logger.info("checked message", metadata: metadata)
        }
        if action == .quarantine {
            logger.notice("held message for review", metadata: [
                "mail.queue_id": "\(queue)", "mail.sender": "\(message.sender)",
                "hold.reason": "\(holdReason)",
            ])
        }
    }

    /// Nothing to say about this recipient: no level, accepted, no rule in log-only mode asked
    /// for more, not delivered on the sender's word.
    static func isClean(_ decision: Decision) -> Bool {
        decision.verdict.level == .none && decision.action == .accept && decision.effectiveAction == .accept
            && decision.logOnlyRules.isEmpty && !decision.overridden
    }

    /// The recipients' addresses, comma-separated; after ``listedAddresses`` of them, how many more.
    static func addressList(_ decisions: [Decision]) -> String {
        var text = decisions.prefix(listedAddresses).map { decision in
            decision.verdict.address.map { "<\($0)>" } ?? decision.verdict.input
        }.joined(separator: ",")
        if decisions.count > listedAddresses { text += ",+\(decisions.count - listedAddresses) more" }
        return text
    }

    /// The most clean recipients a message line names: a syslog line stays well under 2 KiB.
    static var listedAddresses: Int { 20 }

    /// `550 5.7.1` (reject) or `450 4.7.1` (tempfail) with the explanation and the suggestion,
    /// on one line of at most 512 octets (RFC 5321) whatever the recipient looked like.
    static func reply(for decision: Decision) -> SMTPReply {
        let temporary = decision.action == .tempfail
        let rules = decision.verdict.rules.map(\.id).joined(separator: ",")
        var text = "Recipient address rejected: \(decision.explanation(maximumOctets: 360))"
        text += temporary ? " (misdirect-milter: \(rules); temporary, will be retried)" : " (misdirect-milter: \(rules))"
        return SMTPReply(code: temporary ? "450" : "550", enhancedCode: temporary ? "4.7.1" : "5.7.1", text: text)!
    }
}
