/// One message of past traffic as replay sees it: who sent it and to whom, whatever it was
/// read from (a Postfix log, a stored message, an mbox).
public struct ReplayedMessage: Sendable, Equatable {
    /// Where it came from: a Postfix queue id, a file name, or an mbox position.
    public let id: String
    /// The envelope sender (`from=<…>` in the log) or the From header; nil when unknown.
    public let sender: String?
    /// The recipients, each once, in the order first seen: bare addresses (`j@army.ml`).
    public let recipients: [String]

    /// Per recipient, the stamp the reader gave the line that delivered it (for a Postfix log,
    /// `history import` passes the day of the line), or empty when the reader gave none.
    public let stamps: [Int]

    public init(id: String, sender: String?, recipients: [String], stamps: [Int] = []) {
        self.id = id
        self.sender = sender
        self.recipients = recipients
        self.stamps = stamps
    }
}
