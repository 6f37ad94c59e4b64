import Logging
import Milter
import MisdirectionRisk

package extension MisdirectionSession {
    /// Header fields ``MessageContext`` reads; the others are not converted.
    static let contextHeaders = Set([
        "to", "cc", "bcc", "from", "reply-to", "subject", "content-type", "x-ms-has-attach", "msip_labels", "sensitivity",
    ] + Sensitivity.markingHeaders)

    /// Re-decides the recipients accepted at RCPT with what the headers say (other recipients,
    /// display names, Reply-To, markings, attachments). Recipients refused at RCPT stay as they
    /// were. Levels only go up.
    /// - Returns: the recipients that now refuse although accepted at RCPT, and the decisions on
    ///   look-alike Reply-To addresses.
    func reassessWithHeaders() -> (raised: [Decision], replyTo: [Decision]) {
        let atRCPT = message.decisions
        // Only the fields the context reads have their values converted: Received, DKIM and ARC
        // fields are most of a real header block.
        let headers = message.headers.compactMap { field -> (name: String, value: String)? in
            let name = String(decoding: field.name, as: UTF8.self)
            guard Self.contextHeaders.contains(name.lowercased()) else { return nil }
            return (name, String(decoding: field.value, as: UTF8.self))
        }
        let context = MessageContext(headers: headers, envelopeSender: message.senderAddress)
        let assessment = engine.classifier.assess(atRCPT.map(\.verdict), context: context)
        message.decisions = zip(atRCPT, assessment.verdicts).map { old, verdict in
            old.effectiveAction.refuses ? old : engine.policy.decide(verdict)
        }
        let raised = zip(atRCPT, message.decisions).filter { old, new in !old.effectiveAction.refuses && new.effectiveAction.refuses }
        return (raised.map(\.1), assessment.replyTo.map(engine.policy.decide))
    }

    /// Refuses the whole message at end of message because of `decisions` (recipients, or a
    /// Reply-To, that the headers raised to a refusing action): `550 5.7.1` if any of them is a
    /// reject, else `450 4.7.1`, one line per decision with its explanation and rules.
    /// - Important: A milter cannot refuse one recipient after RCPT; this is the only way left.
    func refuseMessage(_ decisions: [Decision], queueID: String?) -> MilterResponse {
        for decision in decisions { log(decision, queueID: queueID, message: "refused message at end of data") }
        let reply = Self.messageReply(for: decisions)
        message = MessageState()
        MilterMetrics.recordMessage(.refused)
        return .reply(reply)
    }

    /// The reply that refuses a whole message, naming each recipient and why.
    static func messageReply(for decisions: [Decision]) -> SMTPReply {
        let temporary = !decisions.contains { $0.effectiveAction == .reject }
        var lines = ["Message refused: misdirected recipient\(decisions.count == 1 ? "" : "s") (misdirect-milter)"]
        for decision in decisions.prefix(7) {
            let who = decision.verdict.address?.description ?? decision.verdict.input
            // SMTPReply cuts a line past 512 octets; cutting the explanation first keeps the rules.
            lines.append("\(who): \(decision.explanation(maximumOctets: 300)) [\(decision.verdict.rules.map(\.id).joined(separator: ","))]")
        }
        if temporary { lines[0] += "; temporary, will be retried" }
        return SMTPReply(code: temporary ? "450" : "550", enhancedCode: temporary ? "4.7.1" : "5.7.1", text: lines.joined(separator: "\n"))!
    }
}
