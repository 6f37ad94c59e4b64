import MisdirectionRisk

/// A decision the milter made about one recipient that was not clean (flagged, refused, held,
/// delivered on the sender's override, or what enforce would have done in a dry run), as the
/// review console lists and counts it. Recorded in the correspondent store, off the SMTP path.
public struct RecordedDecision: Sendable, Hashable {
    /// What happened to the recipient.
    public enum Outcome: String, Sendable, CaseIterable {
        /// Refused at RCPT or at end of message (`reject` or `tempfail`, see ``RecordedDecision/action``).
        case refused
        /// The message was held for review.
        case held
        /// Delivered with `action=tag` in the header (and a copy to the review mailbox).
        case tagged
        /// Delivered: a level above none, but the policy accepts it.
        case flagged
        /// The sender confirmed the recipient (the sender override) and it was delivered.
        case overridden
        /// Log-only: enforce would have refused it.
        case wouldRefuse = "would-refuse"
        /// Log-only: enforce would have held the message.
        case wouldHold = "would-hold"
        /// Log-only: enforce would have tagged it.
        case wouldTag = "would-tag"
    }

    /// The store's number for it (increasing); nil before it is recorded.
    public var id: Int64?
    /// Seconds since 1970 (UTC).
    public var time: Int
    public var queueID: String
    /// The envelope sender as given (empty for a bounce), lower-cased.
    public var sender: String
    /// The recipient as given (the address, or the text when it is not one).
    public var recipient: String
    /// The recipient's domain, lower-cased; empty when the recipient is not an address.
    public var recipientDomain: String
    /// `recipient`, or `reply-to` for a look-alike Reply-To address.
    public var role: String
    /// `none`, `low`, `medium` or `high`.
    public var level: String
    public var score: Double
    /// The policy's action (`accept` … `reject`), whatever the mode.
    public var action: String
    public var outcome: Outcome
    /// The ids of the rules that fired.
    public var rules: [String]
    /// The domain the recipient seems to be a mistake for, if any.
    public var suspected: String?
    /// The explanation, as in the SMTP reply and the logs.
    public var explanation: String

    public init(
        id: Int64? = nil, time: Int, queueID: String, sender: String, recipient: String, recipientDomain: String,
        role: String = "recipient", level: String, score: Double, action: String, outcome: Outcome, rules: [String],
        suspected: String?, explanation: String
    ) {
        self.id = id
        self.time = time
        self.queueID = queueID
        self.sender = sender
        self.recipient = recipient
        self.recipientDomain = recipientDomain
        self.role = role
        self.level = level
        self.score = score
        self.action = action
        self.outcome = outcome
        self.rules = rules
        self.suspected = suspected
        self.explanation = explanation
    }

    /// The UTC day of ``time``, as the store counts days.
    public var day: Int { CorrespondentFacts.day(ofUnixTime: time) }

    /// The counters this decision adds to (``DecisionSummary``): its level, each rule, its
    /// recipient domain, its outcome.
    var counterKeys: [(kind: String, key: String)] {
        var keys: [(String, String)] = [("level", level), ("outcome", outcome.rawValue)]
        for rule in Set(rules).sorted() { keys.append(("rule", rule)) }
        if !recipientDomain.isEmpty { keys.append(("domain", recipientDomain)) }
        return keys
    }
}

/// What the decisions page asks for: every filter is optional; the newest first, a page at a time.
public struct DecisionQuery: Sendable, Hashable {
    /// The recipient domain, exactly (lower-cased).
    public var domain: String?
    /// The envelope sender, exactly (lower-cased).
    public var sender: String?
    public var rule: String?
    public var level: String?
    public var outcome: RecordedDecision.Outcome?
    /// One UTC day (days since 1970).
    public var day: Int?
    /// Only decisions older than this id (the next page).
    public var before: Int64?
    public var limit: Int

