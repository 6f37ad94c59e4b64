import CorrespondentHistory
import MisdirectionRisk
import Testing

/// Recording, searching and counting decisions: the same from both backends.
@Suite(.serialized)
struct DecisionStoreTests {
    static func decision(
        _ recipient: String, day: Int, second: Int = 0, sender: String = "alice@example.org", level: String = "high",
        outcome: RecordedDecision.Outcome = .refused, rules: [String] = ["tld-swap"]
    ) -> RecordedDecision {
        let domain = recipient.split(separator: "@").last.map(String.init) ?? ""
        return RecordedDecision(
            time: day * 86400 + second, queueID: "4ABC\(day)", sender: sender, recipient: recipient, recipientDomain: domain,
            level: level, score: 0.9, action: "reject", outcome: outcome, rules: rules, suspected: "army.mil",
            explanation: "\(domain) looks like army.mil")
    }

    /// Three days of decisions, with different senders, levels, outcomes and rules.
    static let sample: [RecordedDecision] = [
        decision("a@army.ml", day: 100, second: 1),
        decision("b@army.ml", day: 100, second: 2, sender: "bob@example.org", level: "medium", outcome: .tagged, rules: ["edit-distance"]),
        decision("c@navy.ml", day: 101, second: 1, outcome: .wouldRefuse, rules: ["tld-swap", "edit-distance"]),
        decision("d@gmial.com", day: 102, second: 1, sender: "bob@example.org", level: "low", outcome: .flagged, rules: ["typo-provider"]),
    ]

    @Test("decisions come back newest first, whole, and each filter narrows them", arguments: Backend.allCases)
    func search(_ backend: Backend) async throws {
        try await withStore(backend) { store, _ in
            try await store.recordDecisions(Self.sample, writeID: nil)
            let all = try await store.decisions(DecisionQuery())
            #expect(all.map(\.recipient) == ["d@gmial.com", "c@navy.ml", "b@army.ml", "a@army.ml"])
            #expect(all.allSatisfy { $0.id != nil })
            var first = all.last!
            first.id = nil
            #expect(first == Self.sample[0])
            #expect(all[1].rules == ["tld-swap", "edit-distance"])

            func recipients(_ query: DecisionQuery) async throws -> [String] { try await store.decisions(query).map(\.recipient) }
            #expect(try await recipients(DecisionQuery(domain: "ARMY.ml")) == ["b@army.ml", "a@army.ml"])
            #expect(try await recipients(DecisionQuery(sender: "Bob@example.org")) == ["d@gmial.com", "b@army.ml"])
            #expect(try await recipients(DecisionQuery(rule: "edit-distance")) == ["c@navy.ml", "b@army.ml"])
            #expect(try await recipients(DecisionQuery(level: "high")) == ["c@navy.ml", "a@army.ml"])
            #expect(try await recipients(DecisionQuery(outcome: .wouldRefuse)) == ["c@navy.ml"])
            #expect(try await recipients(DecisionQuery(day: 100)) == ["b@army.ml", "a@army.ml"])
            #expect(try await recipients(DecisionQuery(sender: "bob@example.org", level: "low")) == ["d@gmial.com"])
            #expect(try await recipients(DecisionQuery(domain: "nowhere.example")) == [])
            // A page, then the next one after its last id.
            let page = try await store.decisions(DecisionQuery(limit: 3))
            #expect(page.count == 3)
            #expect(try await recipients(DecisionQuery(before: page.last!.id, limit: 3)) == ["a@army.ml"])
        }
    }

    @Test("the counters sum per day and kind across writes; a retried write counts once", arguments: Backend.allCases)
    func counters(_ backend: Backend) async throws {
        try await withStore(backend) { store, _ in
            try await store.recordDecisions(Array(Self.sample.prefix(2)), writeID: "w1")
            try await store.recordDecisions(Array(Self.sample.suffix(2)), writeID: "w2")
            try await store.recordDecisions(Array(Self.sample.suffix(2)), writeID: "w2")
            #expect(try await store.decisions(DecisionQuery()).count == 4)
            let summary = try await store.decisionSummary(sinceDay: 0)
            var expected = DecisionSummary()
            for decision in Self.sample { expected.add(decision) }
            for kind in ["level", "rule", "outcome"] { #expect(summary.series(kind) == expected.series(kind), "\(kind)") }
            #expect(summary.totals("domain").map(\.key) == expected.totals("domain").map(\.key))
            #expect(summary.totals("domain").map(\.recipients) == [2, 1, 1])
            #expect(summary.series("level")["high"] == [100: 1, 101: 1])
            #expect(summary.series("rule")["tld-swap"] == [100: 1, 101: 1])
            #expect(summary.totals("domain").first?.key == "army.ml")
            #expect(summary.wouldRefuse == [101: 1])
            #expect(try await store.decisionSummary(sinceDay: 102).series("level").keys.sorted() == ["low"])
        }
    }

    @Test("prune deletes the decisions and counters of the days before the retention", arguments: Backend.allCases)
    func prune(_ backend: Backend) async throws {
        try await withStore(backend) { store, _ in
            try await store.recordDecisions(Self.sample, writeID: nil)
            let rows = try await store.prune(before: 101)
            #expect(rows > 2)
            #expect(try await store.decisions(DecisionQuery()).map(\.recipient) == ["d@gmial.com", "c@navy.ml"])
            #expect(try await store.decisions(DecisionQuery(rule: "edit-distance")).map(\.recipient) == ["c@navy.ml"])
            #expect(try await store.decisionSummary(sinceDay: 0).days == 101...102)
        }
    }
}

extension DecisionStoreTests {
    @Test("forget erases the decisions about the domain and its sub-domains, and its domain counter", arguments: Backend.allCases)
    func forget(_ backend: Backend) async throws {
        try await withStore(backend) { store, _ in
            try await store.recordDecisions(Self.sample + [Self.decision("e@mail.army.ml", day: 102)], writeID: nil)
            #expect(try await store.forget("army.ml") == 3)
            #expect(try await store.decisions(DecisionQuery()).map(\.recipient) == ["d@gmial.com", "c@navy.ml"])
            #expect(try await store.decisions(DecisionQuery(rule: "edit-distance")).map(\.recipient) == ["c@navy.ml"])
            #expect(try await store.decisionSummary(sinceDay: 0).totals("domain").map(\.key) == ["gmial.com", "navy.ml"])
        }
    }
}
