/// A named signal of the classifier. Its ``id`` appears in verdicts, headers, logs and the
/// configuration (per-rule actions and dry runs).
public struct Rule: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The stable identifier, lower-case with hyphens.
    public let id: String

    public init(_ id: String) { self.id = id }

    /// The recipient domain is one edit (insertion, deletion, substitution or swap of adjacent
    /// characters) away from a protected domain: `arny.mil` for `army.mil`.
    public static let typo = Rule("typo")
    /// The same name under a suffix one edit away from the protected one: `army.ml` for
    /// `army.mil`, or any `*.ml` when the whole `mil` suffix is protected.
    public static let suffixConfusion = Rule("suffix-confusion")

    /// The recipient path could not be parsed, so it could not be compared: flagged rather than
    /// let through unchecked.
    public static let malformedAddress = Rule("malformed-address")

    /// Every rule this version knows, for validating configuration.
    public static let all: [Rule] = [.typo, .suffixConfusion, .malformedAddress]

    public var description: String { id }
    public static func < (lhs: Rule, rhs: Rule) -> Bool { lhs.id < rhs.id }
}

/// One finding behind a verdict: the rule that fired and a sentence that explains it.
public struct Reason: Sendable, Hashable {
    public let rule: Rule
    /// A plain-language explanation, such as "army.ml looks like a misspelling of army.mil".
    public let explanation: String

    public init(rule: Rule, explanation: String) {
        self.rule = rule
        self.explanation = explanation
    }
}