    public init(domain: String? = nil, sender: String? = nil, rule: String? = nil, level: String? = nil,
                outcome: RecordedDecision.Outcome? = nil, day: Int? = nil, before: Int64? = nil, limit: Int = 100) {
        self.domain = domain?.lowercased()
        self.sender = sender?.lowercased()
        self.rule = rule
        self.level = level
        self.outcome = outcome
        self.day = day
        self.before = before
        self.limit = limit
    }
}

/// Recipients per day and per level, rule, outcome and domain: what the charts draw. Kept as
/// counters the store adds to when it records a decision, so drawing never reads the decisions.
public struct DecisionSummary: Sendable, Hashable {
    /// kind (`level`, `rule`, `outcome`, `domain`) → key → day → recipients.
    public var counts: [String: [String: [Int: Int]]] = [:]
    /// Kinds known only as totals over the span: kind → key → recipients. The store reads the
    /// domains so (the most frequent ``topDomains``): per day they would be most of the rows,
    /// and no chart draws them per day.
    public var spanTotals: [String: [String: Int]] = [:]

    /// How many domains a summary read from a store holds.
    public static let topDomains = 100
    /// The kinds a summary read from a store holds per day (the domains only as totals).
    static let dailyKinds = "('level', 'outcome', 'rule')"

    public init() {}

    public mutating func add(kind: String, key: String, day: Int, recipients: Int = 1) {
        counts[kind, default: [:]][key, default: [:]][day, default: 0] += recipients
    }

    /// Adds a decision to every counter it belongs to.
    public mutating func add(_ decision: RecordedDecision) {
        for (kind, key) in decision.counterKeys { add(kind: kind, key: key, day: decision.day) }
    }

    /// Per key of `kind`, recipients per day.
    public func series(_ kind: String) -> [String: [Int: Int]] { counts[kind] ?? [:] }

    /// Per key of `kind`, the total over every day, most first (then by name).
    public func totals(_ kind: String) -> [(key: String, recipients: Int)] {
        var totals: [(key: String, recipients: Int)] = []
        if let known = spanTotals[kind] {
            for (key, recipients) in known { totals.append((key, recipients)) }
        } else {
            for (key, days) in series(kind) { totals.append((key, days.values.reduce(0, +))) }
        }
        return totals.sorted { a, b in
            a.recipients != b.recipients ? a.recipients > b.recipients : a.key < b.key
        }
    }

    /// The days with any count, first to last.
    public var days: ClosedRange<Int>? {
        let all = counts.values.flatMap { $0.values.flatMap(\.keys) }
        guard let first = all.min(), let last = all.max() else { return nil }
        return first...last
    }

    /// Recipients enforce would have refused (log-only), per day.
    public var wouldRefuse: [Int: Int] { series("outcome")[RecordedDecision.Outcome.wouldRefuse.rawValue] ?? [:] }
}

/// The decision tables, as schema step 3 (`id`: the column type of the backend's auto-numbered key).
enum DecisionSchema {
    static func step(id: String) -> [String] {
        [
            """
            CREATE TABLE IF NOT EXISTS decisions (
                id \(id),
                time BIGINT NOT NULL,
                day INTEGER NOT NULL,
                queue_id TEXT NOT NULL,
                sender TEXT NOT NULL,
                recipient TEXT NOT NULL,
                recipient_domain TEXT NOT NULL,
                role TEXT NOT NULL,
                level TEXT NOT NULL,
                score DOUBLE PRECISION NOT NULL,
                action TEXT NOT NULL,
                outcome TEXT NOT NULL,
                rules TEXT NOT NULL,
                suspected TEXT,
                explanation TEXT NOT NULL)
            """,
            // Each filter of the page reads its own index, newest first.
            "CREATE INDEX IF NOT EXISTS decisions_day ON decisions (day, id)",
            "CREATE INDEX IF NOT EXISTS decisions_domain ON decisions (recipient_domain, id)",
            "CREATE INDEX IF NOT EXISTS decisions_sender ON decisions (sender, id)",
            "CREATE INDEX IF NOT EXISTS decisions_level ON decisions (level, id)",
            "CREATE INDEX IF NOT EXISTS decisions_outcome ON decisions (outcome, id)",
            """
            CREATE TABLE IF NOT EXISTS decision_rules (
                rule TEXT NOT NULL,
                decision_id BIGINT NOT NULL,
                day INTEGER NOT NULL,
                PRIMARY KEY (rule, decision_id))
            """,
            "CREATE INDEX IF NOT EXISTS decision_rules_day ON decision_rules (day)",
            """
            CREATE TABLE IF NOT EXISTS decision_days (
                kind TEXT NOT NULL,
                key TEXT NOT NULL,
                day INTEGER NOT NULL,
                recipients BIGINT NOT NULL,
                PRIMARY KEY (kind, key, day))
            """,
            "CREATE INDEX IF NOT EXISTS decision_days_day ON decision_days (day)",
            // A summary reads each kind over a span of days.
            "CREATE INDEX IF NOT EXISTS decision_days_kind ON decision_days (kind, day)",
        ]
    }

