import CorrespondentHistory
import Foundation
import MisdirectionRisk

package extension MisdirectionSession {
    /// Queues the decisions that were not clean for the history store (the review console's
    /// decisions page and charts). Cheap: a struct per flagged recipient onto a locked queue; the
    /// store is written in the background.
    /// - Parameter role: `recipient`, or `reply-to`.
    func recordDecisions(_ decisions: [Decision], queueID: String?, role: String = "recipient") {
        guard let history, engine.configuration.history?.decisions ?? history.configuration.decisions else { return }
        let time = Int(Date().timeIntervalSince1970)
        let recorded = decisions.compactMap { decision in
            RecordedDecision(decision, time: time, queueID: queueID ?? "NOQUEUE",
                             sender: message.senderAddress?.description ?? message.sender, role: role)
        }
        history.service.record(decisions: recorded)
    }
}

package extension RecordedDecision.Outcome {
    /// What happened to the recipient of `decision`; nil when it was clean, as the log judges it
    /// (``MisdirectionSession/isClean(_:)``: no line of its own at `info`, and no record).
    init?(_ decision: Decision) {
        if MisdirectionSession.isClean(decision) {
            return nil
        } else if decision.overridden {
            self = .overridden
        } else if decision.effectiveAction.refuses {
            self = .refused
        } else if decision.effectiveAction == .quarantine {
            self = .held
        } else if decision.action > decision.effectiveAction {
            self = decision.action.refuses ? .wouldRefuse : decision.action == .quarantine ? .wouldHold : .wouldTag
        } else if decision.effectiveAction == .tag {
            self = .tagged
        } else {
            self = .flagged
        }
    }
}

package extension RecordedDecision {
    /// The record of `decision`, or nil when it was clean.
    init?(_ decision: Decision, time: Int, queueID: String, sender: String, role: String = "recipient") {
        guard let outcome = Outcome(decision) else { return nil }
        let verdict = decision.verdict
        self.init(
            time: time, queueID: queueID, sender: sender.lowercased(),
            recipient: verdict.address?.description ?? verdict.input,
            recipientDomain: verdict.address.map { $0.domain.lowercased() } ?? "",
            role: role, level: "\(verdict.level)", score: verdict.score, action: "\(decision.action)", outcome: outcome,
            rules: verdict.rules.map(\.id), suspected: verdict.suspectedDomain, explanation: decision.explanation)
    }
}
