import GRDB

extension SQLiteCorrespondentStore {
    public func recordDecisions(_ decisions: [RecordedDecision], writeID: String?) async throws {
        guard !decisions.isEmpty else { return }
        let counters = DecisionSchema.counters(decisions)
        let lastDay = decisions.map(\.day).max() ?? 0
        try await write { db in
            guard try Self.claim(writeID, day: lastDay, in: db) else { return }
            let insert = try db.cachedStatement(sql: """
                INSERT INTO decisions (time, day, queue_id, sender, recipient, recipient_domain, role, level, score, action, outcome, rules, suspected, explanation)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
            let rule = try db.cachedStatement(sql: "INSERT INTO decision_rules (rule, decision_id, day) VALUES (?, ?, ?) ON CONFLICT DO NOTHING")
            for decision in decisions {
                try insert.execute(arguments: [
                    decision.time, decision.day, decision.queueID, decision.sender, decision.recipient, decision.recipientDomain,
                    decision.role, decision.level, decision.score, decision.action, decision.outcome.rawValue,
                    DecisionSchema.rules(decision.rules), decision.suspected, decision.explanation,
                ])
                let id = db.lastInsertedRowID
                for name in decision.rules { try rule.execute(arguments: [name, id, decision.day]) }
            }
            let count = try db.cachedStatement(sql: """
                INSERT INTO decision_days (kind, key, day, recipients) VALUES (?, ?, ?, ?)
                ON CONFLICT (kind, key, day) DO UPDATE SET recipients = recipients + excluded.recipients
                """)
            for row in counters { try count.execute(arguments: [row.kind, row.key, row.day, row.recipients]) }
        }
    }

    public func decisions(_ query: DecisionQuery) async throws -> [RecordedDecision] {
        let (sql, values) = DecisionSchema.select(query)
        let arguments = StatementArguments(values.map { value -> (any DatabaseValueConvertible) in
            switch value {
            case .text(let text): text
            case .integer(let number): number
            }
        }) + [query.limit]
        return try await read { db in
            try Row.fetchAll(db, sql: sql, arguments: arguments).map { row in
                RecordedDecision(
                    id: row[0], time: row[1], queueID: row[2], sender: row[3], recipient: row[4], recipientDomain: row[5], role: row[6],
                    level: row[7], score: row[8], action: row[9], outcome: RecordedDecision.Outcome(rawValue: row[10]) ?? .flagged,
                    rules: DecisionSchema.rules(row[11] as String), suspected: row[12], explanation: row[13])
            }
        }
    }

    public func decisionSummary(sinceDay: Int) async throws -> DecisionSummary {
        try await read { db in
            var summary = DecisionSummary()
            let rows = try Row.fetchCursor(db, sql: "SELECT kind, key, day, recipients FROM decision_days WHERE kind IN \(DecisionSummary.dailyKinds) AND day >= ?", arguments: [sinceDay])
            while let row = try rows.next() {
                summary.add(kind: row[0], key: row[1], day: row[2], recipients: row[3])
            }
            let domains = try Row.fetchCursor(db, sql: """
                SELECT key, SUM(recipients) AS total FROM decision_days WHERE kind = 'domain' AND day >= ?
                GROUP BY key ORDER BY total DESC, key LIMIT ?
                """, arguments: [sinceDay, DecisionSummary.topDomains])
            while let row = try domains.next() { summary.spanTotals["domain", default: [:]][row[0]] = row[1] }
            return summary
        }
    }
}
