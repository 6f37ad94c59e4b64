import MisdirectionRisk
import Testing

struct ClassifierTests {
    @Test("flags the same name under a mistyped suffix as high, naming the intended domain", arguments: [
        ("someone@army.ml", "army.mil"),
        ("j@hq.army.ml", "hq.army.mil"),
        ("anything@whatever.ml", "whatever.mil"),
        ("x@state.gv", "state.gov"),
        ("x@mod.go.uk", "mod.gov.uk"),
        ("x@mod.gov.u", "mod.gov.uk"),
        ("x@example.orf", "example.org"),
    ])
    func suffixConfusion(address: String, suspected: String) {
        let verdict = Fixtures.verdict(address)
        #expect(verdict.level == .high)
        #expect(verdict.suspectedDomain == suspected)
        #expect(verdict.rules == [.suffixConfusion])
    }

    @Test("flags one-edit typos of a protected domain", arguments: [
        ("j@exmple.org", "example.org"),      // omission
        ("j@examplle.org", "example.org"),    // repetition
        ("j@exapmle.org", "example.org"),     // transposition
        ("j@exbmple.org", "example.org"),     // substitution
        ("j@hq.exampel.org", "hq.example.org"),
    ])
    func typos(address: String, suspected: String) {
        let verdict = Fixtures.verdict(address)
        #expect(verdict.level == .high)
        #expect(verdict.suspectedDomain == suspected)
        #expect(verdict.rules == [.typo])
        #expect(verdict.suggestedAddress?.description == "j@\(suspected)")
    }

    @Test("rates a slip of the first character of a name medium, not high", arguments: ["x@rmy.mil", "x@xample.org", "x@whatever.il"])
    func firstCharacter(address: String) {
        #expect(Fixtures.verdict(address).level == .medium)
    }

    @Test("never flags protected domains, their sub-domains or trusted domains", arguments: [
        "someone@army.mil", "someone@navy.mil", "x@HQ.Army.MIL.", "x@state.gov", "x@mod.gov.uk",
        "x@example.org", "x@mail.example.org", "x@real-partner.ml", "x@sub.real-partner.ml",
    ])
    func clean(address: String) {
        let verdict = Fixtures.verdict(address)
        #expect(verdict.level == .none)
        #expect(verdict.reasons.isEmpty)
        #expect(verdict.note != nil)
    }

    @Test("leaves unrelated domains alone", arguments: [
        "x@gmail.com", "x@examples.com", "x@bbc.co.uk", "x@government.nl", "x@mali.ml.examples.com",
        "x@ml", "x@armymail.com",
    ])
    func unrelated(address: String) {
        let verdict = Fixtures.verdict(address)
        #expect(verdict.level == .none)
        #expect(verdict.reasons.isEmpty)
    }

    @Test("does not flag a domain that only resembles a trusted one's parent")
    func trustedIsExact() {
        #expect(Fixtures.verdict("x@fake-real-partner.ml").level == .high)
    }

    @Test("flags an unparseable recipient instead of passing it unchecked")
    func malformed() {
        let verdict = Fixtures.verdict("bad@@army.mil")
        #expect(verdict.level == .medium)
        #expect(verdict.rules == [.malformedAddress])
    }

    @Test("explains null paths, local names and address literals without flagging them")
    func notes() {
        #expect(Fixtures.classifier.classify(path: .null, input: "<>").note == "null path")
        #expect(Fixtures.verdict("<postmaster>").note == "local name without a domain")
        #expect(Fixtures.verdict("x@[192.0.2.1]").note == "address literal: no domain to compare")
    }

    @Test("picks the strongest match when several protected entries are close")
    func strongestMatch() {
        let classifier = Classifier(protectedDomains: ["army.mil", "mil"], trustedDomains: [], suffixes: Fixtures.suffixes)
        let verdict = classifier.classify(path: EmailAddress.parseAddressOrDomain("x@army.ml"), input: "x@army.ml")
        #expect(verdict.suspectedDomain == "army.mil")
        #expect(verdict.score == 0.95)
    }
}

struct ClassifierLimitsTests {
    @Test("takes a protected name of more than 64 labels (up to 127 fit in 253 octets) without trapping")
    func manyLabels() {
        let deep = Array(repeating: "a", count: 100).joined(separator: ".") + ".mil"
        #expect(EmailAddress.normalizeDomain(Array(deep.utf8)) == .success(deep))
        let classifier = Classifier(protectedDomains: [deep, "army.mil"], trustedDomains: [], suffixes: Fixtures.suffixes)
        #expect(classifier.classify(EmailAddress(localPart: "j", domain: "army.ml")).level == .high)
        #expect(classifier.classify(EmailAddress(localPart: "j", domain: deep)).level == .none)
    }

    /// Found by FuzzClassifier (AddressSanitizer: a read past the table of powers): a name whose
    /// punycode label decodes to a form longer than 256 bytes.
    @Test("indexes and looks up names whose decoded or folded forms outgrow 253 octets without reading past its tables")
    func longForms() throws {
        let found = "d.go.u.miclexamexmp.or.rnyhdlexamexmp.or.rny.go.u.k.m.xn--tc0bdlexamexmp.o.go.u.mii.e.x.ao.e.il.u.mip.rny.m.m.go.u.mii.e.x.ao.e.il"
        guard case .success(let domain) = EmailAddress.normalizeDomain(Array(found.utf8)) else {
            Issue.record("the fuzzer's name no longer normalises")
            return
        }
        let classifier = Classifier(protectedDomains: [domain, "army.mil"], trustedDomains: [], suffixes: Fixtures.suffixes)
        #expect(classifier.classify(EmailAddress(localPart: "j", domain: domain)).level == .none)
        #expect(classifier.classify(EmailAddress(localPart: "j", domain: "army.ml")).level == .high)
        // The same name as a recipient, against the packaged kind of protection.
        let packaged = Classifier(protectedDomains: ["mil", "gov", "gov.uk"], trustedDomains: [], suffixes: Fixtures.suffixes)
        _ = packaged.classify(EmailAddress(localPart: "j", domain: domain))
    }
}
