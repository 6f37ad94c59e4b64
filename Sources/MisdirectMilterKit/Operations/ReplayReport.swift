import CorrespondentHistory
import Foundation
import MailHistory
import MisdirectionRisk

/// What `replay` found: the policy's decisions over past traffic, counted. Memory is bounded:
/// counters, plus at most ``maximumDomains`` flagged domains.
package struct ReplayReport {
    /// One input and how it was read.
    package struct Source: Encodable {
        package let path: String
        package let format: String
        package var bytes: Int
        package var messages = 0
        package var error: String?

        package init(path: String, format: String, bytes: Int, messages: Int = 0, error: String? = nil) {
            self.path = path
            self.format = format
            self.bytes = bytes
            self.messages = messages
            self.error = error
        }
    }

    /// A flagged recipient domain.
    package struct DomainEntry {
        package var recipients = 0
        package var level: RiskLevel
        package var action: Action
        package var suspected: String?
        package var rules: [String]
        package var example: String
    }

    package static let maximumDomains = 100_000

    package let configurationPath: String
    package let mode: Mode
    package var sources: [Source] = []
    package var messages = 0
    package var recipients = 0
    package var messagesRefused = 0
    package var messagesTagged = 0
    package var messagesHeld = 0
    package var actions: [Action: Int] = [:]
    package var levels: [RiskLevel: Int] = [:]
    package var rules: [String: Int] = [:]
    package var domains: [String: DomainEntry] = [:]
    package var domainsDropped = 0
    /// The flagged recipients counted per day by level, rule, outcome and domain, as the milter
    /// records them: the charts of `replay --html`.
    package var summary = DecisionSummary()

    package init(configurationPath: String, mode: Mode) {
        self.configurationPath = configurationPath
        self.mode = mode
    }

    /// Counts one message and the decision for each of its recipients.
    /// - Parameter day: the day of recipients the message has no stamp (day number) for.
    package mutating func add(_ message: ReplayedMessage, engine: Engine, day: Int = 0) {
        messages += 1
        var strongest = Action.accept
        for (index, recipient) in message.recipients.enumerated() {
            let verdict = engine.classifier.classify(path: EmailAddress.parsePath(recipient.utf8), input: recipient)
            let decision = engine.policy.decide(verdict)
            let stamp = index < message.stamps.count ? message.stamps[index] : day
            if let recorded = RecordedDecision(decision, time: stamp * 86400, queueID: message.id, sender: message.sender ?? "") {
                summary.add(recorded)
            }
            recipients += 1
            actions[decision.action, default: 0] += 1
            levels[verdict.level, default: 0] += 1
            strongest = max(strongest, decision.action)
            guard !verdict.reasons.isEmpty else { continue }
            for rule in verdict.rules { rules[rule.id, default: 0] += 1 }
            let domain = verdict.address?.domain ?? recipient
            if domains[domain] != nil {
                domains[domain]!.recipients += 1
            } else if domains.count < Self.maximumDomains {
                domains[domain] = DomainEntry(
                    recipients: 1, level: verdict.level, action: decision.action, suspected: verdict.suspectedDomain,
                    rules: verdict.rules.map(\.id), example: verdict.suggestedAddress.map { "\(recipient) -> \($0)" } ?? recipient)
            } else {
                domainsDropped += 1
            }
        }
        switch strongest {
        case _ where strongest.refuses: messagesRefused += 1
        case .quarantine: messagesHeld += 1
        case .tag: messagesTagged += 1
        default: break
        }
    }

    /// The flagged domains, most recipients first (then highest level, then name).
    package func topDomains(_ count: Int) -> [(domain: String, entry: DomainEntry)] {
        domains.sorted { a, b in
            if a.value.recipients != b.value.recipients { return a.value.recipients > b.value.recipients }
            if a.value.level != b.value.level { return a.value.level > b.value.level }
            return a.key < b.key
        }.prefix(count).map { ($0.key, $0.value) }
    }

    // MARK: Text

    package func text(top: Int) -> String {
        var out = "misdirect-milter replay: policy of \(configurationPath) (mode \(mode))\n"
        for source in sources {
            out += "  read \(source.path): \(source.format), \(Self.size(source.bytes)), \(Self.number(source.messages)) message\(source.messages == 1 ? "" : "s")"
            out += source.error.map { "; stopped early: \($0)" } ?? ""
            out += "\n"
        }
        out += "\nMessages: \(Self.number(messages))    Recipients: \(Self.number(recipients))\n\n"
        out += mode == .logOnly
            ? "What the policy would do per recipient (mode log-only: nothing is refused, these are what enforce would do):\n"
            : "What the policy would do per recipient:\n"
        for action in Action.allCases {
            let count = actions[action] ?? 0
            out += "  " + Self.pad(action.description, 10) + Self.leftPad(Self.number(count), 12) + "  " + Self.percent(count, of: recipients) + "\n"
        }
        out += "Messages with a recipient refused: \(Self.number(messagesRefused))    held: \(Self.number(messagesHeld))    tagged: \(Self.number(messagesTagged))\n\n"
        out += "By level: " + RiskLevel.allCases.map { "\($0) \(Self.number(levels[$0] ?? 0))" }.joined(separator: "    ") + "\n"
        let ruleCounts = rules.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
        out += "By rule:  " + (ruleCounts.isEmpty ? "none fired" : ruleCounts.map { "\($0.key) \(Self.number($0.value))" }.joined(separator: "    ")) + "\n"
        let top = topDomains(top)
        guard !top.isEmpty else { return out + "\nNo suspicious recipient domain.\n" }
        out += "\nTop suspicious domains:\n"
        let rows = [["domain", "recipients", "level", "action", "suspected", "rules", "example"]] + top.map { item in
            [item.domain, Self.number(item.entry.recipients), "\(item.entry.level)", "\(item.entry.action)",
             item.entry.suspected ?? "-", item.entry.rules.joined(separator: ","), item.entry.example]
        }
        let widths = (0..<7).map { column in rows.map { $0[column].count }.max() ?? 0 }
        for row in rows {
            let cells = row.enumerated().map { index, cell in index == 1 ? Self.leftPad(cell, widths[index]) : Self.pad(cell, widths[index]) }
            out += "  " + cells.joined(separator: "  ").replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression) + "\n"
        }
        if domainsDropped > 0 { out += "  (\(Self.number(domainsDropped)) more recipients on domains beyond the first \(Self.number(Self.maximumDomains)) flagged)\n" }
        return out
    }

    package static func number(_ value: Int) -> String {
        let digits = String(value)
        var out = ""
        for (index, character) in digits.enumerated() {
            if index > 0 && (digits.count - index) % 3 == 0 { out.append(",") }
            out.append(character)
        }
        return out
    }

    package static func percent(_ part: Int, of whole: Int) -> String {
        guard whole > 0 else { return "-" }
        return String(format: "%.2f%%", Double(part) * 100 / Double(whole))
    }

    package static func size(_ bytes: Int) -> String {
        switch bytes {
        case ..<1024: "\(bytes) B"
        case ..<(1 << 20): String(format: "%.1f KiB", Double(bytes) / 1024)
        case ..<(1 << 30): String(format: "%.1f MiB", Double(bytes) / 1048576)
        default: String(format: "%.2f GiB", Double(bytes) / 1073741824)
        }
    }

    package static func pad(_ text: String, _ width: Int) -> String { text + String(repeating: " ", count: max(0, width - text.count)) }
    package static func leftPad(_ text: String, _ width: Int) -> String { String(repeating: " ", count: max(0, width - text.count)) + text }

    // MARK: JSON

    package func json(top: Int) -> String {
        struct DomainJSON: Encodable {
            let domain: String
            let recipients: Int
            let level: String
            let action: String
            let suspected: String?
            let rules: [String]
            let example: String
        }
        struct ReportJSON: Encodable {
            let config: String
            let mode: String
            let sources: [Source]
            let messages: Int
            let recipients: Int
            let actions: [String: Int]
            let messagesRefused: Int
            let messagesTagged: Int
            let messagesHeld: Int
            let levels: [String: Int]
            let rules: [String: Int]
            let topDomains: [DomainJSON]
            let domainsDropped: Int

            enum CodingKeys: String, CodingKey {
                case config, mode, sources, messages, recipients, actions, levels, rules
                case messagesRefused = "messages_refused", messagesTagged = "messages_tagged", messagesHeld = "messages_held"
                case topDomains = "top_domains", domainsDropped = "domains_dropped"
            }
        }
        let report = ReportJSON(
            config: configurationPath, mode: mode.description, sources: sources, messages: messages, recipients: recipients,
            actions: Dictionary(uniqueKeysWithValues: Action.allCases.map { ($0.description, actions[$0] ?? 0) }),
            messagesRefused: messagesRefused, messagesTagged: messagesTagged, messagesHeld: messagesHeld,
            levels: Dictionary(uniqueKeysWithValues: RiskLevel.allCases.map { ($0.description, levels[$0] ?? 0) }),
            rules: rules,
            topDomains: topDomains(top).map {
                DomainJSON(domain: $0.domain, recipients: $0.entry.recipients, level: "\($0.entry.level)", action: "\($0.entry.action)",
                           suspected: $0.entry.suspected, rules: $0.entry.rules, example: $0.entry.example)
            },
            domainsDropped: domainsDropped)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes, .prettyPrinted]
        return String(decoding: (try? encoder.encode(report)) ?? Data("{}".utf8), as: UTF8.self)
    }
}
