import CorrespondentHistory
import Foundation
import HTTPTypes
import Hummingbird
import MisdirectionRisk

/// The recorded decisions: a search page and the charts.
extension ReviewConsole {
    /// Rows on one page of decisions.
    static let decisionPageSize = 100

    /// What both pages say without a history store.
    static let noStore = "No decision is recorded: the milter records them in its history store (the history section of the configuration)."

    /// The filters of `/decisions` (and of `history decisions`), read by name; a value that
    /// cannot be one is an error.
    package struct DecisionFilters {
        package var query = DecisionQuery(limit: ReviewConsole.decisionPageSize + 1)
        var values: [String: String] = [:]
        package var errors: [String] = []

        /// - Parameter value: the text given for a filter (`domain`, `sender`, `rule`, `level`,
        ///   `outcome`, `day`, `before`), or nil.
        package init(_ value: (String) -> String?) {
            func text(_ name: String) -> String? {
                guard let value = value(name)?.trimmingCharacters(in: .whitespaces), !value.isEmpty else { return nil }
                values[name] = value
                return value
            }
            query.domain = text("domain")?.lowercased()
            query.sender = text("sender")?.lowercased()
            query.rule = text("rule")
            if let level = text("level") {
                if RiskLevel.allCases.map(\.description).contains(level) { query.level = level } else { errors.append("level \(level) is not a level") }
            }
            if let outcome = text("outcome") {
                if let known = RecordedDecision.Outcome(rawValue: outcome) { query.outcome = known } else { errors.append("outcome \(outcome) is not an outcome") }
            }
            if let day = text("day") {
                if let number = CorrespondentFacts.day(ofDate: day) { query.day = number } else { errors.append("day \(day) is not a date (YYYY-MM-DD)") }
            }
            if let before = text("before") {
                if let id = Int64(before), id > 0 { query.before = id } else { errors.append("before \(before) is not a decision number") }
            }
        }

        /// The query string of these filters with another `before`.
        func link(before: Int64) -> String {
            var items = values.filter { $0.key != "before" }.sorted { $0.key < $1.key }.map { "\($0.key)=\(Self.encode($0.value))" }
            items.append("before=\(before)")
            return "/decisions?" + items.joined(separator: "&")
        }

        static func encode(_ text: String) -> String {
            text.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~@"))) ?? ""
        }
    }

    func decisionList(_ session: Sessions.Session, _ request: Request, _ context: ConsoleContext) async throws -> Response {
        let parameters = request.uri.queryParameters
        let filters = DecisionFilters { parameters.get($0) }
        var values: [String: Any] = filters.values
        values["levels"] = RiskLevel.allCases.map { ["name": "\($0)", "selected": filters.values["level"] == "\($0)"] }
        values["outcomes"] = RecordedDecision.Outcome.allCases.map { ["name": $0.rawValue, "selected": filters.values["outcome"] == $0.rawValue] }
        var status = HTTPResponse.Status.ok
        if let store = decisions, filters.errors.isEmpty {
            do {
                let found = try await store.decisions(filters.query)
                let shown = found.prefix(Self.decisionPageSize)
                values["decisions"] = shown.map(Self.values)
                values["hasDecisions"] = !shown.isEmpty
                if found.count > Self.decisionPageSize, let last = shown.last?.id { values["older"] = filters.link(before: last) }
            } catch {
                context.logger.error("cannot read the decisions", metadata: ["error": "\(error)"])
                status = .serviceUnavailable
                values["error"] = "The decisions cannot be read: \(error)"
            }
        } else if decisions == nil {
            values["error"] = Self.noStore
        } else {
            status = .badRequest
            values["error"] = filters.errors.joined(separator: "; ")
        }
        return html(status, pages.render("decisions", title: "Decisions", user: session.user, csrf: session.csrf, values))
    }

    func report(_ session: Sessions.Session, _ request: Request, _ context: ConsoleContext) async throws -> Response {
        let span = min(max(request.uri.queryParameters.get("days").flatMap { Int($0) } ?? 30, 1), retentionDays)
        let today = CorrespondentFacts.day(ofUnixTime: now())
        var values: [String: Any] = ["days": span, "spans": [7, 30, 90, 365].filter { $0 <= retentionDays }.map { ["days": $0, "current": $0 == span] }]
        var status = HTTPResponse.Status.ok
        if let store = decisions {
            do {
                let summary = try await store.decisionSummary(sinceDay: today - span + 1)
                values["report"] = DecisionReport(summary: summary, days: (today - span + 1)...today).html
            } catch {
                context.logger.error("cannot read the decision counts", metadata: ["error": "\(error)"])
                status = .serviceUnavailable
                values["error"] = "The decision counts cannot be read: \(error)"
            }
        } else {
            values["error"] = Self.noStore
        }
        return html(status, pages.render("report", title: "Report", user: session.user, csrf: session.csrf, values))
    }

    static func values(_ decision: RecordedDecision) -> [String: Any] {
        [
            "id": decision.id.map { String($0) } ?? "", "time": Self.timestamp(decision.time), "queueID": decision.queueID,
            "sender": decision.sender.isEmpty ? "<>" : decision.sender, "recipient": decision.recipient, "role": decision.role,
            "isReplyTo": decision.role != "recipient", "level": decision.level, "outcome": decision.outcome.rawValue,
            "action": decision.action, "rules": decision.rules.joined(separator: ", "), "suspected": decision.suspected ?? "",
            "explanation": decision.explanation,
        ]
    }

    /// `YYYY-MM-DD HH:MM:SS` UTC.
    package static func timestamp(_ seconds: Int) -> String {
        let day = CorrespondentFacts.day(ofUnixTime: seconds)
        let rest = seconds - day * 86400
        return CorrespondentFacts.date(ofDay: day) + String(format: " %02d:%02d:%02d", rest / 3600, rest / 60 % 60, rest % 60)
    }
}
