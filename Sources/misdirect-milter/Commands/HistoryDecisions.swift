import ArgumentParser
import CorrespondentHistory
import Foundation
import MisdirectMilterKit
import MisdirectionRisk
import ReviewConsole

/// `misdirect-milter history decisions`: the recorded decisions, as the console's decisions page
/// lists them, for a postmaster with a shell.
struct HistoryDecisions: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "decisions",
        abstract: "List the decisions the milter recorded (flagged, refused, held, overridden, log-only), newest first.",
        discussion: "One line per recipient: time (UTC), queue id, sender, recipient, level, outcome (policy action), rules, explanation. Recorded when history.decisions is on (the default)."
    )

    @OptionGroup var options: ConfigOptions

    @Option(help: ArgumentHelp("Only this recipient domain.", valueName: "domain")) var domain: String?
    @Option(help: ArgumentHelp("Only this envelope sender.", valueName: "address")) var sender: String?
    @Option(help: ArgumentHelp("Only decisions this rule fired in.", valueName: "rule")) var rule: String?
    @Option(help: ArgumentHelp("Only this level: \(RiskLevel.allCases.map(\.description).joined(separator: ", ")).", valueName: "level")) var level: String?
    @Option(help: ArgumentHelp("Only this outcome: \(RecordedDecision.Outcome.allCases.map(\.rawValue).joined(separator: ", ")).", valueName: "outcome")) var outcome: String?
    @Option(help: ArgumentHelp("Only this day (YYYY-MM-DD, UTC).", valueName: "date")) var day: String?
    @Option(help: "At most this many.") var limit = 50

    /// The options read as the console reads its page's filters.
    private var filters: ReviewConsole.DecisionFilters {
        let given = ["domain": domain, "sender": sender, "rule": rule, "level": level, "outcome": outcome, "day": day]
        return ReviewConsole.DecisionFilters { given[$0] ?? nil }
    }

    func validate() throws {
        let errors = filters.errors
        guard errors.isEmpty else { throw ValidationError(errors.joined(separator: "; ")) }
        guard limit > 0 else { throw ValidationError("--limit must be 1 or more") }
    }

    func run() async throws {
        let engine = try options.loadEngine()
        let history = try HistoryCommand.configuration(of: engine, path: options.path)
        var query = filters.query
        query.limit = limit
        let found = history.exists ? try await HistoryCommand.run(history) { [query] store in try await store.decisions(query) } : []
        HistoryAccess.restoreOwnership(history)
        for decision in found {
            print([
                ReviewConsole.timestamp(decision.time), decision.queueID, decision.sender.isEmpty ? "<>" : decision.sender,
                decision.recipient + (decision.role == "recipient" ? "" : " (\(decision.role))"), decision.level,
                "\(decision.outcome.rawValue) (\(decision.action))", "[\(decision.rules.joined(separator: ","))]", decision.explanation,
            ].joined(separator: "  "))
        }
        if found.isEmpty { printError("no recorded decision matches") }
    }
}
