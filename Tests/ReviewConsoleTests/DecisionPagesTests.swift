import CorrespondentHistory
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import MisdirectionRisk
@testable import ReviewConsole
import Testing

/// The decisions page and the report, over a real SQLite history store.
@Suite("review console: decisions and charts")
struct DecisionPagesTests {
    /// The fixture's clock is 1,800,000,000: decisions on that day and the two before.
    static let now = 1_800_000_000
    static var today: Int { CorrespondentFacts.day(ofUnixTime: now) }

    static func decision(_ recipient: String, daysAgo: Int, second: Int, sender: String = "alice@example.org", level: String = "high",
                         outcome: RecordedDecision.Outcome = .refused, rules: [String] = ["tld-swap"]) -> RecordedDecision {
        RecordedDecision(
            time: now - daysAgo * 86400 + second, queueID: "4Q\(daysAgo)\(second)", sender: sender, recipient: recipient,
            recipientDomain: String(recipient.split(separator: "@").last ?? ""), level: level, score: 0.9, action: "reject",
            outcome: outcome, rules: rules, suspected: "army.mil", explanation: "looks like army.mil")
    }

    /// A store in a temporary directory holding `decisions`.
    static func store(_ decisions: [RecordedDecision]) async throws -> any CorrespondentStore {
        let store = SQLiteCorrespondentStore(path: NSTemporaryDirectory() + "decisions-\(UUID().uuidString)/history.sqlite")
        try await store.prepare()
        try await store.recordDecisions(decisions, writeID: nil)
        return store
    }

    static let sample = [
        decision("ops@army.ml", daysAgo: 2, second: 1),
        decision("desk@army.ml", daysAgo: 1, second: 1, sender: "bob@example.org", level: "medium", outcome: .tagged, rules: ["edit-distance"]),
        decision("<script>alert(1)</script>@navy.ml", daysAgo: 0, second: 1, outcome: .wouldRefuse),
    ]

    @Test("the decisions page needs a session, lists newest first, escapes what senders wrote, and filters")
    func list() async throws {
        let fixture = try Fixture(decisions: try await Self.store(Self.sample))
        try await fixture.application.test(.live) { client in
            var browser = Browser()
            for path in ["/decisions", "/report"] {
                let anonymous = try await browser.get(client, path)
                #expect(anonymous.status == .seeOther && anonymous.headers[.location] == "/login")
            }
            _ = try await browser.signIn(client)
            let page = String(buffer: try await browser.get(client, "/decisions").body)
            let order = ["navy.ml", "desk@army.ml", "ops@army.ml"].compactMap { page.range(of: $0)?.lowerBound }
            #expect(order.count == 3 && order == order.sorted(), "newest first")
            #expect(!page.contains("<script>") && page.contains("&lt;script&gt;"))
            #expect(page.contains("would-refuse") && page.contains("policy: reject"))

            let domain = String(buffer: try await browser.get(client, "/decisions?domain=ARMY.ml").body)
            #expect(domain.contains("ops@army.ml") && domain.contains("desk@army.ml") && !domain.contains("navy.ml"))
            #expect(domain.contains("value=\"ARMY.ml\""), "the form keeps what was asked")
            let combined = String(buffer: try await browser.get(client, "/decisions?sender=bob%40example.org&rule=edit-distance&level=medium").body)
            #expect(combined.contains("desk@army.ml") && !combined.contains("ops@army.ml"))
            let day = CorrespondentFacts.date(ofDay: Self.today - 2)
            let oneDay = String(buffer: try await browser.get(client, "/decisions?day=\(day)&outcome=refused").body)
            #expect(oneDay.contains("ops@army.ml") && !oneDay.contains("desk@army.ml"))
            let none = String(buffer: try await browser.get(client, "/decisions?domain=nowhere.example").body)
            #expect(none.contains("No decision matches."))

            for bad in ["level=severe", "outcome=lost", "day=2026-02-30", "before=-1"] {
                let response = try await browser.get(client, "/decisions?\(bad)")
                #expect(response.status == .badRequest, "\(bad)")
                #expect(String(buffer: response.body).contains("id=\"error\""), "\(bad)")
            }
        }
    }

