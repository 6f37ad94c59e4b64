/// How likely one recipient is misdirected, and why.
public struct RecipientVerdict: Sendable, Hashable {
    /// The recipient as parsed; nil when the path was not a usable address.
    public let address: EmailAddress?
    /// The recipient as given, for reports when it could not be parsed.
    public let input: String
    public let level: RiskLevel
    /// From 0 (certainly fine) to 1 (certainly misdirected).
    public let score: Double
    /// The domain the sender probably meant (`army.mil` for `army.ml`).
    public let suspectedDomain: String?
    /// The findings, strongest first; empty for a clean recipient.
    public let reasons: [Reason]
    /// A note on why nothing was checked or found, such as "trusted domain" or "address literal".
    public let note: String?

    public init(
        address: EmailAddress?, input: String, level: RiskLevel, score: Double,
        suspectedDomain: String?, reasons: [Reason], note: String? = nil
    ) {
        self.address = address
        self.input = input
        self.level = level
        self.score = score
        self.suspectedDomain = suspectedDomain
        self.reasons = reasons
        self.note = note
    }

    /// The address the sender probably meant: the same local part at the suspected domain.
    public var suggestedAddress: EmailAddress? {
        guard let address, let suspectedDomain, !address.localPart.isEmpty else { return nil }
        return address.replacingDomain(with: suspectedDomain)
    }

    /// The rules that fired, strongest first.
    public var rules: [Rule] { reasons.map(\.rule) }

    /// A clean verdict for an address, with an optional note.
    public static func clean(_ address: EmailAddress?, input: String, note: String? = nil) -> RecipientVerdict {
        RecipientVerdict(address: address, input: input, level: .none, score: 0, suspectedDomain: nil, reasons: [], note: note)
    }
}
