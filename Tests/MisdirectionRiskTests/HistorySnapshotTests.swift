import MisdirectionRisk
import Testing

struct HistorySnapshotTests {
    /// Facts of `messages` messages over `days` days, ending on day 20,000.
    static func facts(_ messages: Int, days: Int) -> CorrespondentFacts {
        CorrespondentFacts(messages: messages, days: days, firstDay: 20_000 - days + 1, lastDay: 20_000)
    }

    static func history(_ facts: [String: CorrespondentFacts], typoRatio: Int = 100) -> HistorySnapshot {
        HistorySnapshot(facts: facts, threshold: EstablishedThreshold(messages: 3, days: 2), typoRatio: typoRatio, like: Fixtures.classifier)
    }

    func verdict(_ address: String, _ history: HistorySnapshot, lowering: Bool = true) -> RecipientVerdict {
        history.assess(Fixtures.verdict(address), lowering: lowering)
    }

    @Test("a first message to a look-alike of an established correspondent is one level higher, naming it")
    func firstContactRaises() {
        let before = Fixtures.verdict("x@rmy.mil")
        #expect(before.level == .medium)
        let after = verdict("x@rmy.mil", Self.history(["army.mil": Self.facts(40, days: 12)]))
        #expect(after.level == .high)
        #expect(after.rules == [.typo, .firstContact])
        #expect(after.suspectedDomain == "army.mil")
        #expect(after.reasons.last?.explanation == "first message to rmy.mil, while army.mil is an established correspondent (40 messages over 12 days, 2024-09-23 to 2024-10-04): one level higher")
    }

    @Test("a domain that only looks like an established correspondent is flagged medium by first-contact alone")
    func firstContactFlags() {
        #expect(Fixtures.verdict("j@partner-crop.com").level == .none)
        let after = verdict("j@partner-crop.com", Self.history(["partner-corp.com": Self.facts(9, days: 4)]))
        #expect(after.level == .medium)
        #expect(after.rules == [.firstContact])
        #expect(after.suspectedDomain == "partner-corp.com")
        #expect(after.suggestedAddress?.description == "j@partner-corp.com")
        #expect(after.reasons[0].explanation.hasPrefix("partner-crop.com looks like a misspelling of partner-corp.com, an established correspondent (9 messages"))
        #expect(after.reasons[0].explanation.hasSuffix("; first message to partner-crop.com"))
    }

    @Test("a correspondent written to twice on one day is not established: nothing is learned from it")
    func thresholdHolds() {
        let history = Self.history(["partner-corp.com": Self.facts(2, days: 1), "army.mil": Self.facts(5, days: 1)])
        #expect(verdict("j@partner-crop.com", history).level == .none)
        #expect(verdict("x@rmy.mil", history).rules == [.typo])
        #expect(history.establishedDomains.isEmpty)
    }

    @Test("a recipient written to before, not yet established, is still a first contact")
    func knownButNotEstablished() {
        let after = verdict("x@rmy.mil", Self.history(["army.mil": Self.facts(40, days: 12), "rmy.mil": Self.facts(2, days: 1)]))
        #expect(after.rules == [.typo, .firstContact])
        #expect(after.reasons.last?.explanation.hasPrefix("rmy.mil is not an established correspondent yet (2 messages over 1 day, on 2024-10-04), while army.mil") == true)
    }

    @Test("a look-alike of a protected domain is never lowered on history alone, however established")
    func establishedDoesNotLowerLookAlikes() {
        let history = Self.history(["partner.ml": Self.facts(14, days: 9), "army.ml": Self.facts(3_000, days: 3_650)])
        for address in ["desk@partner.ml", "desk@hq.partner.ml", "j@army.ml"] {
            let after = verdict(address, history)
            #expect(after.level == .high, "\(address)")
            #expect(after.rules == [.suffixConfusion, .established], "\(address)")
            #expect(after.reasons.last?.explanation.hasSuffix("but a look-alike of a protected domain is not lowered on history alone: list it under trusted if it is a real partner") == true)
            #expect(Policy().decide(after).action == .reject)
        }
    }

