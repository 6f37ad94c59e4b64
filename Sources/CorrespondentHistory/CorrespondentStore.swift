import MisdirectionRisk

/// Where the organisation's correspondent history is kept: who wrote to which recipient domain,
/// how often, on which days. Implemented by ``SQLiteCorrespondentStore`` (one file, the
/// default) and ``PostgresCorrespondentStore`` (shared by several MTAs).
///
/// Rows are counts per sender domain, recipient domain and day (UTC days since 1970), so
/// facts are exact whatever the order they arrive in (a `history import` of old logs after
/// live traffic), several writers can add to the same row at once, and retention is deleting
/// old days. Recipient addresses, when recorded, are only kept as keyed hashes.
public protocol CorrespondentStore: Sendable {
    /// Creates or migrates the schema. Idempotent, and safe from several processes at once.
    func prepare() async throws
    /// Adds what was delivered (summed into the day's rows).
    /// - Parameter writeID: names this write: a write retried with the same id (after a
    ///   timeout that may have come after the store committed it) is added once. Nil for a
    ///   write that is never retried.
    func record(_ observations: [Observation], writeID: String?) async throws
    /// Facts per recipient domain over every sender domain, from `sinceDay` on.
    func facts(sinceDay: Int) async throws -> [String: CorrespondentFacts]
    /// What is recorded about a recipient domain and its sub-domains, from `sinceDay` on.
    func report(for domain: String, sinceDay: Int) async throws -> CorrespondentReport
    /// Deletes everything recorded about a recipient domain and its sub-domains.
    /// - Returns: the rows deleted.
    func forget(_ domain: String) async throws -> Int
    /// Deletes the days before `day` (retention), of the history and of the decisions.
    /// - Returns: the rows deleted.
    func prune(before day: Int) async throws -> Int
    /// Adds decisions (and their counters), as ``record(_:writeID:)`` adds deliveries.
    func recordDecisions(_ decisions: [RecordedDecision], writeID: String?) async throws
    /// The decisions that match, newest first, at most `query.limit`.
    func decisions(_ query: DecisionQuery) async throws -> [RecordedDecision]
    /// The decision counters from `sinceDay` on.
    func decisionSummary(sinceDay: Int) async throws -> DecisionSummary
    /// Releases connections and files. The store is not used afterwards.
    func close() async
}

extension CorrespondentStore {
    /// Adds what was delivered, as a write that is never retried.
    public func record(_ observations: [Observation]) async throws {
        try await record(observations, writeID: nil)
    }
}

/// Mail that went from a sender domain to a recipient domain on one day: one message, and
/// the keyed hashes of the addresses it went to there when addresses are recorded.
public struct Observation: Sendable, Hashable {
    public var senderDomain: String
    public var recipientDomain: String
    public var day: Int
    public var messages: Int
    public var addressHashes: [String]

    public init(senderDomain: String, recipientDomain: String, day: Int, messages: Int = 1, addressHashes: [String] = []) {
        self.senderDomain = senderDomain
        self.recipientDomain = recipientDomain
        self.day = day
        self.messages = messages
        self.addressHashes = addressHashes
    }
}

/// The rows a batch of observations adds to, summed: one write per row whatever the batch size.
struct Batch {
    struct DomainKey: Hashable {
        let sender: String
        let recipient: String
        let day: Int
    }

    struct AddressKey: Hashable {
        let recipient: String
        let hash: String
        let day: Int
    }

    var domains: [DomainKey: Int] = [:]
    var addresses: [AddressKey: Int] = [:]

    /// The latest day of the batch: a write's id is kept as long as that day is.
    var lastDay: Int { domains.keys.map(\.day).max() ?? 0 }

    /// The domain rows in key order: writers that add to the same rows lock them in the same
    /// order, so two MTAs flushing at once cannot deadlock.
    var sortedDomains: [(key: DomainKey, messages: Int)] {
        domains.map { ($0.key, $0.value) }.sorted { a, b in
            (a.key.sender, a.key.recipient, a.key.day) < (b.key.sender, b.key.recipient, b.key.day)
        }
    }

    var sortedAddresses: [(key: AddressKey, messages: Int)] {
        addresses.map { ($0.key, $0.value) }.sorted { a, b in
            (a.key.recipient, a.key.hash, a.key.day) < (b.key.recipient, b.key.hash, b.key.day)
        }
    }

