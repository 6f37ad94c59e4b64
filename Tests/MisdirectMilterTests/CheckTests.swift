import MisdirectionRisk
import Testing
import MisdirectMilterKit
import TestSupport

struct CheckTests {
    let engine: Engine = {
        var configuration = Configuration.defaults
        configuration.protectedDomains = ["mil", "gov", "gov.uk"]
        configuration.publicSuffixListPath = Repository.publicSuffixListPath
        return try! Engine.load(configuration, file: "test", generation: 1)
    }()

    func decide(_ input: String) -> Decision {
        engine.policy.decide(engine.classifier.classify(path: EmailAddress.parseAddressOrDomain(input), input: input))
    }

    @Test("prints one readable line per address")
    func lines() {
        let output = ["someone@army.ml", "someone@army.mil", "bbc.co.uk"].map { CheckReport.line(input: $0, decision: decide($0)) }
        #expect(output.joined(separator: "\n") == """
            someone@army.ml: high (score 0.95) -> reject; army.ml looks like a misspelling of army.mil; did you mean someone@army.mil? [suffix-confusion]
            someone@army.mil: none (score 0.00) -> accept; protected domain mil
            bbc.co.uk: none (score 0.00) -> accept
            """)
    }

    @Test("prints one JSON object per line with the documented fields")
    func json() {
        #expect(CheckReport(input: "someone@army.ml", decision: decide("someone@army.ml")).jsonLine() == """
            {"action":"reject","address":"someone@army.ml","did_you_mean":"someone@army.mil","domain":"army.ml","level":"high","mode":"enforce","note":null,"reasons":[{"explanation":"army.ml looks like a misspelling of army.mil","rule":"suffix-confusion"}],"score":0.95,"suspected":"army.mil"}
            """)
    }

    @Test("check --message classifies To, Cc and Bcc with the message's context")
    func message() {
        let message = """
            From: Alice <alice@army.mil>
            To: "J. Smith" <j@army.il>, k@army.mil
            Cc: m@navy.mil
            Reply-To: alice@arrny.mil
            Subject: [OFFICIAL-SENSITIVE] plans

            body
            """
        let lines = CheckReport.decisions(forMessage: message, engine: engine).map { CheckReport.line(input: $0.0, decision: $0.1) }
        #expect(lines.joined(separator: "\n") == """
            j@army.il: high (score 0.80) -> reject; army.il looks like a misspelling of army.mil; did you mean j@army.mil? [suffix-confusion,odd-one-out,sensitivity]
            k@army.mil: none (score 0.00) -> accept; protected domain mil
            m@navy.mil: none (score 0.00) -> accept; protected domain mil
            """)
    }
}

extension CheckTests {
    var history: HistorySnapshot {
        HistorySnapshot(facts: [
            "army.mil": CorrespondentFacts(messages: 40, days: 12, firstDay: 20_000, lastDay: 20_011),
            "partner.ml": CorrespondentFacts(messages: 14, days: 9, firstDay: 20_003, lastDay: 20_011),
        ], like: engine.classifier)
    }

    func decide(_ input: String, history: HistorySnapshot) -> Decision {
        engine.policy.decide(engine.classify(path: EmailAddress.parseAddressOrDomain(input), input: input, history: history))
    }

    @Test("check says which history fact applied")
    func historyLines() {
        let output = ["x@army.il", "desk@partner.ml"].map { CheckReport.line(input: $0, decision: decide($0, history: history)) }
        #expect(output.joined(separator: "\n") == """
            x@army.il: high (score 0.80) -> reject; army.il looks like a misspelling of army.mil; did you mean x@army.mil?; history: first message to army.il, while army.mil is an established correspondent (40 messages over 12 days, 2024-10-04 to 2024-10-15): one level higher [suffix-confusion,first-contact]
            desk@partner.ml: high (score 0.95) -> reject; partner.ml looks like a misspelling of partner.mil; did you mean desk@partner.mil?; history: partner.ml is an established correspondent (14 messages over 9 days, 2024-10-07 to 2024-10-15), but a look-alike of a protected domain is not lowered on history alone: list it under trusted if it is a real partner [suffix-confusion,established]
            """)
    }

    @Test("check --json carries what history knows of the domain, null when nothing")
    func historyJSON() {
        var report = CheckReport(input: "desk@partner.ml", decision: decide("desk@partner.ml", history: history))
        report.history = .some(CheckReport.HistoryReport(history.correspondent(for: "partner.ml")))
        #expect(report.jsonLine().contains(#""history":{"days":9,"domain":"partner.ml","established":true,"first_seen":"2024-10-07","last_seen":"2024-10-15","messages":14},"#), "\(report.jsonLine())")
        var unknown = CheckReport(input: "x@new.example", decision: decide("x@new.example", history: history))
        unknown.history = .some(CheckReport.HistoryReport(history.correspondent(for: "new.example")))
        #expect(unknown.jsonLine().contains(#""history":null,"#), "\(unknown.jsonLine())")
    }
}

struct MessageRefusalTests {
    @Test("refusing a whole message names each raised recipient and its reasons")
    func reply() {
        let verdict = RecipientVerdict(
            address: EmailAddress(localPart: "j", domain: "army.il"), input: "<j@army.il>", suspectedDomain: "army.mil",
            reasons: [Reason(rule: .suffixConfusion, score: 0.7, explanation: "army.il looks like a misspelling of army.mil"),
                      Reason(rule: .sensitivity, score: 0.8, explanation: "marked")])
        let reject = MisdirectionSession.messageReply(for: [Policy().decide(verdict)])
        #expect(reject.code == "550")
        #expect(reject.enhancedCode == "5.7.1")
        #expect(reject.lines == [
            "Message refused: misdirected recipient (misdirect-milter)",
            "j@army.il: army.il looks like a misspelling of army.mil; did you mean j@army.mil? [suffix-confusion,sensitivity]",
        ])
        let tempfail = MisdirectionSession.messageReply(for: [Policy(actions: [.high: .tempfail]).decide(verdict)])
        #expect(tempfail.code == "450")
        #expect(tempfail.lines[0].hasSuffix("; temporary, will be retried"))
    }
}
