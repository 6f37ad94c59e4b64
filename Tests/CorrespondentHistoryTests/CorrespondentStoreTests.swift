import CorrespondentHistory
import MisdirectionRisk
import Testing

/// The same behaviour from both backends.
@Suite(.serialized)
struct CorrespondentStoreTests {
    @Test("preparing twice (as two MTAs starting at once would) keeps the data", arguments: Backend.allCases)
    func prepareIsIdempotent(_ backend: Backend) async throws {
        try await withStore(backend) { store, fixture in
            try await store.record([Observation(senderDomain: "example.org", recipientDomain: "partner.com", day: 100)])
            let other = try fixture.open()
            try await other.prepare()
            try await store.prepare()
            #expect(try await other.facts(sinceDay: 0)["partner.com"]?.messages == 1)
            await other.close()
        }
    }

    @Test("facts sum messages over sender domains and count distinct days, first and last", arguments: Backend.allCases)
    func facts(_ backend: Backend) async throws {
        try await withStore(backend) { store, _ in
            try await store.record([
                Observation(senderDomain: "example.org", recipientDomain: "partner.com", day: 100),
                Observation(senderDomain: "example.org", recipientDomain: "partner.com", day: 100),
                Observation(senderDomain: "example.org", recipientDomain: "x.com", day: 100),
            ])
            try await store.record([
                Observation(senderDomain: "example.org", recipientDomain: "partner.com", day: 101),
                Observation(senderDomain: "other.org", recipientDomain: "partner.com", day: 105, messages: 2),
                Observation(senderDomain: "other.org", recipientDomain: "partner.com", day: 101),
            ])
            let facts = try await store.facts(sinceDay: 0)
            #expect(facts["partner.com"] == CorrespondentFacts(messages: 6, days: 3, firstDay: 100, lastDay: 105))
            #expect(facts["x.com"] == CorrespondentFacts(messages: 1, days: 1, firstDay: 100, lastDay: 100))
            #expect(try await store.facts(sinceDay: 101)["partner.com"] == CorrespondentFacts(messages: 4, days: 2, firstDay: 101, lastDay: 105))
            #expect(try await store.facts(sinceDay: 101)["x.com"] == nil)
        }
    }

    @Test("two writers adding to the same rows at once lose nothing", arguments: Backend.allCases)
    func concurrentWriters(_ backend: Backend) async throws {
        try await withStore(backend) { store, fixture in
            let second = try fixture.open()
            try await withThrowingTaskGroup(of: Void.self) { group in
                for writer in [store, second] {
                    group.addTask {
                        for round in 0..<20 {
                            // Overlapping rows, in a different order per round.
                            let days = round.isMultiple(of: 2) ? [200, 201, 202] : [202, 201, 200]
                            try await writer.record(days.flatMap { day in
                                ["a.com", "b.com"].map { Observation(senderDomain: "example.org", recipientDomain: $0, day: day) }
                            })
                        }
                    }
                }
                try await group.waitForAll()
            }
            let facts = try await store.facts(sinceDay: 0)
            #expect(facts["a.com"] == CorrespondentFacts(messages: 120, days: 3, firstDay: 200, lastDay: 202))
            #expect(facts["b.com"]?.messages == 120)
            await second.close()
        }
    }

    @Test("a report lists the domain and its sub-domains per sender domain, and hashed addresses", arguments: Backend.allCases)
    func report(_ backend: Backend) async throws {
        try await withStore(backend) { store, _ in
            try await store.record([
                Observation(senderDomain: "example.org", recipientDomain: "partner.ml", day: 300, addressHashes: ["h1", "h2"]),
                Observation(senderDomain: "example.org", recipientDomain: "partner.ml", day: 301, addressHashes: ["h1"]),
                Observation(senderDomain: "lab.example.org", recipientDomain: "hq.partner.ml", day: 302),
                Observation(senderDomain: "example.org", recipientDomain: "notpartner.ml", day: 302),
            ])
            let report = try await store.report(for: "partner.ml", sinceDay: 0)
            #expect(report.totals.keys.sorted() == ["hq.partner.ml", "partner.ml"])
            #expect(report.totals["partner.ml"] == CorrespondentFacts(messages: 2, days: 2, firstDay: 300, lastDay: 301))
            #expect(report.rows.map(\.senderDomain) == ["example.org", "lab.example.org"])
            #expect(report.addresses == ["partner.ml": 2])
        }
    }

    @Test("forget deletes the domain and its sub-domains, not names that merely end alike", arguments: Backend.allCases)
    func forget(_ backend: Backend) async throws {
        try await withStore(backend) { store, _ in
            try await store.record([
                Observation(senderDomain: "example.org", recipientDomain: "army.ml", day: 10, addressHashes: ["h"]),
                Observation(senderDomain: "example.org", recipientDomain: "hq.army.ml", day: 10),
                Observation(senderDomain: "example.org", recipientDomain: "navy-army.ml", day: 10),
                Observation(senderDomain: "example.org", recipientDomain: "a_b.ml", day: 10),
                Observation(senderDomain: "example.org", recipientDomain: "axb.ml", day: 10),
            ])
            #expect(try await store.forget("army.ml") == 3)
            #expect(try await store.forget("a_b.ml") == 1)
            #expect(try await store.facts(sinceDay: 0).keys.sorted() == ["axb.ml", "navy-army.ml"])
        }
    }

    @Test("prune deletes the days before the retention", arguments: Backend.allCases)
    func prune(_ backend: Backend) async throws {
        try await withStore(backend) { store, _ in
            try await store.record([
                Observation(senderDomain: "example.org", recipientDomain: "old.com", day: 10, addressHashes: ["h"]),
                Observation(senderDomain: "example.org", recipientDomain: "both.com", day: 10),
                Observation(senderDomain: "example.org", recipientDomain: "both.com", day: 20),
            ])
            #expect(try await store.prune(before: 15) == 3)
            let facts = try await store.facts(sinceDay: 0)
            #expect(facts.keys.sorted() == ["both.com"])
            #expect(facts["both.com"]?.firstDay == 20)
        }
    }

    @Test("a PostgreSQL history whose schema a newer version migrated is refused, not written")
    func newerSchemaRefused() async throws {
        try await withStore(.postgresql) { _, fixture in
            _ = try SharedPostgres.get().sql(
                "UPDATE misdirect_meta SET value = '99' WHERE key = 'schema_version'", database: fixture.location)
            let newer = try fixture.open()
            do {
                try await newer.prepare()
                Issue.record("prepared a history of schema version 99")
            } catch let error as StoreError {
                #expect(error.description.contains("schema is version 99, newer than this misdirect-milter's"), "\(error)")
            }
            await newer.close()
        }
    }
}