    init(_ observations: [Observation]) {
        for observation in observations {
            domains[DomainKey(sender: observation.senderDomain, recipient: observation.recipientDomain, day: observation.day), default: 0] += observation.messages
            for hash in observation.addressHashes {
                addresses[AddressKey(recipient: observation.recipientDomain, hash: hash, day: observation.day), default: 0] += observation.messages
            }
        }
    }
}

/// What `history show` prints about a domain.
public struct CorrespondentReport: Sendable, Hashable {
    /// One recipient domain (the one asked about, or a sub-domain of it) from one sender domain.
    public struct Row: Sendable, Hashable {
        public let senderDomain: String
        public let recipientDomain: String
        public let facts: CorrespondentFacts

        public init(senderDomain: String, recipientDomain: String, facts: CorrespondentFacts) {
            self.senderDomain = senderDomain
            self.recipientDomain = recipientDomain
            self.facts = facts
        }
    }

    /// Per recipient domain, over every sender domain.
    public var totals: [String: CorrespondentFacts]
    /// Per sender domain and recipient domain, most messages first.
    public var rows: [Row]
    /// Distinct hashed addresses per recipient domain (when addresses are recorded).
    public var addresses: [String: Int]

    public init(totals: [String: CorrespondentFacts] = [:], rows: [Row] = [], addresses: [String: Int] = [:]) {
        self.totals = totals
        self.rows = rows
        self.addresses = addresses
    }
}

/// The schema both backends share, as versioned steps (the SQL is plain enough for both).
enum StoreSchema {
    /// Bumped with each step added to ``steps(decisionID:)``.
    static let version = 3

    /// Each step takes the schema from its index to the next version.
    /// - Parameter decisionID: the column type of an auto-numbered key, which the backends spell
    ///   differently.
    static func steps(decisionID: String) -> [[String]] { [
        [
            """
            CREATE TABLE IF NOT EXISTS correspondent_days (
                sender_domain TEXT NOT NULL,
                recipient_domain TEXT NOT NULL,
                day INTEGER NOT NULL,
                messages BIGINT NOT NULL,
                PRIMARY KEY (sender_domain, recipient_domain, day))
            """,
            "CREATE INDEX IF NOT EXISTS correspondent_days_recipient ON correspondent_days (recipient_domain, day)",
            "CREATE INDEX IF NOT EXISTS correspondent_days_day ON correspondent_days (day)",
            """
            CREATE TABLE IF NOT EXISTS recipient_addresses (
                recipient_domain TEXT NOT NULL,
                address_hash TEXT NOT NULL,
                day INTEGER NOT NULL,
                messages BIGINT NOT NULL,
                PRIMARY KEY (recipient_domain, address_hash, day))
            """,
            "CREATE INDEX IF NOT EXISTS recipient_addresses_day ON recipient_addresses (day)",
        ],
        // 2: the ids of the writes already added, so that a retried write counts once.
        [
            "CREATE TABLE IF NOT EXISTS recorded_writes (id TEXT PRIMARY KEY, day INTEGER NOT NULL)",
            "CREATE INDEX IF NOT EXISTS recorded_writes_day ON recorded_writes (day)",
        ],
        // 3: the decisions the review console lists and charts.
        DecisionSchema.step(id: decisionID),
    ] }

    /// The tables whose rows retention deletes by their `day` (``CorrespondentStore/prune(before:)``).
    static let dayTables = ["correspondent_days", "recipient_addresses", "decisions", "decision_rules", "decision_days"]

    /// The table that records the schema version.
    static let metaTable = "CREATE TABLE IF NOT EXISTS misdirect_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)"

    /// Refuses a store a newer version of misdirect-milter has migrated: this one would read
    /// and write tables it does not know the shape of.
    static func refuseNewer(_ current: Int) throws(StoreError) {
        guard current > version else { return }
        throw StoreError(
            "the history's schema is version \(current), newer than this misdirect-milter's \(version): upgrade misdirect-milter")
    }

    /// `LIKE` pattern of the sub-domains of `domain`, with `\` as the escape character.
    static func subdomainPattern(_ domain: String) -> String {
        var escaped = ""
        for character in domain {
            if character == "\\" || character == "%" || character == "_" { escaped.append("\\") }
            escaped.append(character)
        }
        return "%." + escaped
    }
}

/// A store that cannot be used: what the configuration says is wrong or unreachable.
public struct StoreError: Error, CustomStringConvertible, Sendable {
    public let description: String

    public init(_ description: String) {
        self.description = description
    }
}
