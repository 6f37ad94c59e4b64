/// A named signal of the classifier. Its ``id`` appears in verdicts, headers, logs and the
/// configuration (per-rule actions and dry runs).
public struct Rule: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The stable identifier, lower-case with hyphens.
    public let id: String

    public init(_ id: String) { self.id = id }

    // MARK: Look-alikes of one recipient

    /// The recipient domain is one edit (omission, insertion, substitution, transposition,
    /// repetition, vowel swap) from a protected domain or one of its sub-domains: `arny.mil`,
    /// `hq.arny.mil` for `army.mil`.
    public static let typo = Rule("typo")
    /// Two edits from a protected name of at least ``Classifier/doubleTypoMinimumLength``
    /// characters, under the same suffix: `micorsfot.com` for `microsoft.com`.
    public static let doubleTypo = Rule("double-typo")
    /// The same name under a suffix one edit away from the protected one (`army.ml`,
    /// `mod.go.uk`), or any name under a suffix one edit from a whole protected suffix (`mil`).
    public static let suffixConfusion = Rule("suffix-confusion")
    /// Dots and hyphens dropped or added, the protected domain inside a longer one, labels in
    /// reverse: `armymil.com`, `army-mil.com`, `ar.my.mil`, `army.mil.ml`, `mil.army.ml`.
    public static let structure = Rule("structure")
    /// Characters that look alike: Unicode look-alikes (`аrmy.mil` with a Cyrillic а, accented
    /// letters, `xn--` labels decoded) and ASCII ones (`rn`/`m`, `vv`/`w`, `cl`/`d`, `0`/`o`, `1`/`l`).
    public static let homoglyph = Rule("homoglyph")
    /// A label mixes scripts that are not written together (Latin with Cyrillic or Greek),
    /// whether or not it resembles a protected domain.
    public static let mixedScript = Rule("mixed-script")
    /// One bit of one character flipped (bitsquatting) where a typist would not slip: `arm9.mil`.
    public static let bitflip = Rule("bitflip")
    /// The name of a protected registrable domain (at least four letters) under another public
    /// suffix: `barclays.us` for `barclays.co.uk`, `amazon.org` for `amazon.com`, `army.mo`
    /// for `army.mil`. Often a real, separate organisation, so only `low` (accepted by
    /// default): it shows in the header, logs and replay for review.
    public static let otherSuffix = Rule("other-suffix")
    /// The recipient path could not be parsed (or its punycode is invalid), so it could not be
    /// compared: flagged rather than let through unchecked.
    public static let malformedAddress = Rule("malformed-address")

    // MARK: Message context (known at end of message)

    /// One recipient on a look-alike while the other recipients or the sender are at the real
    /// domain; raises a flagged recipient one level, flags an unflagged one `medium`.
    public static let oddOneOut = Rule("odd-one-out")
    /// The display name names another domain or address than the one it is attached to:
    /// `"J. Smith (army.mil)" <j@army.ml>`.
    public static let displayName = Rule("display-name")
    /// The Reply-To address is a look-alike of a protected domain: replies would be misdirected.
    public static let replyTo = Rule("reply-to")
    /// A protective marking (OFFICIAL-SENSITIVE, SECRET, CUI, NATO …) in the Subject or the
    /// marking headers: raises every flagged recipient one level, never lowers.
    public static let sensitivity = Rule("sensitivity")
    /// The message carries attachments: raises every flagged recipient one level.
    public static let attachment = Rule("attachment")

    // MARK: Correspondent history (see ``HistorySnapshot``)

    /// A domain nobody here has (yet) written to enough, that looks like an established
    /// correspondent: raises a look-alike one level, or flags an unflagged one `medium`.
    public static let firstContact = Rule("first-contact")
    /// The recipient's domain is itself an established correspondent: a weak finding
    /// (`other-suffix`, `mixed-script`) is lowered; a look-alike of a protected domain is not,
    /// and the reason says so (a real partner on `.ml` belongs in `trusted`).
    public static let established = Rule("established")

    /// Every rule this version knows, for validating configuration.
    public static let all: [Rule] = [
        .typo, .doubleTypo, .suffixConfusion, .structure, .homoglyph, .mixedScript, .bitflip, .otherSuffix, .malformedAddress,
        .oddOneOut, .displayName, .replyTo, .sensitivity, .attachment, .firstContact, .established,
    ]

    /// True for the rules that find a look-alike of a protected domain: correspondent history
    /// never lowers what one of them found (only `trusted` does); see ``HistorySnapshot``.
    public var findsProtectedLookAlike: Bool {
        [Rule.typo, .doubleTypo, .suffixConfusion, .structure, .homoglyph, .bitflip].contains(self)
    }

    /// True for rules that only raise the level of what other rules found.
    public var raisesLevel: Bool { self == .sensitivity || self == .attachment }

    /// True for rules that raise what another rule found, or are the finding when alone.
    public var raisesOrFinds: Bool { self == .oddOneOut || self == .firstContact }

    public var description: String { id }
    public static func < (lhs: Rule, rhs: Rule) -> Bool { lhs.id < rhs.id }
}

/// One finding behind a verdict: the rule that fired, how strongly, and a sentence that
/// explains it.
public struct Reason: Sendable, Hashable {
    public let rule: Rule
    /// From 0 to 1: the verdict's score is the highest of its reasons'.
    public let score: Double
    /// A plain-language explanation, such as "army.ml looks like a misspelling of army.mil".
    public let explanation: String

    public init(rule: Rule, score: Double, explanation: String) {
        self.rule = rule
        self.score = score
        self.explanation = explanation
    }

    /// The level this reason alone puts the recipient at.
    public var level: RiskLevel { RiskLevel(score: score) }
}
