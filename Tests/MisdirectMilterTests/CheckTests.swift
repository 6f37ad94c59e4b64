import MisdirectionRisk
import Testing
@testable import misdirect_milter

struct CheckTests {
    let engine: Engine = {
        var configuration = Configuration()
        configuration.protectedDomains = ["mil", "gov", "gov.uk"]
        return try! Engine.load(configuration, file: "test", generation: 1)
    }()

    func decide(_ input: String) -> Decision {
        engine.policy.decide(engine.classifier.classify(path: EmailAddress.parseAddressOrDomain(input), input: input))
    }

    @Test("prints one readable line per address")
    func lines() {
        let output = ["someone@army.ml", "someone@army.mil", "bbc.co.uk"].map { Check.line(input: $0, decision: decide($0)) }
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
}
