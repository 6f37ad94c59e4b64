import Logging
import MisdirectionRisk
import PostgresNIO

/// The correspondent history in PostgreSQL (postgres-nio), so that several MTAs behind a load
/// balancer share one history. Writers add to rows with `INSERT … ON CONFLICT DO UPDATE`, in
/// key order, so concurrent flushes neither lose counts nor deadlock.
public final class PostgresCorrespondentStore: CorrespondentStore {
    /// How to reach the server.
    public struct Settings: Sendable, Equatable {
        /// A host name or address, or a directory holding the server's unix socket (as libpq:
        /// the socket is `DIR/.s.PGSQL.PORT`).
        public var host = "127.0.0.1"
        public var port = 5432
        public var user = "misdirect"
        public var password: String?
        public var database = "misdirect"
        public var tls = TLSMode.require
        /// A PEM file of the certificate authorities the server's certificate must chain to; nil:
        /// the system's trust roots.
        public var caFile: String?
        /// PEM files of a client certificate (with its chain) and its private key, for a server
        /// that authenticates clients by certificate.
        public var clientCertificate: String?
        public var clientKey: String?
        /// How long opening a connection may take.
        public var connectTimeout = Duration.seconds(2)

        public init() {}
    }

    /// Whether to speak TLS to the server (a unix socket never does).
    public enum TLSMode: String, Sendable, CaseIterable {
        /// Plain TCP.
        case disable
        /// TLS, verified as `require`, when the server offers it: anyone on the path can strip it.
        case prefer
        /// TLS or no connection, the server's certificate chained to ``Settings/caFile`` (or the
        /// system's trust roots) and naming the host (libpq's verify-full).
        case require
    }

    /// Serialises schema changes between processes starting at once.
    private static let migrationLock: Int64 = 0x6D69_7364_6972_6563

    let client: PostgresClient
    private let runner: Task<Void, Never>
    let logger: Logger

    public init(settings: Settings, logger: Logger) {
        var configuration: PostgresClient.Configuration
        if settings.host.hasPrefix("/") {
            configuration = PostgresClient.Configuration(
                unixSocketPath: "\(settings.host)/.s.PGSQL.\(settings.port)", username: settings.user,
                password: settings.password, database: settings.database)
        } else {
            let tls: PostgresClient.Configuration.TLS = switch settings.tls {
            case .disable: .disable
            case .prefer: .prefer(Self.tlsConfiguration(settings, logger: logger))
            case .require: .require(Self.tlsConfiguration(settings, logger: logger))
            }
            configuration = PostgresClient.Configuration(
                host: settings.host, port: settings.port, username: settings.user, password: settings.password,
                database: settings.database, tls: tls)
        }
        configuration.options.connectTimeout = settings.connectTimeout
        configuration.options.maximumConnections = 4
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        self.client = client
        self.logger = logger
        runner = Task { await client.run() }
    }

