import Foundation
import GRDB
import Locking
import MisdirectionRisk

/// The correspondent history in one SQLite file (GRDB), in WAL mode so that readers never
/// wait for the writer, and several processes on one host (the milter, `history import`) can
/// share it.
public final class SQLiteCorrespondentStore: CorrespondentStore {
    /// The file name inside the state directory.
    public static let fileName = "history.sqlite"

    public let path: String
    private let busyTimeout: Duration
    private let opened = LockedValue<DatabasePool?>(nil)

    /// A store in the file at `path`, opened (and created, with its directory, readable only by
    /// this user and group) on first use, so a file that cannot be opened yet is retried.
    /// - Parameter busyTimeout: how long a write waits for another process's write.
    public init(path: String, busyTimeout: Duration = .seconds(5)) {
        self.path = path
        self.busyTimeout = busyTimeout
    }

    private func pool() throws -> DatabasePool {
        try opened.withLock { opened in
            if let opened { return opened }
            let directory = (path as NSString).deletingLastPathComponent
            if !directory.isEmpty, !FileManager.default.fileExists(atPath: directory) {
                do {
                    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o750])
                } catch {
                    throw StoreError("cannot create \(directory): \(error.localizedDescription)")
                }
            }
            let isNew = !FileManager.default.fileExists(atPath: path)
            var configuration = Configuration()
            configuration.busyMode = .timeout(Double(busyTimeout.components.seconds) + Double(busyTimeout.components.attoseconds) / 1e18)
            configuration.label = "misdirect-milter history"
            do {
                let pool = try DatabasePool(path: path, configuration: configuration)
                if isNew { chmod(path, 0o640) }
                opened = pool
                return pool
            } catch {
                throw StoreError("cannot open \(path): \(Self.message(error))")
            }
        }
    }

    public func prepare() async throws {
        try await write { db in
            try db.execute(sql: StoreSchema.metaTable)
            let current = try Int.fetchOne(db, sql: "SELECT CAST(value AS INTEGER) FROM misdirect_meta WHERE key = 'schema_version'") ?? 0
            try StoreSchema.refuseNewer(current)
            guard current < StoreSchema.version else { return }
            for step in StoreSchema.steps(decisionID: "INTEGER PRIMARY KEY")[current...] {
                for statement in step { try db.execute(sql: statement) }
            }
            try db.execute(
                sql: "INSERT INTO misdirect_meta (key, value) VALUES ('schema_version', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                arguments: [String(StoreSchema.version)])
        }
    }

    public func record(_ observations: [Observation], writeID: String?) async throws {
        let batch = Batch(observations)
        guard !batch.domains.isEmpty else { return }
        try await write { db in
            guard try Self.claim(writeID, day: batch.lastDay, in: db) else { return }
            let domains = try db.cachedStatement(sql: """
                INSERT INTO correspondent_days (sender_domain, recipient_domain, day, messages) VALUES (?, ?, ?, ?)
                ON CONFLICT (sender_domain, recipient_domain, day) DO UPDATE SET messages = messages + excluded.messages
                """)
            for (key, messages) in batch.domains {
                try domains.execute(arguments: [key.sender, key.recipient, key.day, messages])
            }
            guard !batch.addresses.isEmpty else { return }
            let addresses = try db.cachedStatement(sql: """
                INSERT INTO recipient_addresses (recipient_domain, address_hash, day, messages) VALUES (?, ?, ?, ?)
                ON CONFLICT (recipient_domain, address_hash, day) DO UPDATE SET messages = messages + excluded.messages
                """)
            for (key, messages) in batch.addresses {
                try addresses.execute(arguments: [key.recipient, key.hash, key.day, messages])
            }
        }
    }

    public func facts(sinceDay: Int) async throws -> [String: CorrespondentFacts] {
        try await read { db in
            var facts: [String: CorrespondentFacts] = [:]
            let rows = try Row.fetchCursor(db, sql: """
                SELECT recipient_domain, SUM(messages), COUNT(DISTINCT day), MIN(day), MAX(day)
                FROM correspondent_days WHERE day >= ? GROUP BY recipient_domain
                """, arguments: [sinceDay])
            while let row = try rows.next() {
                facts[row[0]] = CorrespondentFacts(messages: row[1], days: row[2], firstDay: row[3], lastDay: row[4])
            }
            return facts
        }
    }

    public func report(for domain: String, sinceDay: Int) async throws -> CorrespondentReport {
        let pattern = StoreSchema.subdomainPattern(domain)
        return try await read { db in
            var report = CorrespondentReport()
            let match = "(recipient_domain = ? OR recipient_domain LIKE ? ESCAPE '\\')"
            for row in try Row.fetchAll(db, sql: """
                SELECT recipient_domain, SUM(messages), COUNT(DISTINCT day), MIN(day), MAX(day)
                FROM correspondent_days WHERE \(match) AND day >= ? GROUP BY recipient_domain
                """, arguments: [domain, pattern, sinceDay]) {
                report.totals[row[0]] = CorrespondentFacts(messages: row[1], days: row[2], firstDay: row[3], lastDay: row[4])
            }
            report.rows = try Row.fetchAll(db, sql: """
                SELECT sender_domain, recipient_domain, SUM(messages) AS total, COUNT(DISTINCT day), MIN(day), MAX(day)
                FROM correspondent_days WHERE \(match) AND day >= ?
                GROUP BY sender_domain, recipient_domain ORDER BY total DESC, sender_domain, recipient_domain
                """, arguments: [domain, pattern, sinceDay]).map { row in
                CorrespondentReport.Row(
                    senderDomain: row[0], recipientDomain: row[1],
                    facts: CorrespondentFacts(messages: row[2], days: row[3], firstDay: row[4], lastDay: row[5]))
            }
            for row in try Row.fetchAll(db, sql: """
                SELECT recipient_domain, COUNT(DISTINCT address_hash) FROM recipient_addresses
                WHERE \(match) AND day >= ? GROUP BY recipient_domain
                """, arguments: [domain, pattern, sinceDay]) {
                report.addresses[row[0]] = row[1]
            }
            return report
        }
    }

    public func forget(_ domain: String) async throws -> Int {
        let pattern = StoreSchema.subdomainPattern(domain)
        return try await write { db in
            var deleted = 0
            let match = "recipient_domain = ? OR recipient_domain LIKE ? ESCAPE '\\'"
            // The decisions about it too: they hold its addresses in clear.
            try db.execute(sql: "DELETE FROM decision_rules WHERE decision_id IN (SELECT id FROM decisions WHERE \(match))", arguments: [domain, pattern])
            for table in ["correspondent_days", "recipient_addresses", "decisions"] {
                try db.execute(sql: "DELETE FROM \(table) WHERE \(match)", arguments: [domain, pattern])
                deleted += db.changesCount
            }
            try db.execute(sql: "DELETE FROM decision_days WHERE kind = 'domain' AND (key = ? OR key LIKE ? ESCAPE '\\')", arguments: [domain, pattern])
            return deleted
        }
    }

    public func prune(before day: Int) async throws -> Int {
        try await write { db in
            var deleted = 0
            for table in StoreSchema.dayTables {
                try db.execute(sql: "DELETE FROM \(table) WHERE day < ?", arguments: [day])
                deleted += db.changesCount
            }
            try db.execute(sql: "DELETE FROM recorded_writes WHERE day < ?", arguments: [day])
            return deleted
        }
    }

    public func close() async {
        let pool = opened.withLock { opened in
            defer { opened = nil }
            return opened
        }
        try? pool?.close()
    }

    func write<T: Sendable>(_ updates: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do {
            return try await pool().write(updates)
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError("\(path): \(Self.message(error))")
        }
    }

    func read<T: Sendable>(_ value: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do {
            return try await pool().read(value)
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError("\(path): \(Self.message(error))")
        }
    }

    /// Records that the write `id` is being added; false when it was added before (the first
    /// try committed, then timed out), and so must add nothing. A nil id is never retried.
    static func claim(_ id: String?, day: Int, in db: Database) throws -> Bool {
        guard let id else { return true }
        try db.execute(sql: "INSERT INTO recorded_writes (id, day) VALUES (?, ?) ON CONFLICT (id) DO NOTHING", arguments: [id, day])
        return db.changesCount == 1
    }

    private static func message(_ error: any Error) -> String {
        if let error = error as? DatabaseError { return error.message ?? "\(error)" }
        return "\(error)"
    }
}
