/// What to do with a recipient at a given risk, from mildest to strongest.
public enum Action: Int, Sendable, Hashable, Comparable, CaseIterable, CustomStringConvertible {
    /// Deliver; the message still gets its `X-Misdirection-Risk` header.
    case accept = 0
    /// Deliver, marked for review in the header (`action=tag`).
    case tag = 1
    /// Accept from the sender but hold the whole message in the MTA's hold queue until someone
    /// releases or drops it (`misdirect-milter held`). The sender sees a normal acceptance.
    case quarantine = 2
    /// Refuse the recipient for now with `450 4.7.1`: the sender's MTA retries, the sender is
    /// told only if it keeps failing.
    case tempfail = 3
    /// Refuse the recipient with `550 5.7.1`: the sender learns at once.
    case reject = 4

    /// Parses `accept`, `tag`, `tempfail` or `reject`.
    public init?(name: String) {
        guard let action = Action.allCases.first(where: { $0.description == name }) else { return nil }
        self = action
    }

    public static func < (lhs: Action, rhs: Action) -> Bool { lhs.rawValue < rhs.rawValue }

    /// True for actions that refuse the recipient.
    public var refuses: Bool { self >= .tempfail }

    public var description: String {
        switch self {
        case .accept: "accept"
        case .tag: "tag"
        case .quarantine: "quarantine"
        case .tempfail: "tempfail"
        case .reject: "reject"
        }
    }
}

/// Whether the policy's actions are carried out.
public enum Mode: Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// Actions are carried out.
    case enforce
    /// Dry run: nothing is refused or delayed; the header and the logs say what enforce would do.
    case logOnly

    /// Parses `enforce` or `log-only`.
    public init?(name: String) {
        guard let mode = Mode.allCases.first(where: { $0.description == name }) else { return nil }
        self = mode
    }

    public var description: String {
        switch self {
        case .enforce: "enforce"
        case .logOnly: "log-only"
        }
    }
}

/// Turns verdicts into actions.
public struct Policy: Sendable, Hashable {
    /// Whether actions are carried out or only logged.
    public var mode: Mode
    /// The action for each level.
    public var actions: [RiskLevel: Action]

    /// The actions used where the configuration says nothing: accept `none` and `low`, tag
    /// `medium`, reject `high`.
    public static let defaultActions: [RiskLevel: Action] = [.none: .accept, .low: .accept, .medium: .tag, .high: .reject]

    public init(mode: Mode = .enforce, actions: [RiskLevel: Action] = Policy.defaultActions) {
        self.mode = mode
        self.actions = Policy.defaultActions.merging(actions) { _, configured in configured }
    }

    /// The decision for one recipient.
    public func decide(_ verdict: RecipientVerdict) -> Decision {
        Decision(verdict: verdict, action: actions[verdict.level] ?? .accept, mode: mode)
    }
}

/// A verdict with the action the policy chose for it.
public struct Decision: Sendable, Hashable {
    public let verdict: RecipientVerdict
    /// What the policy says, whatever the mode.
    public let action: Action
    public let mode: Mode

    public init(verdict: RecipientVerdict, action: Action, mode: Mode) {
        self.verdict = verdict
        self.action = action
        self.mode = mode
    }

    /// What actually happens: the policy's action in enforce mode; in log-only mode the
    /// recipient is accepted (tagged when the policy would do anything but accept), and nothing
    /// is held.
    public var effectiveAction: Action {
        switch mode {
        case .enforce: action
        case .logOnly: action == .accept ? .accept : .tag
        }
    }

    /// The sentence for an SMTP reply or a report: what looks wrong and the suggestion.
    public var explanation: String {
        let verdict = self.verdict
        guard let reason = verdict.reasons.first else { return "no misdirection risk found" }
        var text = reason.explanation
        if let suggestion = verdict.suggestedAddress {
            text += "; did you mean \(suggestion)?"
        }
        return text
    }
}
