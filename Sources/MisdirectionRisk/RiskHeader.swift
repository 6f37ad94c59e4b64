/// The `X-Misdirection-Risk` header: the verdict on a message, for downstream review.
///
/// Grammar: `;`-separated items. The first is the message's level (`none`, `low`, `medium`,
/// `high`); then `key=value` items: `score`, `action` (what the policy says for the message),
/// `mode` (`enforce` or `log-only`: in log-only nothing was carried out). Then one group per
/// flagged recipient, started by `rcpt=` and followed by `rcpt-level`, `rcpt-score`,
/// `suspected`, `did-you-mean`, `reasons` (comma-separated rule ids), `rcpt-action` and, when a
/// rule in log-only mode kept that action from being carried out, `rcpt-mode=log-only`. A
/// Reply-To that looks like a protected domain gets the same group started by `reply-to=`.
/// Recipients refused at RCPT in enforce mode are listed too (with `rcpt-action=reject` or
/// `tempfail`) but do not count towards the message level: this copy does not go to them.
/// A refused recipient an authenticated sender confirmed (the sender override) is delivered and
/// its group ends with `override=sender` (the login name stays in the log, not the header).
/// Values that are not plain tokens are quoted with `"` and `\`.
///
/// Example: `high; score=0.95; action=tag; mode=enforce; rcpt=j@army.ml; rcpt-level=high; …`
public enum RiskHeader {
    /// The header field name.
    public static let name = "X-Misdirection-Risk"
    /// At most this many recipient groups are written; `more=N` counts the rest.
    public static let maximumRecipients = 10
    /// A longer value is cut to this many octets, ending in `...`: the longest address SMTP
    /// allows, and short enough that no line of the header can pass RFC 5322's 998 octets.
    public static let maximumValueLength = 254

    /// The header's items for a message's decisions, in order.
    public static func items(for decisions: [Decision], replyTo: [Decision] = [], mode: Mode) -> [(key: String?, value: String)] {
        let delivered = (decisions + replyTo).filter { !$0.effectiveAction.refuses }
        let level = delivered.map(\.verdict.level).max() ?? .none
        let score = delivered.map(\.verdict.score).max() ?? 0
        let action = delivered.map(\.action).max() ?? .accept
        var items: [(key: String?, value: String)] = [
            (nil, level.description), ("score", format(score)), ("action", action.description), ("mode", mode.description),
        ]
        let flagged = decisions.filter { $0.verdict.level > .none }.map { ("rcpt", $0) } + replyTo.map { ("reply-to", $0) }
        for (role, decision) in flagged.prefix(maximumRecipients) {
            let verdict = decision.verdict
            items.append((role, verdict.address?.description ?? verdict.input))
            items.append(("rcpt-level", verdict.level.description))
            items.append(("rcpt-score", format(verdict.score)))
            if let suspected = verdict.suspectedDomain { items.append(("suspected", suspected)) }
            if let suggestion = verdict.suggestedAddress { items.append(("did-you-mean", suggestion.description)) }
            items.append(("reasons", verdict.rules.map(\.id).joined(separator: ",")))
            items.append(("rcpt-action", decision.action.description))
            if decision.mode == .logOnly && mode == .enforce { items.append(("rcpt-mode", Mode.logOnly.description)) }
            if decision.overridden { items.append(("override", "sender")) }
        }
        if flagged.count > maximumRecipients {
            items.append(("more", String(flagged.count - maximumRecipients)))
        }
        return items.map { ($0.key, capped($0.value)) }
    }

    /// The value, or its first scalars and `...` when it is longer than ``maximumValueLength``.
    static func capped(_ value: String) -> String {
        value.truncated(toOctets: maximumValueLength)
    }

    /// The header value, folded with `\n\t` between items so no line grows past 78 characters.
    public static func value(for decisions: [Decision], replyTo: [Decision] = [], mode: Mode) -> String {
        var value = ""
        var lineLength = name.count + 2
        for (index, item) in items(for: decisions, replyTo: replyTo, mode: mode).enumerated() {
            let text = item.key.map { "\($0)=\(quoted(item.value))" } ?? item.value
            if index > 0 {
                value += ";"
                if lineLength + text.count + 2 > 78 {
                    value += "\n\t"
                    lineLength = 8
                } else {
                    value += " "
                    lineLength += 2
                }
            }
            value += text
            lineLength += text.count
        }
        return value
    }

    /// Splits a header value (unfolded or folded) back into its items; nil if it does not start
    /// with a level.
    ///
    /// Works on Unicode scalars, not characters: a combining mark after a quote must not hide
    /// the quote.
    public static func parse(_ value: String) -> [(key: String?, value: String)]? {
        var items: [(key: String?, value: String)] = []
        var current = String.UnicodeScalarView()
        var inQuotes = false
        var escaped = false
        var quotedItem = false
        func finish() {
            let text = trimmedSpaces(current)
            if let equals = text.firstIndex(of: "="), !quotedItem || !text[..<equals].contains("\"") {
                var itemValue = String.UnicodeScalarView(text[text.index(after: equals)...])
                if itemValue.count >= 2, itemValue.first == "\"", itemValue.last == "\"" {
                    itemValue = unescape(itemValue.dropFirst().dropLast())
                }
                items.append((String(String.UnicodeScalarView(text[..<equals])), String(itemValue)))
            } else if !text.isEmpty {
                items.append((nil, String(String.UnicodeScalarView(text))))
            }
            current = String.UnicodeScalarView()
            quotedItem = false
        }
        for scalar in value.unicodeScalars {
            if escaped { current.append(scalar); escaped = false; continue }
            switch scalar {
            case "\\" where inQuotes: current.append(scalar); escaped = true
            case "\"": inQuotes.toggle(); quotedItem = true; current.append(scalar)
            case ";" where !inQuotes: finish()
            case "\n", "\r", "\t": current.append(" ")
            default: current.append(scalar)
            }
        }
        finish()
        guard let first = items.first, first.key == nil, RiskLevel(name: first.value) != nil else { return nil }
        return items
    }

    private static func format(_ score: Double) -> String {
        let hundredths = Int((score * 100).rounded())
        return "\(hundredths / 100).\(hundredths % 100 < 10 ? "0" : "")\(hundredths % 100)"
    }

    /// The value as a token, or quoted when it holds anything but printable non-special ASCII.
    static func quoted(_ value: String) -> String {
        let special: Set<Character> = [";", "\"", "\\", "=", " ", "(", ")"]
        let needsQuotes = value.isEmpty || value.contains { special.contains($0) || !$0.isASCII || $0.asciiValue! < 0x21 || $0.asciiValue! == 0x7F }
        guard needsQuotes else { return value }
        var out = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"", "\\": out += "\\\(scalar)"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F: out += "?"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    private static func unescape(_ text: some Sequence<Unicode.Scalar>) -> String.UnicodeScalarView {
        var out = String.UnicodeScalarView()
        var escaped = false
        for scalar in text {
            if escaped { out.append(scalar); escaped = false } else if scalar == "\\" { escaped = true } else { out.append(scalar) }
        }
        return out
    }

    private static func trimmedSpaces(_ scalars: String.UnicodeScalarView) -> Substring.UnicodeScalarView {
        var slice = scalars[...]
        while slice.first == " " { slice.removeFirst() }
        while slice.last == " " { slice.removeLast() }
        return slice
    }
}

extension String {
    var trimmingSpaces: String {
        var slice = Substring(self)
        while slice.first == " " { slice.removeFirst() }
        while slice.last == " " { slice.removeLast() }
        return String(slice)
    }
}
