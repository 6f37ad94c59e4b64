// The review console's decisions page and report over many recorded decisions (default
// 1,000,000, in the SQLite history store the packaged configuration uses): the median time of
// GET /decisions unfiltered, by each filter, a later page, and of the report, against GET of the
// stylesheet (the floor: routing, the session and the response), in the same run. The store is
// built once under /tmp (writing a million decisions takes a while) and reused by later runs.
//   swift run -c release misdirect-decisions-bench [N]
import CorrespondentHistory
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import MisdirectMilterKit
import MisdirectionRisk
import ReviewConsole

struct NoHeldMail: HeldQueue {
    struct NotInBenchmark: Error {}
    func list() async throws -> [HeldEntry] { [] }
    func show(_ queueID: String) async throws -> HeldDetail { throw NotInBenchmark() }
    func release(_ queueID: String) async throws { throw NotInBenchmark() }
    func drop(_ queueID: String) async throws { throw NotInBenchmark() }
}

let count = CommandLine.arguments.dropFirst().first.flatMap { Int($0) } ?? 1_000_000
let now = Int(Date().timeIntervalSince1970)
let today = CorrespondentFacts.day(ofUnixTime: now)
let path = "/tmp/misdirect-decisions-bench-\(count)/history.sqlite"

/// The milliseconds a clock measured.
func milliseconds(_ duration: Duration) -> Double {
    Double(duration.components.attoseconds) / 1e15 + Double(duration.components.seconds) * 1000
}

/// Median milliseconds of `rounds` runs of `body`.
func median(_ rounds: Int, _ body: () async throws -> Void) async rethrows -> Double {
    var times: [Double] = []
    for _ in 0..<rounds { times.append(milliseconds(try await ContinuousClock().measure { try await body() })) }
    return times.sorted()[times.count / 2]
}

// Decisions over a year: 500 look-alike domains and 2,000 senders (a few of each common, most
// rare), rules from common to rare, most high or medium.
let rules = ["suffix-confusion", "tld-swap", "edit-distance", "homoglyph", "first-contact", "typo-provider", "reply-to", "subdomain-spoof"]
let ruleWeights = [40, 25, 15, 8, 6, 4, 1, 1]
func skewed(_ index: Int, _ range: Int) -> Int { (index &* 2_654_435_761 % 1_000_003) % (1 + (index % 7 == 0 ? range - 1 : range / 20)) }
func decision(_ index: Int) -> RecordedDecision {
    var pick = index % 100
    var rule = 0
    while pick >= ruleWeights[rule] { pick -= ruleWeights[rule]; rule += 1 }
    let domain = "lookalike\(skewed(index, 500)).ml"
    let level = ["high", "high", "medium", "medium", "medium", "low"][index % 6]
    let outcome: RecordedDecision.Outcome = level == "high" ? (index % 4 == 0 ? .held : .refused) : level == "medium" ? .tagged : .flagged
    return RecordedDecision(
        time: now - 365 * 86400 + Int(Double(index) / Double(count) * 365 * 86400), queueID: String(format: "4F%010X", index),
        sender: "user\(skewed(index / 3, 2000))@example.org", recipient: "j.smith\(index % 1000)@\(domain)", recipientDomain: domain,
        level: level, score: 0.8, action: level == "high" ? "reject" : "tag", outcome: outcome, rules: [rules[rule]],
        suspected: "army.mil", explanation: "\(domain) looks like a misspelling of army.mil")
}

let store = SQLiteCorrespondentStore(path: path)
try await store.prepare()
let have = try await store.decisions(DecisionQuery(limit: 1)).first?.id ?? 0
if have < Int64(count) {
    print("writing \(count) decisions to \(path) (once; later runs reuse it)")
    let clock = ContinuousClock()
    let elapsed = try await clock.measure {
        var start = Int(have)
        while start < count {
            let end = min(start + 5_000, count)
            try await store.recordDecisions((start..<end).map(decision), writeID: nil)
            start = end
        }
    }
    print(String(format: "  written in %.1f s (%.0f decisions/s, batches of 5,000)", milliseconds(elapsed) / 1000, Double(count - Int(have)) / milliseconds(elapsed) * 1000))
}

// A reviewer named by the proxy header (the test client's peer is "unknown"), so no bcrypt.
var settings = ConsoleConfiguration()
settings.proxyUserHeader = "X-Remote-User"
settings.proxyAddress = "unknown"
let console = ReviewConsole(settings: settings, queue: NoHeldMail(), signer: nil, ledger: nil,
                            audit: AuditLog(path: "/dev/null", logger: Logger(label: "bench")), decisions: store, retentionDays: 400)
let application = Application(router: console.router())
let someDay = CorrespondentFacts.date(ofDay: today - 100)
let pages: [(String, String)] = [
    ("GET /decisions, newest 100", "/decisions"),
    ("  ?domain= (a common domain)", "/decisions?domain=lookalike0.ml"),
    ("  ?domain= (a rare domain)", "/decisions?domain=lookalike499.ml"),
    ("  ?sender=", "/decisions?sender=user1%40example.org"),
    ("  ?rule= (a common rule)", "/decisions?rule=suffix-confusion"),
    ("  ?rule= (a rare rule)", "/decisions?rule=subdomain-spoof"),
    ("  ?level=low", "/decisions?level=low"),
    ("  ?outcome=held", "/decisions?outcome=held"),
    ("  ?day= (one day)", "/decisions?day=\(someDay)"),
    ("  ?domain=&level=&rule= (rare together)", "/decisions?domain=lookalike499.ml&level=low&rule=homoglyph"),
    ("  ?before= (the 5,000th page back)", "/decisions?before=\(count / 2)"),
    ("  nothing matches (a domain never seen)", "/decisions?domain=nowhere.example"),
    ("GET /report (30 days of counters)", "/report?days=30"),
    ("GET /report?days=365", "/report?days=365"),
]
let user: HTTPFields = [HTTPField.Name("X-Remote-User")!: "bench"]
let results = try await application.test(.router) { client in
    let first = try await client.execute(uri: "/decisions", method: .get, headers: user)
    precondition(first.status == .ok && String(buffer: first.body).contains("class=\"decision "))
    var headers = user
    headers[.cookie] = String(first.headers[values: .setCookie].first?.split(separator: ";").first ?? "")
    let floor = try await median(31) { _ = try await client.execute(uri: "/static/console.css", method: .get, headers: headers) }
    var rows: [(String, Double, Int)] = []
    for (label, uri) in pages {
        var bytes = 0
        for _ in 0..<2 { _ = try await client.execute(uri: uri, method: .get, headers: headers) }
        let time = try await median(15) {
            let response = try await client.execute(uri: uri, method: .get, headers: headers)
            precondition(response.status == .ok, "\(uri): \(response.status)")
            bytes = response.body.readableBytes
        }
        rows.append((label, time, bytes))
    }
    return (floor, rows)
}

let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
print("review console, \(count) recorded decisions in SQLite (\(size >> 20) MiB) (median ms; ratio to the floor)")
func row(_ label: String, _ time: Double, _ note: String = "") {
    print("  \(label.padding(toLength: 46, withPad: " ", startingAt: 0)) \(String(format: "%9.2f", time))  \(String(format: "%8.1f", time / results.0))  \(note)")
}
row("GET /static/console.css (the floor)", results.0)
for (label, time, bytes) in results.1 { row(label, time, "\(bytes / 1024) KiB") }
await store.close()
