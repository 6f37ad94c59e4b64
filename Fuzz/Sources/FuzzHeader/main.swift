// The X-Misdirection-Risk header: RiskHeader.parse on any text, and the value built for
// decisions made up from the input (one recipient per line: a control byte for level, rule,
// suspected domain and Reply-To, then the address, a tab, and any suspected-domain text),
// parsed back to the same items. Made-up verdicts reach values the classifier never
// produces, and cost far less than classifying.
import FuzzSupport
import MisdirectionRisk

fuzz { bytes in
    _ = RiskHeader.parse(String(decoding: bytes, as: UTF8.self))

    let fields = lines(bytes, maximum: 16)
    let selector = fields[0].first ?? 0
    let mode: Mode = selector & 1 == 0 ? .enforce : .logOnly
    let high: Action = [.accept, .tag, .tempfail, .reject][Int(selector >> 1) & 3]
    let policy = Policy(mode: mode, actions: [.medium: .tag, .high: high])
    var decisions: [Decision] = []
    var replyTo: [Decision] = []
    for line in fields.dropFirst() {
        let control = line.first ?? 0
        let rest = line.dropFirst()
        let address = rest.prefix { $0 != 0x09 }
        let suspected = rest.drop { $0 != 0x09 }.dropFirst()
        let score = [0, 0.3, 0.6, 0.95][Int(control & 3)]
        let rule = Rule.all[Int(control >> 2) % Rule.all.count]
        let parsed: EmailAddress? = if case .address(let parsed) = EmailAddress.parsePath(address) { parsed } else { nil }
        let verdict = RecipientVerdict(
            address: parsed, input: String(decoding: address, as: UTF8.self),
            suspectedDomain: control & 0x40 != 0 ? String(decoding: suspected, as: UTF8.self) : nil,
            reasons: score > 0 ? [Reason(rule: rule, score: score, explanation: "made up")] : [])
        if control & 0x80 != 0 { replyTo.append(policy.decide(verdict)) } else { decisions.append(policy.decide(verdict)) }
    }
    let value = RiskHeader.value(for: decisions, replyTo: replyTo, mode: mode)
    requireWellFormedHeader(value, input: bytes)
    let expected = RiskHeader.items(for: decisions, replyTo: replyTo, mode: mode)
    guard let parsed = RiskHeader.parse(value) else {
        require(false, "value does not parse: \(value)", input: bytes)
        return
    }
    require(parsed.count == expected.count, "\(parsed.count) items parsed, \(expected.count) written: \(value)", input: bytes)
    for (got, want) in zip(parsed, expected) {
        require(got.key == want.key && got.value == printable(want.value), "item \(want) parsed as \(got) from \(value)", input: bytes)
    }
}

/// A value as the header carries it: control characters shown as `?`.
func printable(_ value: String) -> String {
    String(String.UnicodeScalarView(value.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? "?" : $0 }))
}
