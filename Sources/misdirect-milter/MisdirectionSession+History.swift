import MisdirectionRisk

extension MisdirectionSession {
    /// Adds the recipients this delivered message went to to the correspondent history (queued;
    /// written in the background). Refused recipients and held messages are not recorded.
    func recordDelivery() {
        guard let history else { return }
        let delivered = message.decisions.filter { !$0.effectiveAction.refuses }.compactMap(\.verdict.address)
        history.recordDelivery(sender: message.senderAddress, recipients: delivered, authenticated: message.authenticatedUser != nil)
    }
}
