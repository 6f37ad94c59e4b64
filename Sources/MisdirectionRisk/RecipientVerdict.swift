/// How likely one recipient is misdirected, and why.
public struct RecipientVerdict: Sendable, Hashable {
    /// The recipient as parsed; nil when the path was not a usable address.
    public let address: EmailAddress?
    /// The recipient as given, for reports when it could not be parsed.
    public var input: String { givenInput ?? address?.description ?? "" }
    /// Nil when the recipient was given as an address only: its text is then only made when asked
    /// for (``classify(_:input:)`` runs for every recipient, and mostly nobody asks).
    private let givenInput: String?
    public let level: RiskLevel
    /// From 0 (certainly fine) to 1 (certainly misdirected): the highest of the reasons' scores.
    public let score: Double
    /// The domain the sender probably meant (`army.mil` for `army.ml`).
    public let suspectedDomain: String?
    /// The findings, strongest first; empty for a clean recipient.
    public let reasons: [Reason]
    /// A note on why nothing was checked or found, such as "trusted domain" or "address literal".
    public var note: String? { storedNote?.text }
    private let storedNote: Note?
    /// True when there is a ``note`` (without putting it into words).
    var hasNote: Bool { storedNote != nil }
    /// The address the sender probably meant when it is not simply the same local part at
    /// ``suspectedDomain`` (a display name that names another address).
    public let namedAddress: EmailAddress?

    public init(
        address: EmailAddress?, input: String, level: RiskLevel, score: Double,
        suspectedDomain: String?, reasons: [Reason], note: String? = nil, namedAddress: EmailAddress? = nil
    ) {
        self.init(
            address: address, givenInput: input, level: level, score: score, suspectedDomain: suspectedDomain,
            reasons: reasons, note: note.map(Note.text), namedAddress: namedAddress)
    }

    init(
        address: EmailAddress?, givenInput: String?, level: RiskLevel, score: Double,
        suspectedDomain: String?, reasons: [Reason], note: Note? = nil, namedAddress: EmailAddress? = nil
    ) {
        self.address = address
        self.givenInput = givenInput
        self.level = level
        self.score = score
        self.suspectedDomain = suspectedDomain
        self.reasons = reasons
        self.storedNote = note
        self.namedAddress = namedAddress
    }

    /// A verdict made of reasons: the score is the highest of theirs, the level follows from it.
    /// Reasons are ordered strongest first, those that only raise another's level last, so the
    /// first one explains what looks wrong.
    public init(address: EmailAddress?, input: String, suspectedDomain: String?, reasons: [Reason], namedAddress: EmailAddress? = nil) {
        self.init(address: address, givenInput: input, suspectedDomain: suspectedDomain, reasons: reasons, namedAddress: namedAddress)
    }

    init(address: EmailAddress?, givenInput: String?, suspectedDomain: String?, reasons: [Reason], namedAddress: EmailAddress? = nil) {
        // `odd-one-out` and `first-contact` raise a look-alike found by another rule, or are the
        // finding themselves; `established` only lowers one.
        let hasLookAlike = reasons.contains { !$0.rule.raisesLevel && !$0.rule.raisesOrFinds && $0.rule != .established }
        func isRaise(_ reason: Reason) -> Bool { reason.rule.raisesLevel || (reason.rule.raisesOrFinds && hasLookAlike) }
        let sorted = reasons.count < 2 ? reasons : reasons.enumerated().sorted { a, b in
            let aLast = isRaise(a.element), bLast = isRaise(b.element)
            if aLast != bLast { return !aLast }
            if a.element.score != b.element.score { return a.element.score > b.element.score }
            return a.offset < b.offset
        }.map(\.element)
        let score = sorted.lazy.map(\.score).max() ?? 0
        self.init(
            address: address, givenInput: givenInput, level: RiskLevel(score: score), score: score,
            suspectedDomain: suspectedDomain, reasons: sorted, namedAddress: namedAddress)
    }

