import MisdirectionRisk
import Testing

/// The classes of look-alikes that once slipped through (issue 12), each against a protected
/// list that mixes whole suffixes, names that are themselves public suffixes, and brands.
struct LookAlikeClassTests {
    static let classifier = Classifier(
        protectedDomains: ["mil", "army.mil", "gov.uk", "nhs.uk", "defence.gov.uk", "barclays.co.uk", "amazon.com", "outlook.com", "example.net", "un.org"],
        trustedDomains: ["real-partner.ml", "amazon.de"],
        suffixes: Fixtures.suffixes)

    static func verdict(_ text: String, _ classifier: Classifier = classifier) -> RecipientVerdict {
        classifier.classify(path: EmailAddress.parseAddressOrDomain(text), input: text)
    }

    @Test("a look-alike of a protected domain under a protected suffix is flagged, and says it is under the suffix", arguments: [
        ("arny.mil", Rule.typo), ("arrny.mil", .homoglyph), ("xn--rmy-5cd.mil", .homoglyph), ("hq.arny.mil", .typo), ("dcfence.gov.uk", .homoglyph),
    ])
    func underProtectedSuffix(domain: String, rule: Rule) throws {
        let verdict = Self.verdict("j@\(domain)")
        #expect(verdict.level == .high, "\(domain): \(verdict.level)")
        #expect(verdict.rules.first == rule, "\(domain): \(verdict.rules)")
        #expect(verdict.suspectedDomain?.hasSuffix("army.mil") == true || verdict.suspectedDomain == "defence.gov.uk")
        let first = try #require(verdict.reasons.first)
        #expect(first.explanation.hasSuffix("is under the protected suffix \(domain.hasSuffix(".mil") ? "mil" : "gov.uk") but is not listed itself"), "\(first.explanation)")
    }

    @Test("names under a protected suffix that look like no protected domain stay clean, with the most specific entry as the note", arguments: [
        ("navy.mil", "protected domain mil"), ("hq.army.mil", "protected domain army.mil"), ("dwp.gov.uk", "protected domain gov.uk"),
    ])
    func cleanUnderProtectedSuffix(domain: String, note: String) {
        let verdict = Self.verdict("j@\(domain)")
        #expect(verdict.level == .none)
        #expect(verdict.note == note)
    }

    @Test("a look-alike under a protected suffix that is itself listed is clean")
    func listedLookAlike() {
        let listed = Classifier(protectedDomains: ["mil", "army.mil", "arny.mil"], trustedDomains: ["arrny.mil"], suffixes: Fixtures.suffixes)
        #expect(Self.verdict("j@arny.mil", listed).level == .none)
        #expect(Self.verdict("j@arrny.mil", listed).level == .none)
        #expect(Self.verdict("j@arnny.mil", listed).level == .high)
    }

    @Test("a typo of a protected name that is a public suffix is flagged at the registrable level", arguments: [
        "gob.uk", "g0v.uk", "2gov.uk", "nbs.uk", "hhs.uk", "dwp.gob.uk", "nhs.uk.com",
    ])
    func typoOfSuffixName(domain: String) {
        #expect(Self.verdict("j@\(domain)").level >= .medium, "\(domain)")
    }

    @Test("a protected suffix followed by another suffix is flagged as structure", arguments: [
        ("hmrc.gov.uk.com", "hmrc.gov.uk"), ("gchq.gov.uk.co", "gchq.gov.uk"), ("x.mil.com", "x.mil"),
    ])
    func suffixFollowedBySuffix(domain: String, suspected: String) {
        let verdict = Self.verdict("j@\(domain)")
        #expect(verdict.level == .high)
        #expect(verdict.rules == [.structure])
        #expect(verdict.suspectedDomain == suspected)
    }

    @Test("a protected suffix inside a longer registry suffix is left alone", arguments: ["x.gov.in", "agency.gov.br", "x.mil.ng"])
    func longerRegistrySuffix(domain: String) {
        let withGov = Classifier(protectedDomains: ["gov", "mil"], trustedDomains: [], suffixes: Fixtures.suffixes)
        #expect(Self.verdict("j@\(domain)", withGov).level == .none, "\(domain)")
    }

