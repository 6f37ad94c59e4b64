import MisdirectionRisk
import Testing

/// The decision for every odd shape a RCPT argument can take, as the table in docs/rules.md
/// ("Odd and hostile recipients") documents it. Inputs are the argument's bytes exactly as the
/// MTA passes them to the milter.
struct OddInputTests {
    struct Case: CustomTestStringConvertible, Sendable {
        let name: String
        let argument: [UInt8]
        let level: RiskLevel
        /// The address as parsed, or nil when it is not one.
        let parsed: String?
        /// The rule that fired, or the note of a clean verdict.
        let rule: Rule?
        let note: String?

        init(_ name: String, _ argument: [UInt8], _ level: RiskLevel, parsed: String?, rule: Rule? = nil, note: String? = nil) {
            self.name = name
            self.argument = argument
            self.level = level
            self.parsed = parsed
            self.rule = rule
            self.note = note
        }

        init(_ name: String, _ argument: String, _ level: RiskLevel, parsed: String?, rule: Rule? = nil, note: String? = nil) {
            self.init(name, Array(argument.utf8), level, parsed: parsed, rule: rule, note: note)
        }

        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case("quoted local part", "<\"john smith\"@army.ml>", .high, parsed: "\"john smith\"@army.ml", rule: .suffixConfusion),
        Case("quoted local part with specials", "<\"a;b=c\\\"d\"@army.ml>", .high, parsed: "\"a;b=c\\\"d\"@army.ml", rule: .suffixConfusion),
        Case("source route", "<@a.example,@b.example:u@army.ml>", .high, parsed: "u@army.ml", rule: .suffixConfusion),
        Case("address literal", "<u@[192.0.2.1]>", .none, parsed: "u@[192.0.2.1]", note: "address literal: no domain to compare"),
        Case("IPv6 address literal", "<u@[IPv6:2001:db8::1]>", .none, parsed: "u@[ipv6:2001:db8::1]", note: "address literal: no domain to compare"),
        Case("trailing dot", "<u@army.ml.>", .high, parsed: "u@army.ml", rule: .suffixConfusion),
        Case("trailing dot on a protected domain", "<u@army.mil.>", .none, parsed: "u@army.mil", note: "protected domain army.mil"),
        Case("mixed case", "<U.Ser@ARMY.Ml>", .high, parsed: "U.Ser@army.ml", rule: .suffixConfusion),
        Case("no angle brackets", "u@army.ml", .high, parsed: "u@army.ml", rule: .suffixConfusion),
        Case("spaces around the path", "  <u@army.ml>  ", .high, parsed: "u@army.ml", rule: .suffixConfusion),
        Case("UTF-8 (SMTPUTF8)", "<josé@ärmy.ml>", .high, parsed: "josé@ärmy.ml", rule: .suffixConfusion),
        Case("UTF-8 upper case", "<JOSÉ@ÄRMY.ML>", .high, parsed: "JOSÉ@ärmy.ml", rule: .suffixConfusion),
        Case("UTF-8 under a protected suffix", "<josé@army.mil>", .none, parsed: "josé@army.mil", note: "protected domain army.mil"),
        Case("null path", "<>", .none, parsed: nil, note: "null path"),
        Case("no argument at all", "", .none, parsed: nil, note: "null path"),
        Case("local name", "<postmaster>", .none, parsed: nil, note: "local name without a domain"),
        Case("CR LF inside", "<a@army.mil>\r\nRCPT TO:<b@army.ml>", .medium, parsed: nil, rule: .malformedAddress),
        Case("lone LF inside", "<a@army.mil\nX: y>", .medium, parsed: nil, rule: .malformedAddress),
        Case("NUL inside", Array("<a@army.mil".utf8) + [0] + Array(">".utf8), .medium, parsed: nil, rule: .malformedAddress),
        Case("cut at a NUL by the MTA", "<a@army.mil", .medium, parsed: nil, rule: .malformedAddress),
        Case("8-bit, not UTF-8", Array("<a@arm".utf8) + [0xE9] + Array("y.mil>".utf8), .medium, parsed: nil, rule: .malformedAddress),
        Case("label over 63 octets", "<a@" + String(repeating: "x", count: 64) + ".ml>", .medium, parsed: nil, rule: .malformedAddress),
        Case("name over 253 octets", "<a@" + Array(repeating: "abcdefghi", count: 26).joined(separator: ".") + ".ml>", .medium, parsed: nil, rule: .malformedAddress),
        Case("punycode that does not decode", "<j@xn--.mil>", .medium, parsed: "j@xn--.mil", rule: .malformedAddress),
        Case("punycode that decodes to control characters", "<x@xn--tal.ml>", .medium, parsed: "x@xn--tal.ml", rule: .malformedAddress),
        Case("punycode that decodes to a label starting with a combining mark", "<x@xn--stay.il>", .medium, parsed: "x@xn--stay.il", rule: .malformedAddress),
        Case("label starting with a combining mark", "<j@\u{301}army.mil>", .medium, parsed: nil, rule: .malformedAddress),
        Case("label of combining marks only", "<j@x.\u{32B}\u{336}.ml>", .medium, parsed: nil, rule: .malformedAddress),
        Case("invisible character", "<a@arm\u{200B}y.mil>", .medium, parsed: nil, rule: .malformedAddress),
        Case("empty label", "<a@army..mil>", .medium, parsed: nil, rule: .malformedAddress),
        Case("empty local part", "<@army.mil>", .medium, parsed: nil, rule: .malformedAddress),
        Case("unbalanced bracket", "<a@army.mil", .medium, parsed: nil, rule: .malformedAddress),
        Case("unterminated quote", "<\"a@army.mil>", .medium, parsed: nil, rule: .malformedAddress),
        Case("space in an unquoted local part", "<a b@army.mil>", .medium, parsed: nil, rule: .malformedAddress),
        Case("very long local part", "<" + String(repeating: "x", count: 2000) + "@army.ml>", .high, parsed: String(repeating: "x", count: 2000) + "@army.ml", rule: .suffixConfusion),
    ]

    @Test("every odd recipient gets its documented decision", arguments: cases)
    func decision(_ odd: Case) {
        let verdict = Fixtures.classifier.classify(path: EmailAddress.parsePath(odd.argument), input: String(decoding: odd.argument, as: UTF8.self))
        #expect(verdict.level == odd.level)
        #expect(verdict.address?.description == odd.parsed)
        if let rule = odd.rule { #expect(verdict.rules.first == rule) }
        if let note = odd.note { #expect(verdict.note == note) }
        // Whatever the input, neither the refusal text nor the header can carry a line break.
        let decision = Policy().decide(verdict)
        #expect(!decision.explanation.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F })
        let header = RiskHeader.value(for: [decision], mode: .enforce)
        #expect(!header.contains("\r"))
        #expect(header.split(separator: "\n").dropFirst().allSatisfy { $0.hasPrefix("\t") })
    }
}