    /// Certificate and hostname verification, against `caFile` when given, with the client
    /// certificate when given. Files the configuration check read and that fail now leave no
    /// trust root at all: every connection then fails, none goes unverified.
    static func tlsConfiguration(_ settings: Settings, logger: Logger) -> TLSConfiguration {
        var tls = TLSConfiguration.makeClientConfiguration()
        do {
            if let caFile = settings.caFile {
                tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(caFile))
            }
            if let certificate = settings.clientCertificate, let key = settings.clientKey {
                tls.certificateChain = try NIOSSLCertificate.fromPEMFile(certificate).map { .certificate($0) }
                tls.privateKey = .privateKey(try NIOSSLPrivateKey(file: key, format: .pem))
            }
        } catch {
            logger.error("history.postgresql TLS files unreadable; no connection will be trusted", metadata: ["error": "\(error)"])
            tls.trustRoots = .certificates([])
        }
        return tls
    }

    /// Why `path` cannot serve as PEM certificates (`ca_file`, `client_certificate`), or nil.
    public static func certificateProblem(_ path: String) -> String? {
        do {
            return try NIOSSLCertificate.fromPEMFile(path).isEmpty ? "no PEM certificate in \(path)" : nil
        } catch {
            return "cannot read PEM certificates from \(path): \(error)"
        }
    }

    /// Why `path` cannot serve as a PEM private key (`client_key`), or nil.
    public static func privateKeyProblem(_ path: String) -> String? {
        do {
            _ = try NIOSSLPrivateKey(file: path, format: .pem)
            return nil
        } catch {
            return "cannot read a PEM private key from \(path): \(error)"
        }
    }

    public func prepare() async throws {
        try await translating { try await migrate() }
    }

    private func migrate() async throws {
        try await client.withTransaction(logger: logger) { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(\(Self.migrationLock))", logger: logger)
            try await connection.query(PostgresQuery(unsafeSQL: StoreSchema.metaTable), logger: logger)
            var current = 0
            let rows = try await connection.query("SELECT CAST(value AS BIGINT) FROM misdirect_meta WHERE key = 'schema_version'", logger: logger)
            for try await version in rows.decode(Int.self) { current = version }
            try StoreSchema.refuseNewer(current)
            guard current < StoreSchema.version else { return }
            for step in StoreSchema.steps(decisionID: "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY")[current...] {
                for statement in step { try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger) }
            }
            let version = String(StoreSchema.version)
            try await connection.query("""
                INSERT INTO misdirect_meta (key, value) VALUES ('schema_version', \(version))
                ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value
                """, logger: logger)
        }
    }

    public func record(_ observations: [Observation], writeID: String?) async throws {
        try await translating { try await write(observations, writeID: writeID) }
    }

    private func write(_ observations: [Observation], writeID: String?) async throws {
        let batch = Batch(observations)
        guard !batch.domains.isEmpty else { return }
        let domains = batch.sortedDomains
        let addresses = batch.sortedAddresses
        let lastDay = batch.lastDay
        try await client.withTransaction(logger: logger) { connection in
            guard try await claim(writeID, day: lastDay, on: connection) else { return }
            let senders = domains.map(\.key.sender), recipients = domains.map(\.key.recipient)
            let days = domains.map(\.key.day), counts = domains.map(\.messages)
            try await connection.query("""
                INSERT INTO correspondent_days (sender_domain, recipient_domain, day, messages)
                SELECT * FROM UNNEST(\(senders)::text[], \(recipients)::text[], \(days)::integer[], \(counts)::bigint[])
                ON CONFLICT (sender_domain, recipient_domain, day)
                DO UPDATE SET messages = correspondent_days.messages + EXCLUDED.messages
                """, logger: logger)
            guard !addresses.isEmpty else { return }
            let domainsOfAddresses = addresses.map(\.key.recipient), hashes = addresses.map(\.key.hash)
            let addressDays = addresses.map(\.key.day), addressCounts = addresses.map(\.messages)
            try await connection.query("""
                INSERT INTO recipient_addresses (recipient_domain, address_hash, day, messages)
                SELECT * FROM UNNEST(\(domainsOfAddresses)::text[], \(hashes)::text[], \(addressDays)::integer[], \(addressCounts)::bigint[])
                ON CONFLICT (recipient_domain, address_hash, day)
                DO UPDATE SET messages = recipient_addresses.messages + EXCLUDED.messages
                """, logger: logger)
        }
    }

    /// Records that the write `id` is being added; false when it was added before (the first
    /// try committed, then timed out), and so must add nothing. A nil id is never retried.
    func claim(_ id: String?, day: Int, on connection: PostgresConnection) async throws -> Bool {
        guard let id else { return true }
        let inserted = try await connection.query(
            "INSERT INTO recorded_writes (id, day) VALUES (\(id), \(day)) ON CONFLICT (id) DO NOTHING RETURNING 1", logger: logger)
        var new = false
        for try await _ in inserted.decode(Int.self) { new = true }
        return new
    }

    public func facts(sinceDay: Int) async throws -> [String: CorrespondentFacts] {
        try await translating { try await readFacts(sinceDay: sinceDay) }
    }

    private func readFacts(sinceDay: Int) async throws -> [String: CorrespondentFacts] {
        let rows = try await client.query("""
            SELECT recipient_domain, CAST(SUM(messages) AS BIGINT), COUNT(DISTINCT day), CAST(MIN(day) AS BIGINT), CAST(MAX(day) AS BIGINT)
            FROM correspondent_days WHERE day >= \(sinceDay) GROUP BY recipient_domain
            """, logger: logger)
        var facts: [String: CorrespondentFacts] = [:]
        for try await (domain, messages, days, first, last) in rows.decode((String, Int, Int, Int, Int).self) {
            facts[domain] = CorrespondentFacts(messages: messages, days: days, firstDay: first, lastDay: last)
        }
        return facts
    }

    public func report(for domain: String, sinceDay: Int) async throws -> CorrespondentReport {
        try await translating { try await readReport(for: domain, sinceDay: sinceDay) }
    }

    private func readReport(for domain: String, sinceDay: Int) async throws -> CorrespondentReport {
        let pattern = StoreSchema.subdomainPattern(domain)
        var report = CorrespondentReport()
        let totals = try await client.query("""
            SELECT recipient_domain, CAST(SUM(messages) AS BIGINT), COUNT(DISTINCT day), CAST(MIN(day) AS BIGINT), CAST(MAX(day) AS BIGINT)
            FROM correspondent_days WHERE (recipient_domain = \(domain) OR recipient_domain LIKE \(pattern) ESCAPE '\\') AND day >= \(sinceDay)
            GROUP BY recipient_domain
            """, logger: logger)
        for try await (recipient, messages, days, first, last) in totals.decode((String, Int, Int, Int, Int).self) {
            report.totals[recipient] = CorrespondentFacts(messages: messages, days: days, firstDay: first, lastDay: last)
        }
        let rows = try await client.query("""
            SELECT sender_domain, recipient_domain, CAST(SUM(messages) AS BIGINT) AS total, COUNT(DISTINCT day), CAST(MIN(day) AS BIGINT), CAST(MAX(day) AS BIGINT)
            FROM correspondent_days WHERE (recipient_domain = \(domain) OR recipient_domain LIKE \(pattern) ESCAPE '\\') AND day >= \(sinceDay)
            GROUP BY sender_domain, recipient_domain ORDER BY total DESC, sender_domain, recipient_domain
            """, logger: logger)
        for try await (sender, recipient, messages, days, first, last) in rows.decode((String, String, Int, Int, Int, Int).self) {
            report.rows.append(CorrespondentReport.Row(
                senderDomain: sender, recipientDomain: recipient,
                facts: CorrespondentFacts(messages: messages, days: days, firstDay: first, lastDay: last)))
        }
        let addresses = try await client.query("""
            SELECT recipient_domain, COUNT(DISTINCT address_hash) FROM recipient_addresses
            WHERE (recipient_domain = \(domain) OR recipient_domain LIKE \(pattern) ESCAPE '\\') AND day >= \(sinceDay)
            GROUP BY recipient_domain
            """, logger: logger)
        for try await (recipient, count) in addresses.decode((String, Int).self) {
            report.addresses[recipient] = count
        }
        return report
    }

    public func forget(_ domain: String) async throws -> Int {
        try await translating { try await delete(domain) }
    }

    private func delete(_ domain: String) async throws -> Int {
        let pattern = StoreSchema.subdomainPattern(domain)
        return try await client.withTransaction(logger: logger) { connection in
            var deleted = 0
            let days = try await connection.query("""
                WITH gone AS (DELETE FROM correspondent_days WHERE recipient_domain = \(domain) OR recipient_domain LIKE \(pattern) ESCAPE '\\' RETURNING 1)
                SELECT COUNT(*) FROM gone
                """, logger: logger)
            for try await count in days.decode(Int.self) { deleted += count }
            let addresses = try await connection.query("""
                WITH gone AS (DELETE FROM recipient_addresses WHERE recipient_domain = \(domain) OR recipient_domain LIKE \(pattern) ESCAPE '\\' RETURNING 1)
                SELECT COUNT(*) FROM gone
                """, logger: logger)
            for try await count in addresses.decode(Int.self) { deleted += count }
            // The decisions about it too: they hold its addresses in clear.
            try await connection.query("""
                DELETE FROM decision_rules WHERE decision_id IN
                    (SELECT id FROM decisions WHERE recipient_domain = \(domain) OR recipient_domain LIKE \(pattern) ESCAPE '\\')
                """, logger: logger)
            let decisions = try await connection.query("""
                WITH gone AS (DELETE FROM decisions WHERE recipient_domain = \(domain) OR recipient_domain LIKE \(pattern) ESCAPE '\\' RETURNING 1)
                SELECT COUNT(*) FROM gone
                """, logger: logger)
            for try await count in decisions.decode(Int.self) { deleted += count }
            try await connection.query(
                "DELETE FROM decision_days WHERE kind = 'domain' AND (key = \(domain) OR key LIKE \(pattern) ESCAPE '\\')", logger: logger)
            return deleted
        }
    }

    public func prune(before day: Int) async throws -> Int {
        try await translating { try await deleteDays(before: day) }
    }

    private func deleteDays(before day: Int) async throws -> Int {
        try await client.withTransaction(logger: logger) { connection in
            var deleted = 0
            var binds = PostgresBindings()
            binds.append(day)
            for table in StoreSchema.dayTables {
                let gone = try await connection.query(PostgresQuery(
                    unsafeSQL: "WITH gone AS (DELETE FROM \(table) WHERE day < $1 RETURNING 1) SELECT COUNT(*) FROM gone", binds: binds), logger: logger)
                for try await count in gone.decode(Int.self) { deleted += count }
            }
            try await connection.query("DELETE FROM recorded_writes WHERE day < \(day)", logger: logger)
            return deleted
        }
    }

    public func close() async {
        runner.cancel()
        await runner.value
    }

    /// What went wrong, without the query text and bound values a `PSQLError` can carry: the
    /// error class, the server's message, or the connection error.
    static func describe(_ error: any Error) -> String {
        guard let error = error as? PSQLError else { return "\(error)" }
        if let message = error.serverInfo?[.message] { return "\(error.code): \(message)" }
        if let underlying = error.underlying { return "\(error.code): \(underlying)" }
        return "\(error.code)"
    }

    /// Runs a store call, turning postgres-nio's errors into ``StoreError``.
    func translating<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as PSQLError {
            throw StoreError("PostgreSQL: \(Self.describe(error))")
        } catch let error as PostgresTransactionError {
            // What failed inside a transaction: our own refusal as it is, the server's error
            // described.
            if let refusal = error.closureError as? StoreError { throw refusal }
            let cause = error.closureError ?? error.beginError ?? error.commitError
            throw StoreError("PostgreSQL: \(cause.map(Self.describe) ?? "\(error)")")
        }
    }
}