    /// The rules column: ids separated by commas.
    static func rules(_ rules: [String]) -> String { rules.joined(separator: ",") }

    static func rules(_ column: String) -> [String] { column.split(separator: ",").map(String.init) }

    /// The query's SQL with `?` placeholders, the limit last, and the values before it. With a
    /// rule, the rule's index leads (newest first), so a frequent rule stops after a page and a
    /// rare one reads only its own rows.
    static func select(_ query: DecisionQuery) -> (sql: String, values: [DecisionValue]) {
        var clauses: [String] = [], values: [DecisionValue] = []
        if let rule = query.rule { clauses.append("r.rule = ?"); values.append(.text(rule)) }
        if let domain = query.domain { clauses.append("d.recipient_domain = ?"); values.append(.text(domain)) }
        if let sender = query.sender { clauses.append("d.sender = ?"); values.append(.text(sender)) }
        if let level = query.level { clauses.append("d.level = ?"); values.append(.text(level)) }
        if let outcome = query.outcome { clauses.append("d.outcome = ?"); values.append(.text(outcome.rawValue)) }
        if let day = query.day { clauses.append("d.day = ?"); values.append(.integer(Int64(day))) }
        let key = query.rule == nil ? "d.id" : "r.decision_id"
        if let before = query.before { clauses.append("\(key) < ?"); values.append(.integer(before)) }
        let source = query.rule == nil ? "decisions d" : "decision_rules r JOIN decisions d ON d.id = r.decision_id"
        let condition = clauses.isEmpty ? "" : " WHERE " + clauses.joined(separator: " AND ")
        return ("SELECT \(qualifiedColumns) FROM \(source)\(condition) ORDER BY \(key) DESC LIMIT ?", values)
    }

    /// The counter rows a batch adds to, summed, in key order (writers lock rows in one order).
    static func counters(_ decisions: [RecordedDecision]) -> [(kind: String, key: String, day: Int, recipients: Int)] {
        var summary = DecisionSummary()
        for decision in decisions { summary.add(decision) }
        var rows: [(kind: String, key: String, day: Int, recipients: Int)] = []
        for (kind, keys) in summary.counts {
            for (key, days) in keys {
                for (day, recipients) in days { rows.append((kind, key, day, recipients)) }
            }
        }
        return rows.sorted { ($0.kind, $0.key, $0.day) < ($1.kind, $1.key, $1.day) }
    }

    /// The columns a decision is read from, in the order the stores decode them, of the table `d`.
    static let qualifiedColumns = ["id", "time", "queue_id", "sender", "recipient", "recipient_domain", "role", "level", "score",
                                   "action", "outcome", "rules", "suspected", "explanation"].map { "d." + $0 }.joined(separator: ", ")
}

/// A value bound to a decision query.
enum DecisionValue: Sendable {
    case text(String)
    case integer(Int64)
}
