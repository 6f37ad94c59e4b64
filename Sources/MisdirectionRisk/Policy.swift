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

/// What the configuration says about one rule, over the level's action and the global mode.
public struct RulePolicy: Sendable, Hashable {
    /// The action when this rule fires, instead of the one for the level it gives.
    public var action: Action?
    /// `log-only` to try the rule in a dry run while the others enforce (or the reverse).
    public var mode: Mode?

    public init(action: Action? = nil, mode: Mode? = nil) {
        self.action = action
        self.mode = mode
    }
}

/// Turns verdicts into actions.
///
/// Each reason of a verdict asks for an action: its rule's configured action, else the action
/// for the level its score gives. The decision's action is the strongest asked for. Reasons of
/// rules in log-only mode are reported (the header and logs say "would …") but cannot make a
/// refusal happen: what is carried out is the strongest action asked for by enforcing rules,
/// raised to `tag` when a log-only rule asked for more.
public struct Policy: Sendable, Hashable {
    /// Whether actions are carried out or only logged, for rules without a mode of their own.
    public var mode: Mode
    /// The action for each level.
    public var actions: [RiskLevel: Action]
    /// Per-rule overrides.
    public var rules: [Rule: RulePolicy]

    /// The actions used where the configuration says nothing: accept `none` and `low`, tag
    /// `medium`, reject `high`.
    public static let defaultActions: [RiskLevel: Action] = [.none: .accept, .low: .accept, .medium: .tag, .high: .reject]

    public init(mode: Mode = .enforce, actions: [RiskLevel: Action] = Policy.defaultActions, rules: [Rule: RulePolicy] = [:]) {
        self.mode = mode
        self.actions = Policy.defaultActions.merging(actions) { _, configured in configured }
        self.rules = rules
    }

    /// The mode a rule runs in.
    public func mode(of rule: Rule) -> Mode { rules[rule]?.mode ?? mode }

    /// The action a reason asks for.
    public func action(for reason: Reason) -> Action {
        rules[reason.rule]?.action ?? actions[reason.level] ?? .accept
    }

    /// The decision for one recipient.
    public func decide(_ verdict: RecipientVerdict) -> Decision {
        guard !verdict.reasons.isEmpty else {
            let action = actions[verdict.level] ?? .accept
            return Decision(verdict: verdict, action: action, mode: mode)
        }
        var wanted = Action.accept, enforced = Action.accept
        var logOnlyRules: [Rule] = []
        for reason in verdict.reasons {
            let action = action(for: reason)
            wanted = max(wanted, action)
            if mode(of: reason.rule) == .enforce {
                enforced = max(enforced, action)
            } else if action > .accept {
                logOnlyRules.append(reason.rule)
            }
        }
        let effective = enforced >= wanted ? enforced : max(enforced, .tag)
        let allLogOnly = verdict.reasons.allSatisfy { mode(of: $0.rule) == .logOnly }
        let decisionMode: Mode = effective != wanted || allLogOnly ? .logOnly : .enforce
        return Decision(verdict: verdict, action: wanted, effectiveAction: effective, mode: decisionMode, logOnlyRules: logOnlyRules)
    }
}

/// A verdict with the action the policy chose for it.
public struct Decision: Sendable, Hashable {
    public let verdict: RecipientVerdict
    /// What the policy says, whatever the mode.
    public let action: Action
    /// What actually happens: ``action`` when every rule asking for it enforces; otherwise the
    /// strongest action of the enforcing rules, at least `tag`.
    public let effectiveAction: Action
    /// `log-only` when ``action`` was not carried out (a dry run, globally or for its rules).
    public let mode: Mode
    /// Rules in log-only mode that asked for more than `accept`.
    public let logOnlyRules: [Rule]
    /// True when an authenticated sender confirmed this refused recipient (the sender override)
    /// and it was delivered anyway; ``effectiveAction`` is then `tag`.
    public private(set) var overridden = false

    public init(verdict: RecipientVerdict, action: Action, effectiveAction: Action, mode: Mode, logOnlyRules: [Rule] = []) {
        self.verdict = verdict
        self.action = action
        self.effectiveAction = effectiveAction
        self.mode = mode
        self.logOnlyRules = logOnlyRules
    }

    /// This decision delivered on the sender's word: the policy's action stays for the record,
    /// the recipient is tagged.
    public func overriddenBySender() -> Decision {
        var decision = Decision(verdict: verdict, action: action, effectiveAction: .tag, mode: mode, logOnlyRules: logOnlyRules)
        decision.overridden = true
        return decision
    }

    /// A decision under one mode for everything: in log-only mode the recipient is accepted,
    /// tagged when the policy would do anything but accept, and nothing is held.
    public init(verdict: RecipientVerdict, action: Action, mode: Mode) {
        let effective: Action = switch mode {
        case .enforce: action
        case .logOnly: action == .accept ? .accept : .tag
        }
        self.init(verdict: verdict, action: action, effectiveAction: effective, mode: mode)
    }

    /// ``explanation`` cut to at most `octets` UTF-8 octets (ending in `...`): an SMTP reply line
    /// may not pass 512 octets (RFC 5321), and a local part can be as long as the MTA's line.
    public func explanation(maximumOctets octets: Int) -> String {
        explanation.truncated(toOctets: octets)
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
