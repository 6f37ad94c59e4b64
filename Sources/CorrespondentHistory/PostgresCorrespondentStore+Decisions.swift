import PostgresNIO

extension PostgresCorrespondentStore {
    public func recordDecisions(_ decisions: [RecordedDecision], writeID: String?) async throws {
        guard !decisions.isEmpty else { return }
        try await translating { try await writeDecisions(decisions, writeID: writeID) }
    }

    private func writeDecisions(_ decisions: [RecordedDecision], writeID: String?) async throws {
        let counters = DecisionSchema.counters(decisions)
        let lastDay = decisions.map(\.day).max() ?? 0
        let count = decisions.count
        try await client.withTransaction(logger: logger) { connection in
            guard try await claim(writeID, day: lastDay, on: connection) else { return }
            // The ids first, so the rules can name their decision whatever the batch size. A
            // suspected domain travels as "" for none (arrays of optionals do not encode).
            var ids: [Int64] = []
            let numbers = try await connection.query(
                "SELECT nextval(pg_get_serial_sequence('decisions', 'id')) FROM generate_series(1, \(count))", logger: logger)
            for try await id in numbers.decode(Int64.self) { ids.append(id) }
            let times = decisions.map { Int64($0.time) }, days = decisions.map(\.day), queueIDs = decisions.map(\.queueID)
            let senders = decisions.map(\.sender), recipients = decisions.map(\.recipient), domains = decisions.map(\.recipientDomain)
            let roles = decisions.map(\.role), levels = decisions.map(\.level), scores = decisions.map(\.score)
            let actions = decisions.map(\.action), outcomes = decisions.map(\.outcome.rawValue)
            let rules = decisions.map { DecisionSchema.rules($0.rules) }, suspected = decisions.map { $0.suspected ?? "" }
            let explanations = decisions.map(\.explanation)
            try await connection.query("""
                INSERT INTO decisions (id, time, day, queue_id, sender, recipient, recipient_domain, role, level, score, action, outcome, rules, suspected, explanation)
                SELECT i, t, d, q, s, r, rd, ro, l, sc, a, o, ru, NULLIF(su, ''), e
                FROM UNNEST(\(ids)::bigint[], \(times)::bigint[], \(days)::integer[], \(queueIDs)::text[], \(senders)::text[],
                    \(recipients)::text[], \(domains)::text[], \(roles)::text[], \(levels)::text[], \(scores)::float8[], \(actions)::text[],
                    \(outcomes)::text[], \(rules)::text[], \(suspected)::text[], \(explanations)::text[])
                    AS u(i, t, d, q, s, r, rd, ro, l, sc, a, o, ru, su, e)
                """, logger: logger)
            var ruleNames: [String] = [], ruleIDs: [Int64] = [], ruleDays: [Int] = []
            for (decision, id) in zip(decisions, ids) {
                for name in Set(decision.rules).sorted() {
                    ruleNames.append(name)
                    ruleIDs.append(id)
                    ruleDays.append(decision.day)
                }
            }
            if !ruleNames.isEmpty {
                try await connection.query("""
                    INSERT INTO decision_rules (rule, decision_id, day)
                    SELECT * FROM UNNEST(\(ruleNames)::text[], \(ruleIDs)::bigint[], \(ruleDays)::integer[])
                    """, logger: logger)
            }
            let kinds = counters.map(\.kind), keys = counters.map(\.key), counterDays = counters.map(\.day), totals = counters.map(\.recipients)
            try await connection.query("""
                INSERT INTO decision_days (kind, key, day, recipients)
                SELECT * FROM UNNEST(\(kinds)::text[], \(keys)::text[], \(counterDays)::integer[], \(totals)::bigint[])
                ON CONFLICT (kind, key, day) DO UPDATE SET recipients = decision_days.recipients + EXCLUDED.recipients
                """, logger: logger)
        }
    }

    public func decisions(_ query: DecisionQuery) async throws -> [RecordedDecision] {
        try await translating {
            let (select, values) = DecisionSchema.select(query)
            var bindings = PostgresBindings()
            for value in values {
                switch value {
                case .text(let text): bindings.append(text)
                case .integer(let number): bindings.append(number)
                }
            }
            bindings.append(query.limit)
            // $1, $2, … for the ? placeholders, in order (no ? occurs in the SQL otherwise).
            var sql = "", number = 0
            for character in select {
                if character == "?" { number += 1; sql += "$\(number)" } else { sql.append(character) }
            }
            let rows = try await client.query(PostgresQuery(unsafeSQL: sql, binds: bindings), logger: logger)
            var decisions: [RecordedDecision] = []
            for try await row in rows {
                let columns = row.makeRandomAccess()
                decisions.append(RecordedDecision(
                    id: try columns[0].decode(Int64.self), time: Int(try columns[1].decode(Int64.self)),
                    queueID: try columns[2].decode(String.self), sender: try columns[3].decode(String.self),
                    recipient: try columns[4].decode(String.self), recipientDomain: try columns[5].decode(String.self),
                    role: try columns[6].decode(String.self), level: try columns[7].decode(String.self),
                    score: try columns[8].decode(Double.self), action: try columns[9].decode(String.self),
                    outcome: RecordedDecision.Outcome(rawValue: try columns[10].decode(String.self)) ?? .flagged,
                    rules: DecisionSchema.rules(try columns[11].decode(String.self)),
                    suspected: try columns[12].decode(String?.self), explanation: try columns[13].decode(String.self)))
            }
            return decisions
        }
    }

    public func decisionSummary(sinceDay: Int) async throws -> DecisionSummary {
        try await translating {
            let rows = try await client.query(
                PostgresQuery(unsafeSQL: "SELECT kind, key, day, recipients FROM decision_days WHERE kind IN \(DecisionSummary.dailyKinds) AND day >= $1",
                              binds: { var binds = PostgresBindings(); binds.append(sinceDay); return binds }()), logger: logger)
            var summary = DecisionSummary()
            for try await (kind, key, day, recipients) in rows.decode((String, String, Int, Int).self) {
                summary.add(kind: kind, key: key, day: day, recipients: recipients)
            }
            let domains = try await client.query("""
                SELECT key, CAST(SUM(recipients) AS BIGINT) AS total FROM decision_days WHERE kind = 'domain' AND day >= \(sinceDay)
                GROUP BY key ORDER BY total DESC, key LIMIT \(DecisionSummary.topDomains)
                """, logger: logger)
            for try await (key, total) in domains.decode((String, Int).self) { summary.spanTotals["domain", default: [:]][key] = total }
            return summary
        }
    }
}
