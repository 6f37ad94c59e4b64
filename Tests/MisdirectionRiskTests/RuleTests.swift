import MisdirectionRisk
import Testing

/// Each rule with look-alikes it must catch (and the domain it must suggest) and near misses it
/// must leave alone, against `Fixtures.partners`.
struct RuleTests {
    func expectFlagged(_ address: String, rule: Rule, suspected: String?, level: RiskLevel? = nil) {
        let verdict = Fixtures.partnerVerdict(address)
        #expect(verdict.rules.first == rule, "\(address): \(verdict.rules)")
        if let suspected { #expect(verdict.suspectedDomain == suspected, "\(address)") }
        if let level { #expect(verdict.level == level, "\(address): \(verdict.level)") } else { #expect(verdict.level >= .medium, "\(address)") }
    }

    func expectNotFlaggedBy(_ address: String, rule: Rule) {
        let verdict = Fixtures.partnerVerdict(address)
        #expect(!verdict.rules.contains(rule), "\(address): \(verdict.rules)")
    }

    @Test("typo: one edit of a protected name or sub-domain", arguments: [
        ("j@arny.mil", "army.mil"),             // substitution by a neighbouring key
        ("j@hq.arny.mil", "hq.army.mil"),       // in a sub-domain
        ("j@mircosoft.com", "microsoft.com"),   // transposition
        ("j@paypall.com", "paypal.com"),        // repetition
        ("j@paypol.com", "paypal.com"),         // vowel swap
        ("j@exmple.org", "example.org"),        // omission
        ("j@bankofamerrica.com", "bankofamerica.com"), // insertion
    ])
    func typo(address: String, suspected: String) {
        expectFlagged(address, rule: .typo, suspected: suspected, level: .high)
    }

    @Test("typo: leaves real neighbours and unrelated names alone", arguments: [
        "j@army.mil", "j@mail.army.mil", "j@navy.mil", "j@armies.com", "j@microsoftstore.co.jp", "j@paypal.me",
    ])
    func notTypo(address: String) {
        expectNotFlaggedBy(address, rule: .typo)
    }

    @Test("double-typo: two edits of a long name under the same suffix", arguments: [
        ("j@bnakofamreica.com", "bankofamerica.com"), ("j@bankofamrica.co", nil as String?),
    ])
    func doubleTypo(address: String, suspected: String?) {
        let verdict = Fixtures.partnerVerdict(address)
        if let suspected {
            #expect(verdict.rules == [.doubleTypo])
            #expect(verdict.level == .medium)
            #expect(verdict.suspectedDomain == suspected)
        } else {
            #expect(!verdict.rules.contains(.doubleTypo), "another suffix is not a double typo")
        }
    }

    @Test("double-typo: short names are compared at one edit only", arguments: ["j@mircosfot.com", "j@apypla.com"])
    func notDoubleTypo(address: String) {
        #expect(Fixtures.partnerVerdict(address).level == .none)
    }

    @Test("suffix-confusion: the same name under a suffix one edit away", arguments: [
        ("j@army.ml", "army.mil", RiskLevel.high), ("j@mod.go.uk", "mod.gov.uk", .high), ("j@paypal.co", "paypal.com", .high),
        ("j@paypal.cm", "paypal.com", .high), ("j@army.il", "army.mil", .high), ("j@paypal.om", "paypal.com", .high),
    ])
    func suffixConfusion(address: String, suspected: String, level: RiskLevel) {
        expectFlagged(address, rule: .suffixConfusion, suspected: suspected, level: level)
    }

    @Test("suffix-confusion: a whole protected suffix flags every name under its look-alike, but not a longer registry suffix", arguments: [
        ("x@whatever.ml", true), ("x@army.ml", true), ("x@technion.ac.il", false), ("x@primature.gouv.ml", false), ("x@orange.mil", false),
    ])
    func wholeSuffix(address: String, flagged: Bool) {
        let verdict = Fixtures.verdict(address)
        #expect((verdict.rules.first == .suffixConfusion) == flagged, "\(address): \(verdict.rules)")
    }

    @Test("suffix-confusion: real domains under .ml, .co and .cm are left alone without a protected twin", arguments: [
        "x@orange.ml", "x@t.co", "x@orange.cm", "x@angel.co",
    ])
    func realSuffixNeighbours(address: String) {
        #expect(Fixtures.partnerVerdict(address).level == .none)
    }

    @Test("structure: dots and hyphens changed, the domain inside a longer one, labels reversed", arguments: [
        ("j@armymil.com", "army.mil"), ("j@army-mil.com", "army.mil"), ("j@ar-my.mil", "army.mil"), ("j@ar.my.mil", "army.mil"),
        ("j@army.mil.ml", "army.mil"), ("j@mil.army.ml", "army.mil"), ("j@modgovuk.com", "mod.gov.uk"),
        ("j@paypal.com.secure-login.net", "paypal.com"), ("j@paypal-com-login.net", "paypal.com"),
    ])
    func structure(address: String, suspected: String) {
        expectFlagged(address, rule: .structure, suspected: suspected, level: .high)
    }

    @Test("structure: sub-domains of the real domain and ordinary words are not tricks", arguments: [
        "j@mail.army.mil", "j@armymail.com", "j@paypal.com", "j@mil.example.com", "j@army.mail.com",
    ])
    func notStructure(address: String) {
        expectNotFlaggedBy(address, rule: .structure)
    }

    @Test("homoglyph: Unicode and ASCII look-alike characters, punycode decoded", arguments: [
        ("j@arrny.mil", "army.mil"), ("j@\u{0430}rmy.mil", "army.mil"), ("j@xn--rmy-5cd.mil", "army.mil"), ("j@ármy.mil", "army.mil"),
        ("j@paypa1.com", "paypal.com"), ("j@rnicrosoft.com", "microsoft.com"), ("j@examp1e.org", "example.org"),
        ("j@a\u{0280}m\u{024F}.mil", "army.mil"), ("j@xn--80ak1bb6g.com", nil),
    ])
    func homoglyph(address: String, suspected: String?) {
        let verdict = Fixtures.partnerVerdict(address)
        if let suspected {
            #expect(verdict.rules.first == .homoglyph, "\(address): \(verdict.rules)")
            #expect(verdict.suspectedDomain == suspected)
            #expect(verdict.level == .high)
        } else {
            #expect(!verdict.rules.contains(.homoglyph))
        }
    }

    @Test("homoglyph: real internationalised domains are not look-alikes", arguments: ["j@bücher.de", "j@xn--bcher-kva.de", "j@müller.com", "j@日本語.jp"])
    func notHomoglyph(address: String) {
        #expect(Fixtures.partnerVerdict(address).level == .none)
    }

    @Test("mixed-script: a label mixing Latin with Cyrillic, even unlike any protected name")
    func mixedScript() {
        let verdict = Fixtures.partnerVerdict("j@p\u{0430}ssport-office.net")
        #expect(verdict.rules == [.mixedScript])
        #expect(verdict.level == .medium)
        for address in ["j@bücher.de", "j@παράδειγμα.gr", "j@日本語.jp"] {
            #expect(!Fixtures.partnerVerdict(address).rules.contains(.mixedScript), "\(address)")
        }
    }

    @Test("bitflip: one flipped bit where a typist would not slip", arguments: [("j@arm9.mil", "army.mil"), ("j@armi.mil", "army.mil"), ("j@paypcl.com", "paypal.com")])
    func bitflip(address: String, suspected: String) {
        expectFlagged(address, rule: .bitflip, suspected: suspected, level: .medium)
    }

    @Test("bitflip: a slip to a neighbouring key is a typo, not a bit flip", arguments: ["j@arny.mil", "j@paypsl.com"])
    func notBitflip(address: String) {
        expectNotFlaggedBy(address, rule: .bitflip)
    }

    @Test("malformed-address: unparseable paths and invalid punycode are flagged medium", arguments: ["bad@@army.mil", "j@xn--bad--.com"])
    func malformed(address: String) {
        let verdict = Fixtures.partnerVerdict(address)
        #expect(verdict.rules == [.malformedAddress])
        #expect(verdict.level == .medium)
    }

    @Test("trusted domains are never flagged, whatever they resemble")
    func trusted() {
        let classifier = Classifier(protectedDomains: ["army.mil"], trustedDomains: ["army.ml"], suffixes: Fixtures.suffixes)
        let verdict = classifier.classify(EmailAddress(localPart: "j", domain: "hq.army.ml"))
        #expect(verdict.level == .none)
        #expect(verdict.note == "trusted domain army.ml")
    }

    @Test("every rule id is listed once, lower-case with hyphens")
    func ids() {
        #expect(Set(Rule.all.map(\.id)).count == Rule.all.count)
        for rule in Rule.all { #expect(rule.id.allSatisfy { $0.isLowercase || $0 == "-" }) }
    }
}
