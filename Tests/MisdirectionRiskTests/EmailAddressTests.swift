import MisdirectionRisk
import Testing

struct EmailAddressTests {
    @Test("parses SMTP paths as MTAs pass them", arguments: [
        ("<someone@army.mil>", "someone", "army.mil"),
        ("someone@army.mil", "someone", "army.mil"),
        ("<Some.One@ARMY.Mil.>", "Some.One", "army.mil"),
        ("<@relay.example,@other.example:user@army.ml>", "user", "army.ml"),
        ("<\"john smith\"@army.ml>", "\"john smith\"", "army.ml"),
        ("<\"a@b\"@army.ml>", "\"a@b\"", "army.ml"),
        ("<user@[192.0.2.1]>", "user", "[192.0.2.1]"),
        ("<user@[IPv6:2001:DB8::1]>", "user", "[ipv6:2001:db8::1]"),
        ("<josé@exämple.org>", "josé", "exämple.org"),
    ])
    func parses(path: String, local: String, domain: String) {
        #expect(EmailAddress.parsePath(path.utf8) == .address(EmailAddress(localPart: local, domain: domain)))
    }

    @Test("recognises the null path and local names")
    func special() {
        #expect(EmailAddress.parsePath("<>".utf8) == .null)
        #expect(EmailAddress.parsePath("<postmaster>".utf8) == .localOnly("postmaster"))
    }

    @Test("refuses what is not an address", arguments: [
        "<a@army.mil\r\nRCPT TO:<b@c>>", "<a@army.mil", "a@army.mil>", "<a@army..mil>", "<@relay:>",
        "<a@-bad-char!.mil>", "<a@>", "<@army.mil>", "<\"open@army.mil>", "<a b@army.mil>",
        "<a@" + String(repeating: "x", count: 64) + ".mil>",
        "<a@" + Array(repeating: "abcdefghi", count: 26).joined(separator: ".") + ".mil>",
        // Address literals: printable ASCII inside one pair of brackets (the first one, with a
        // combining mark after the bracket, was found by FuzzAddress: it passed as a literal
        // here and as a name with empty labels where the address was used).
        "<u@[\u{488}D..21>]>", "<u@[192.0.2.1 ]>", "<u@[a[b]>", "<u@[a]b]>", "<u@[a\\b]>", "<u@[]>", "<u@[192.0.2.1>",
    ])
    func malformed(path: String) {
        guard case .malformed = EmailAddress.parsePath(path.utf8) else {
            Issue.record("\(path) was accepted")
            return
        }
    }

    @Test("refuses invalid UTF-8 instead of repairing it")
    func invalidUTF8() {
        let bytes: [UInt8] = Array("<a@arm".utf8) + [0xFF] + Array("y.mil>".utf8)
        guard case .malformed(let reason) = EmailAddress.parsePath(bytes) else {
            Issue.record("accepted invalid UTF-8")
            return
        }
        #expect(reason.contains("UTF-8"))
    }

    @Test("refuses a domain that is not UTF-8, and measures a domain after lower-casing it")
    func domainBytes() {
        #expect(Self.reason(EmailAddress.normalizeDomain([0x7A, 0x9E, 0x9E])) == "domain is not valid UTF-8")
        // U+0130 is two octets and lower-cases to three ("i" and a combining dot).
        let label = "\u{130}" + String(repeating: "a", count: 61)
        #expect(label.utf8.count == 63)
        #expect(Self.reason(EmailAddress.normalizeDomain(Array("\(label).example".utf8))) == "label longer than 63 octets")
    }

    @Test("refuses invisible characters and non-ASCII spaces in a domain", arguments: ["\u{FEFF}", "\u{200B}", "\u{202E}", "\u{A0}", "\u{2028}"])
    func invisible(character: String) {
        let reason = Self.reason(EmailAddress.normalizeDomain(Array("g\(character)ov".utf8)))
        #expect(reason?.hasPrefix("invisible character U+") == true)
        guard case .malformed = EmailAddress.parsePath("<a@army\(character).mil>".utf8) else {
            Issue.record("accepted an invisible character")
            return
        }
    }

    static func reason(_ result: Result<String, DomainProblem>) -> String? {
        if case .failure(let problem) = result { return problem.reason }
        return nil
    }

    @Test("takes bare domains from the command line")
    func bareDomain() {
        #expect(EmailAddress.parseAddressOrDomain("Army.ML") == .address(EmailAddress(localPart: "", domain: "army.ml")))
    }
}

struct PublicSuffixListTests {
    let list = PublicSuffixList(parsing: """
        // ===BEGIN ICANN DOMAINS===
        mil
        ml
        uk
        gov.uk
        *.ck
        !www.ck
        // ===END ICANN DOMAINS===
        // ===BEGIN PRIVATE DOMAINS===
        github.io
        // ===END PRIVATE DOMAINS===
        """)

    @Test("finds the longest matching suffix, with wildcards and exceptions", arguments: [
        ("army.mil", "mil"), ("mod.gov.uk", "gov.uk"), ("bbc.co.uk", "uk"), ("a.b.ck", "b.ck"),
        ("www.ck", "ck"), ("x.unknowntld", "unknowntld"), ("me.github.io", "io"),
    ])
    func suffix(domain: String, expected: String) {
        #expect(list.suffix(of: domain) == expected)
    }

    @Test("gives registrable domains and whole suffixes")
    func registrable() {
        #expect(list.registrableDomain(of: "hq.army.mil") == "army.mil")
        #expect(list.registrableDomain(of: "gov.uk") == nil)
        #expect(list.isSuffix("gov.uk"))
        #expect(!list.isSuffix("army.mil"))
    }

    @Test("reads Debian's list when it is installed")
    func debian() {
        #expect(Fixtures.suffixes.suffix(of: "mod.gov.uk") == "gov.uk")
        #expect(Fixtures.suffixes.isSuffix("mil"))
    }
}