    /// The address the sender probably meant (`did you mean …?`): the address a display name
    /// named, else the same local part at the suspected domain.
    public var suggestedAddress: EmailAddress? {
        if let namedAddress { return namedAddress }
        guard let address, let suspectedDomain, !address.localPart.isEmpty else { return nil }
        return address.replacingDomain(with: suspectedDomain)
    }

    /// The rules that fired, strongest first.
    public var rules: [Rule] { reasons.map(\.rule) }

    /// A clean verdict for an address, with an optional note.
    public static func clean(_ address: EmailAddress?, input: String, note: String? = nil) -> RecipientVerdict {
        clean(address, givenInput: input, note: note.map(Note.text))
    }

    static func clean(_ address: EmailAddress?, givenInput: String?, note: Note? = nil) -> RecipientVerdict {
        RecipientVerdict(address: address, givenInput: givenInput, level: .none, score: 0, suspectedDomain: nil, reasons: [], note: note)
    }

    /// True when correspondent history may learn from a delivery to this recipient: nothing
    /// flagged it, or only a finding history itself settles (`other-suffix`, with or without
    /// `established`). Mail the milter flagged, delivered in log-only mode, tagged or sent with
    /// an override, is never learned: history would stop flagging what it flagged.
    public var isLearnable: Bool {
        level == .none || isReportOnly
    }

    /// True when the only finding is one reported for review, never acted on by default: the
    /// same name under another suffix (`other-suffix`). Context (odd-one-out, markings,
    /// attachments) and first contacts do not raise it: mail between a group's own country
    /// domains would be tagged every day.
    public var isReportOnly: Bool {
        !reasons.isEmpty && reasons.allSatisfy { $0.rule == .otherSuffix || $0.rule == .established }
    }

    /// This verdict with more reasons (context found at end of message), keeping the others.
    public func adding(_ more: [Reason], suspectedDomain: String? = nil, namedAddress: EmailAddress? = nil) -> RecipientVerdict {
        guard !more.isEmpty else { return self }
        return RecipientVerdict(
            address: address, givenInput: givenInput, suspectedDomain: self.suspectedDomain ?? suspectedDomain,
            reasons: reasons + more, namedAddress: self.namedAddress ?? namedAddress)
    }

    /// A verdict's note, put into words when read: most recipients are protected or trusted
    /// domains, and their notes are rarely read.
    enum Note: Sendable {
        case text(String)
        /// "protected domain army.mil", "trusted domain partner.ml".
        case domain(String, isTrusted: Bool)

        var text: String {
            switch self {
            case .text(let text): text
            case .domain(let domain, let isTrusted): "\(isTrusted ? "trusted" : "protected") domain \(domain)"
            }
        }
    }

    public static func == (a: RecipientVerdict, b: RecipientVerdict) -> Bool {
        a.address == b.address && a.input == b.input && a.level == b.level && a.score == b.score
            && a.suspectedDomain == b.suspectedDomain && a.reasons == b.reasons && a.note == b.note && a.namedAddress == b.namedAddress
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(address)
        hasher.combine(input)
        hasher.combine(level)
        hasher.combine(score)
        hasher.combine(suspectedDomain)
        hasher.combine(reasons)
        hasher.combine(note)
        hasher.combine(namedAddress)
    }
}

extension RecipientVerdict: CustomDebugStringConvertible {
    /// Every field on one line, for comparing verdicts before and after a change (see
    /// `misdirect-bench --verdicts`).
    public var debugDescription: String {
        let reasons = reasons.map { "\($0.rule.id) \($0.score) \($0.explanation)" }.joined(separator: "; ")
        return "\(input) | \(address?.description ?? "-") | \(level) \(score) | suspected \(suspectedDomain ?? "-") | "
            + "named \(namedAddress?.description ?? "-") | note \(note ?? "-") | \(reasons)"
    }
}
