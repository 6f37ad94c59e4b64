// The X-Misdirection-Risk header: RiskHeader.parse on any text, and the value built for the
// decisions on the input's recipients (one per line) parsed back to the same items.
import FuzzSupport
import MisdirectionRisk

fuzz { bytes in
    _ = RiskHeader.parse(String(decoding: bytes, as: UTF8.self))

    let fields = lines(bytes, maximum: 16)
    let selector = fields[0].first ?? 0
    let mode: Mode = selector & 1 == 0 ? .enforce : .logOnly
    let high: Action = [.accept, .tag, .tempfail, .reject][Int(selector >> 1) & 3]
    let policy = Policy(mode: mode, actions: [.medium: .tag, .high: high])
    let decisions = fields.dropFirst().map { recipient in
        policy.decide(Fixtures.classifier.classify(path: EmailAddress.parsePath(recipient), input: String(decoding: recipient, as: UTF8.self)))
    }
    let value = RiskHeader.value(for: decisions, mode: mode)
    requireWellFormedHeader(value, input: bytes)
    let expected = RiskHeader.items(for: decisions, mode: mode)
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