    @Test("a page holds 100 decisions and links to the older ones, filters kept")
    func paging() async throws {
        let many = (0..<150).map { Self.decision("u\($0)@army.ml", daysAgo: 0, second: $0) }
        let fixture = try Fixture(decisions: try await Self.store(many))
        try await fixture.application.test(.live) { client in
            var browser = Browser()
            _ = try await browser.signIn(client)
            let first = String(buffer: try await browser.get(client, "/decisions?domain=army.ml").body)
            #expect(first.components(separatedBy: "class=\"decision ").count - 1 == 100)
            #expect(first.contains("u149@army.ml") && !first.contains("u49@army.ml"))
            let older = try #require(first.range(of: "rel=\"next\" href=\"").map { String(first[$0.upperBound...].prefix { $0 != "\"" }) })
            #expect(older.hasPrefix("/decisions?domain=army.ml&amp;before="))
            let second = String(buffer: try await browser.get(client, older.replacingOccurrences(of: "&amp;", with: "&")).body)
            #expect(second.components(separatedBy: "class=\"decision ").count - 1 == 50)
            #expect(second.contains("u49@army.ml") && second.contains("u0@army.ml") && !second.contains("rel=\"next\""))
        }
    }

    @Test("the report draws SVG charts in the page: per day by level and rule, top domains, what enforce would have refused")
    func report() async throws {
        let fixture = try Fixture(decisions: try await Self.store(Self.sample))
        try await fixture.application.test(.live) { client in
            var browser = Browser()
            _ = try await browser.signIn(client)
            let response = try await browser.get(client, "/report?days=7")
            let page = String(buffer: response.body)
            #expect(response.status == .ok)
            for id in ["chart-levels", "chart-rules", "chart-domains", "chart-would-refuse"] { #expect(page.contains("<svg id=\"\(id)\""), "\(id)") }
            #expect(page.contains("\(CorrespondentFacts.date(ofDay: Self.today - 2)) high: 1"))
            #expect(page.contains("<title>army.ml: 2</title>"))
            #expect(page.contains("\(CorrespondentFacts.date(ofDay: Self.today)) would refuse: 1"))
            #expect(!page.contains("<script"))
        }
    }

    @Test("without a history store both pages say so")
    func noStore() async throws {
        let fixture = try Fixture()
        try await fixture.application.test(.live) { client in
            var browser = Browser()
            _ = try await browser.signIn(client)
            for path in ["/decisions", "/report"] {
                #expect(String(buffer: try await browser.get(client, path).body).contains("No decision is recorded"))
            }
        }
    }
}

@Suite("charts")
struct ChartTests {
    @Test("the scale is 1, 2 or 5 times a power of ten, at least the largest bar")
    func scale() {
        #expect([0, 1, 2, 3, 7, 10, 11, 26, 51, 999, 1001].map(Charts.niceMaximum) == [1, 1, 2, 5, 10, 10, 20, 50, 100, 1000, 2000])
    }

    @Test("a bar's height is its share of the scale, and stacked series sum")
    func heights() {
        let svg = Charts.daily(id: "c", title: "t", days: 10...11, series: [
            Charts.Series(name: "high", color: "#b3261e", counts: [10: 10]),
            Charts.Series(name: "low", color: "#5b6576", counts: [10: 10, 11: 5]),
        ])
        // 20 on day 10 fills the plot (180 high), 5 on day 11 a quarter of it.
        let chart = svg.components(separatedBy: "</svg>")[0]
        let heights = chart.components(separatedBy: "height=\"").dropFirst().compactMap { Double($0.prefix { $0 != "\"" }) }
        #expect(heights == [90, 90, 45], "\(heights)")
    }

    @Test("replay's file is self-contained: inline style, no script, nothing fetched")
    func document() {
        var summary = DecisionSummary()
        summary.add(kind: "level", key: "high", day: 100)
        summary.add(kind: "domain", key: "army.ml", day: 100)
        let html = DecisionReport(summary: summary, days: 100...101).document(title: "t & <t>", lead: "lead")
        #expect(html.contains("<style>") && html.contains("t &amp; &lt;t&gt;"))
        #expect(!html.contains("<script") && !html.contains("src=") && !html.contains("<link"))
        let outside = html.replacingOccurrences(of: "xmlns=\"http://www.w3.org/2000/svg\"", with: "")
        #expect(!outside.contains("://") && !outside.contains("url("))
    }
}
