import MisdirectionRisk
import Testing

struct PolicyTests {
    @Test("maps levels to actions, with defaults for what is not configured")
    func actions() {
        let policy = Policy(mode: .enforce, actions: [.medium: .tempfail])
        #expect(policy.decide(Fixtures.verdict("x@army.ml")).action == .reject)
        #expect(policy.decide(Fixtures.verdict("x@rmy.mil")).action == .tempfail)
        #expect(policy.decide(Fixtures.verdict("x@army.mil")).action == .accept)
    }

    @Test("in log-only mode refuses nothing but still tags what it would have refused")
    func logOnly() {
        let decision = Policy(mode: .logOnly).decide(Fixtures.verdict("x@army.ml"))
        #expect(decision.action == .reject)
        #expect(decision.effectiveAction == .tag)
        #expect(!decision.effectiveAction.refuses)
        #expect(Policy(mode: .logOnly).decide(Fixtures.verdict("x@army.mil")).effectiveAction == .accept)
    }

    @Test("quarantine holds without refusing, and holds nothing in log-only mode")
    func quarantine() {
        let enforce = Policy(mode: .enforce, actions: [.high: .quarantine]).decide(Fixtures.verdict("x@army.ml"))
        #expect(enforce.effectiveAction == .quarantine)
        #expect(!enforce.effectiveAction.refuses)
        let dryRun = Policy(mode: .logOnly, actions: [.high: .quarantine]).decide(Fixtures.verdict("x@army.ml"))
        #expect(dryRun.action == .quarantine)
        #expect(dryRun.effectiveAction == .tag)
        #expect(Action.tag < .quarantine && .quarantine < .tempfail)
    }

    @Test("explains what looks wrong and suggests the intended address")
    func explanation() {
        let decision = Policy().decide(Fixtures.verdict("j.smith@army.ml"))
        #expect(decision.explanation == "army.ml looks like a misspelling of army.mil; did you mean j.smith@army.mil?")
    }

    @Test("cuts a long explanation by octets, not characters, at a whole scalar")
    func explanationOctets() {
        let decision = Policy().decide(Fixtures.verdict(String(repeating: "é", count: 300) + "@army.ml"))
        let short = decision.explanation(maximumOctets: 100)
        #expect(short.utf8.count <= 100)
        #expect(short.hasSuffix("é..."))
        #expect(Policy().decide(Fixtures.verdict("j@army.ml")).explanation(maximumOctets: 100) == "army.ml looks like a misspelling of army.mil; did you mean j@army.mil?")
    }
}

struct RiskHeaderTests {
    @Test("clean mail gets level none")
    func clean() {
        let value = RiskHeader.value(for: [Policy().decide(Fixtures.verdict("x@army.mil"))], mode: .enforce)
        #expect(value == "none; score=0.00; action=accept; mode=enforce")
    }

    @Test("lists refused recipients without counting them towards this copy's level")
    func refusedRecipient() throws {
        let decisions = ["x@army.ml", "y@army.mil"].map { Policy().decide(Fixtures.verdict($0)) }
        let value = RiskHeader.value(for: decisions, mode: .enforce)
        let items = try #require(RiskHeader.parse(value))
        #expect(items.first?.value == "none")
        #expect(items.contains { $0.key == "rcpt" && $0.value == "x@army.ml" })
        #expect(items.contains { $0.key == "rcpt-action" && $0.value == "reject" })
        #expect(items.contains { $0.key == "suspected" && $0.value == "army.mil" })
    }

    @Test("in log-only mode the level and the would-be action show on the delivered copy")
    func logOnly() throws {
        let policy = Policy(mode: .logOnly)
        let value = RiskHeader.value(for: ["x@army.ml", "y@army.mil"].map { policy.decide(Fixtures.verdict($0)) }, mode: .logOnly)
        let items = try #require(RiskHeader.parse(value))
        #expect(items[0].value == "high")
        #expect(items.contains { $0.key == "action" && $0.value == "reject" })
        #expect(items.contains { $0.key == "mode" && $0.value == "log-only" })
        #expect(items.contains { $0.key == "reasons" && $0.value == "suffix-confusion" })
    }

    @Test("folds long values and quotes what is not a plain token, so nothing adds a header line")
    func quotingAndFolding() throws {
        let decision = Policy(mode: .logOnly).decide(Fixtures.verdict("\"evil; x=1\r\nBcc: a\"@army.ml"))
        let value = RiskHeader.value(for: [decision], mode: .logOnly)
        for line in value.split(separator: "\n") {
            #expect(line.count <= 78)
            #expect(line == value.split(separator: "\n").first! || line.hasPrefix("\t"))
        }
        #expect(!value.contains("\r"))
        let items = try #require(RiskHeader.parse(value))
        #expect(items.filter { $0.key == "rcpt" }.count == 1)
    }