    @Test("the same name under another suffix, when it is an established correspondent, is no longer reported")
    func establishedLowersOtherSuffix() {
        #expect(Fixtures.verdict("desk@example.com").rules == [.otherSuffix])
        let after = verdict("desk@example.com", Self.history(["example.com": Self.facts(14, days: 9)]))
        #expect(after.level == .none)
        #expect(after.rules == [.otherSuffix, .established])
        #expect(after.reasons.last?.explanation == "example.com is an established correspondent (14 messages over 9 days, 2024-09-26 to 2024-10-04): lowered to none")
        #expect(Policy().decide(after).action == .accept)
        #expect(after.isLearnable)
    }

    @Test("a frequent typo of a much busier domain is not a correspondent, however often it was sent")
    func frequentTypo() {
        let history = Self.history(["example.com": Self.facts(30, days: 20), "example.org": Self.facts(6_000, days: 300)])
        #expect(verdict("j@example.com", history).rules == [.otherSuffix])
        #expect(verdict("j@example.com", Self.history(["example.com": Self.facts(30, days: 20), "example.org": Self.facts(6_000, days: 300)], typoRatio: 0)).level == .none)
    }

    @Test("a typo ratio too large to multiply means never a frequent typo, instead of a crash")
    func hugeTypoRatio() {
        let history = Self.history(["example.com": Self.facts(30, days: 20), "example.org": Self.facts(6_000, days: 300)], typoRatio: Int.max / 2)
        #expect(verdict("j@example.com", history).level == .none, "example.com is an established correspondent")
    }

    @Test("with established in log-only mode the drop is reported, not made")
    func logOnlyLowering() {
        let after = verdict("desk@example.com", Self.history(["example.com": Self.facts(14, days: 9)]), lowering: false)
        #expect(after.level == .low)
        #expect(after.rules == [.otherSuffix, .established])
        #expect(after.reasons.last?.explanation.hasSuffix("would be lowered to none (log-only)") == true)
    }

    @Test("history learns only from recipients nothing flagged, or only the same name under another suffix did")
    func learnable() {
        #expect(Fixtures.verdict("j@army.mil").isLearnable)
        #expect(Fixtures.verdict("j@unrelated.net").isLearnable)
        #expect(Fixtures.verdict("j@example.com").isLearnable)
        #expect(!Fixtures.verdict("j@army.ml").isLearnable)
        #expect(!Fixtures.verdict("j@rmy.mil").isLearnable)
        #expect(!verdict("j@partner-crop.com", Self.history(["partner-corp.com": Self.facts(9, days: 4)])).isLearnable)
    }

    @Test("protected and trusted recipients, and unrelated domains, are left as they are")
    func untouched() {
        let history = Self.history(["partner-corp.com": Self.facts(9, days: 4), "army.mil": Self.facts(9, days: 4)])
        for address in ["x@army.mil", "x@real-partner.ml", "x@unrelated-company.net", "x@partner-corp.com", "x@[192.0.2.1]"] {
            #expect(verdict(address, history) == Fixtures.verdict(address), "\(address)")
        }
    }

    @Test("day numbers and dates convert both ways", arguments: [(0, "1970-01-01"), (19_723, "2024-01-01"), (20_418, "2025-11-26"), (-1, "1969-12-31")])
    func dates(day: Int, date: String) {
        #expect(CorrespondentFacts.date(ofDay: day) == date)
        let parts = date.split(separator: "-").map { Int($0)! }
        #expect(CorrespondentFacts.day(year: parts[0], month: parts[1], day: parts[2]) == day)
    }

    @Test("a written date reads back as its day number; impossible ones are refused")
    func parsedDates() {
        #expect(CorrespondentFacts.day(ofDate: "1970-01-01") == 0)
        #expect(CorrespondentFacts.day(ofDate: "2026-12-06").map(CorrespondentFacts.date(ofDay:)) == "2026-12-06")
        for bad in ["2026-02-30", "2026-13-01", "26-1-1", "2026-1-1", "yesterday", "", "2026-12-06x"] {
            #expect(CorrespondentFacts.day(ofDate: bad) == nil, "\(bad)")
        }
    }

    @Test("the header names the history rule among the reasons")
    func header() {
        let after = verdict("x@rmy.mil", Self.history(["army.mil": Self.facts(40, days: 12)]))
        let value = RiskHeader.value(for: [Policy(actions: [.high: .tag]).decide(after)], mode: .enforce)
        #expect(value.contains("reasons=typo,first-contact"), "\(value)")
    }
}
