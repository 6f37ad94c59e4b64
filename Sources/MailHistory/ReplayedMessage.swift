/// One message of past traffic as replay sees it: who sent it and to whom, whatever it was
/// read from (a Postfix log, a stored message, an mbox).
public struct ReplayedMessage: Sendable, Equatable {
    /// Where it came from: a Postfix queue id, a file name, or an mbox position.
    public let id: String
    /// The envelope sender (`from=<…>` in the log) or the From header; nil when unknown.
    public let sender: String?
    /// The recipients, each once, in the order first seen: bare addresses (`j@army.ml`).
    public let recipients: [String]

    public init(id: String, sender: String?, recipients: [String]) {
        self.id = id
        self.sender = sender
        self.recipients = recipients
    }
}