    @Test("caps the recipient list and counts the rest")
    func cap() throws {
        let decisions = (0..<25).map { Policy().decide(Fixtures.verdict("u\($0)@army.ml")) }
        let items = try #require(RiskHeader.parse(RiskHeader.value(for: decisions, mode: .enforce)))
        #expect(items.filter { $0.key == "rcpt" }.count == RiskHeader.maximumRecipients)
        #expect(items.last?.key == "more" && items.last?.value == "15")
    }

    @Test("reads quotes by Unicode scalar: a combining mark after a quote does not hide it")
    func combiningMarkAfterQuote() throws {
        let decisions = ["\u{301}j@army.ml", "k@army.ml"].map { Policy(mode: .logOnly).decide(Fixtures.verdict($0)) }
        let value = RiskHeader.value(for: decisions, mode: .logOnly)
        let items = try #require(RiskHeader.parse(value))
        #expect(items.filter { $0.key == "rcpt" }.map(\.value) == ["\u{301}j@army.ml", "k@army.ml"])
        #expect(items.count == RiskHeader.items(for: decisions, mode: .logOnly).count)
    }

    @Test("cuts values longer than an address can be, so no header line passes 998 octets")
    func longValues() throws {
        let local = String(repeating: "\"", count: 1) + String(repeating: "\\\"", count: 600) + "\""
        let decision = Policy().decide(Fixtures.verdict(local + "@army.ml"))
        let value = RiskHeader.value(for: [decision], mode: .enforce)
        #expect(value.split(separator: "\n").allSatisfy { $0.utf8.count < 998 - RiskHeader.name.utf8.count - 2 })
        let items = try #require(RiskHeader.parse(value))
        let rcpt = try #require(items.first { $0.key == "rcpt" }?.value)
        #expect(rcpt.utf8.count == RiskHeader.maximumValueLength)
        #expect(rcpt.hasSuffix("..."))
    }

    @Test("parse refuses values that do not start with a level")
    func parseRefuses() {
        #expect(RiskHeader.parse("score=1; high") == nil)
        #expect(RiskHeader.parse("") == nil)
    }
}

struct RulePolicyTests {
    @Test("a rule's own action replaces the level's")
    func ruleAction() {
        let policy = Policy(rules: [.bitflip: RulePolicy(action: .reject)])
        #expect(policy.decide(Fixtures.partnerVerdict("j@arm9.mil")).action == .reject)
        #expect(policy.decide(Fixtures.partnerVerdict("j@rmy.mil")).action == .tag)
    }

    @Test("a rule in log-only mode is reported but refuses nothing while the others enforce")
    func ruleLogOnly() {
        let policy = Policy(actions: [.medium: .reject], rules: [.bitflip: RulePolicy(mode: .logOnly)])
        let bitflip = policy.decide(Fixtures.partnerVerdict("j@arm9.mil"))
        #expect(bitflip.action == .reject)
        #expect(bitflip.effectiveAction == .tag)
        #expect(bitflip.mode == .logOnly)
        #expect(bitflip.logOnlyRules == [.bitflip])
        let typo = policy.decide(Fixtures.partnerVerdict("j@rmy.mil"))
        #expect(typo.effectiveAction == .reject)
        #expect(typo.mode == .enforce)
    }

    @Test("an enforcing rule still refuses when a log-only rule fired beside it")
    func mixed() {
        let policy = Policy(rules: [.mixedScript: RulePolicy(mode: .logOnly)])
        let decision = policy.decide(Fixtures.partnerVerdict("j@\u{0430}rmy.mil"))
        #expect(decision.verdict.rules.contains(.mixedScript))
        #expect(decision.effectiveAction == .reject)
        #expect(decision.mode == .enforce)
    }

    @Test("a rule in enforce mode acts in a globally log-only policy")
    func enforceOne() {
        let policy = Policy(mode: .logOnly, rules: [.suffixConfusion: RulePolicy(mode: .enforce)])
        #expect(policy.decide(Fixtures.partnerVerdict("j@army.ml")).effectiveAction == .reject)
        #expect(policy.decide(Fixtures.partnerVerdict("j@arny.mil")).effectiveAction == .tag)
    }

    @Test("the header lists a Reply-To group and marks a recipient whose action a log-only rule held back")
    func header() throws {
        let policy = Policy(rules: [.bitflip: RulePolicy(action: .reject, mode: .logOnly)])
        let assessment = Fixtures.partners.assess([Fixtures.partnerVerdict("j@arm9.mil")], context: MessageContext(
            headers: [(name: "Reply-To", value: "r@paypa1.com")], envelopeSender: nil))
        let value = RiskHeader.value(
            for: assessment.verdicts.map(policy.decide), replyTo: assessment.replyTo.map(policy.decide), mode: .enforce)
        let items = try #require(RiskHeader.parse(value))
        #expect(items.contains { $0.key == "rcpt-mode" && $0.value == "log-only" })
        #expect(items.contains { $0.key == "reply-to" && $0.value == "r@paypa1.com" })
        #expect(items.contains { $0.key == "reasons" && $0.value == "reply-to" })
    }
}
