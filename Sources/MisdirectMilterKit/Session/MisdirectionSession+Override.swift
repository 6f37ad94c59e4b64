import Logging
import Milter
import MisdirectionRisk

/// The sender override: an authenticated sender who really means a recipient the policy refuses
/// names it in a header (`X-Misdirection-Override: j.smith@army.ml` by default), and the message
/// is delivered to it, tagged, with `override=sender` in the verdict header and the login in the
/// log.
///
/// The header is only known at end of message, and a milter cannot refuse one recipient after
/// RCPT: so when the override is enabled and the sender authenticated (`{auth_authen}` at MAIL
/// FROM), refusals are not given at RCPT but at end of message, where any refused recipient the
/// sender did not confirm refuses the whole message (``refuseMessage(_:queueID:)``). Without
/// authentication nothing changes: refusals stay at RCPT and the header is ignored. The header is
/// removed from the message in every case.
package extension MisdirectionSession {
    /// Whether this message's refusals wait for the end of the message.
    var defersRefusals: Bool {
        engine.configuration.senderOverride != nil && message.authenticatedUser != nil
    }

    func isOverrideHeader(_ name: [UInt8]) -> Bool {
        guard let header = engine.configuration.senderOverride?.header else { return false }
        return String(decoding: name, as: UTF8.self).lowercased() == header.lowercased()
    }

    /// Reads the recipients a sender confirms from one override header.
    func readOverride(_ value: [UInt8]) {
        message.overrideHeaders += 1
        for mailbox in HeaderAddress.parseList(String(decoding: value, as: UTF8.self)) {
            if let address = mailbox.address { message.confirmed.insert(address.description.lowercased()) }
        }
    }

    /// Delivers the refused recipients the authenticated sender confirmed, logging each, and
    /// returns the refusals that stand: with deferral, every recipient still refusing; without,
    /// only those `raised` by the headers (the others were refused at RCPT).
    func applySenderOverride(raised: [Decision], queueID: String?) -> [Decision] {
        guard defersRefusals, let user = message.authenticatedUser else { return raised }
        var standing: [Decision] = []
        for index in message.decisions.indices where message.decisions[index].effectiveAction.refuses {
            let decision = message.decisions[index]
            guard let address = decision.verdict.address, message.confirmed.contains(address.description.lowercased()) else {
                standing.append(decision)
                continue
            }
            message.decisions[index] = decision.overriddenBySender()
            MilterMetrics.recordSenderOverride()
            logger.notice("sender override: delivering a refused recipient the sender confirmed", metadata: [
                "mail.queue_id": "\(queueID ?? "NOQUEUE")", "mail.sender": "\(message.sender)", "override.user": "\(user)",
                "rcpt.address": "<\(address)>", "risk.level": "\(decision.verdict.level)", "risk.action": "\(decision.action)",
                "risk.reasons": "\(decision.verdict.rules.map(\.id).joined(separator: ","))",
            ])
        }
        return standing
    }
}