    @Test("a slip in the suffix of a protected domain is high whichever letter it is", arguments: [
        "outlook.co", "outlook.cm", "outlook.om", "outlook.con", "example.ne", "example.et", "example.nt",
    ])
    func suffixSlips(domain: String) {
        let verdict = Self.verdict("j@\(domain)")
        #expect(verdict.level == .high, "\(domain): \(verdict.level)")
        #expect(verdict.rules == [.suffixConfusion])
    }

    @Test("the same name under another suffix is reported low, accepted by default", arguments: [
        ("barclays.us", "barclays.co.uk"), ("amazon.org", "amazon.com"), ("army.mo", "army.mil"), ("hq.amazon.fr", "hq.amazon.com"),
    ])
    func otherSuffix(domain: String, suspected: String) throws {
        let verdict = Self.verdict("j@\(domain)")
        #expect(verdict.level == .low)
        #expect(verdict.rules == [.otherSuffix])
        #expect(verdict.suspectedDomain == suspected)
        #expect(Policy().decide(verdict).action == .accept)
        let suffix = try #require(domain.split(separator: ".").last)
        #expect(verdict.reasons[0].explanation.hasSuffix("under another suffix (.\(suffix))"))
    }

    @Test("the same name under another suffix is not reported for short names, trusted domains or names inside", arguments: [
        "un.com", "amazon.de", "amazonia.org", "amazon.examples.org", "barclays",
    ])
    func notOtherSuffix(domain: String) {
        #expect(!Self.verdict("j@\(domain)").rules.contains(.otherSuffix), "\(domain)")
    }

    @Test("two look-alike letters in one name are a homoglyph", arguments: [
        ("bareiays.co.uk", "barclays.co.uk"), ("dcfcnce.gov.uk", "defence.gov.uk"), ("anazom.com", "amazon.com"), ("hq.0utiook.com", "hq.outlook.com"),
    ])
    func twoLookAlikeLetters(domain: String, suspected: String) {
        let verdict = Self.verdict("j@\(domain)")
        #expect(verdict.level >= .medium, "\(domain)")
        #expect(verdict.rules.first == .homoglyph, "\(domain): \(verdict.rules)")
        #expect(verdict.suspectedDomain == suspected)
    }

    @Test("two letters changed that do not look alike are not a homoglyph", arguments: ["barxlays.co.uk", "bartkays.co.uk"])
    func twoUnlikeLetters(domain: String) {
        #expect(!Self.verdict("j@\(domain)").rules.contains(.homoglyph), "\(domain)")
    }

    @Test("a protected sub-domain's name under another suffix is not reported: the suggestion would not be protected (found by fuzzing)")
    func otherSuffixOfSubDomain() {
        let subDomain = Classifier(protectedDomains: ["hq.army.mil", "xn--tgov.ukrmy.m-"], trustedDomains: [], suffixes: Fixtures.suffixes)
        for domain in ["army.mo", "-tgov.ukrmy.mil", "mailarmy.mil"] {
            let verdict = Self.verdict("j@\(domain)", subDomain)
            #expect(!verdict.rules.contains(.otherSuffix), "\(domain): \(verdict.rules)")
            if let suspected = verdict.suspectedDomain { #expect(suspected.hasSuffix("hq.army.mil"), "\(domain): \(suspected)") }
        }
    }

    @Test("no suggestion is itself flagged: a name under a whole suffix that joins a protected name is not suggested (found by fuzzing)")
    func suggestionsAreClean() throws {
        let verdict = Self.verdict("x@vukdouarmy.mll")
        #expect(verdict.level == .high)
        #expect(verdict.suspectedDomain == nil, "vukdouarmy.mil is itself flagged: \(Self.verdict("x@vukdouarmy.mil").rules)")
        for address in ["x@army.mll", "x@arny.mil", "x@outlook.om", "x@mailarmy.mil"] {
            let suggestion = try #require(Self.verdict(address).suggestedAddress, "\(address)")
            #expect(Self.verdict(suggestion.description).level == .none, "\(address) -> \(suggestion)")
        }
    }
}
