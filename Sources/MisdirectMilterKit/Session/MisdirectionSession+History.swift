import MisdirectionRisk

package extension MisdirectionSession {
    /// Adds the recipients this delivered message went to to the correspondent history (queued;
    /// written in the background). Refused recipients, held messages and every recipient the
    /// milter flagged (tagged, delivered in log-only mode or with an override) are not
    /// recorded: history learns only what nothing flagged (see `RecipientVerdict.isLearnable`).
    func recordDelivery() {
        guard let history else { return }
        let delivered = message.decisions.filter { !$0.effectiveAction.refuses && $0.verdict.isLearnable }.compactMap(\.verdict.address)
        history.recordDelivery(sender: message.senderAddress, recipients: delivered, authenticated: message.authenticatedUser != nil)
    }
}
