// The review console's list page with many held messages (default 10,000): the median time of
// GET /held (a page of 200, newest first, from the list the console keeps) against GET of its
// stylesheet (the floor: routing, the session and the response, nothing rendered), in the same
// run; and the console's share of a list refresh, decoding `held list --json` lines. The held
// command itself (postqueue and postcat through sudo) is timed by scripts/held-bench.
//   swift run -c release misdirect-console-bench [N]
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import MisdirectMilterKit
import ReviewConsole
import ReviewLinks

struct NotInBenchmark: Error {}

struct FixedQueue: HeldQueue {
    let entries: [HeldEntry]
    func list() async throws -> [HeldEntry] { entries }
    func show(_ queueID: String) async throws -> HeldDetail { throw NotInBenchmark() }
    func release(_ queueID: String) async throws { throw NotInBenchmark() }
    func drop(_ queueID: String) async throws { throw NotInBenchmark() }
}

let count = CommandLine.arguments.dropFirst().first.flatMap { Int($0) } ?? 10_000
let start = Date()
let entries = (0..<count).map { index in
    HeldEntry(queueID: String(format: "4F%09X", index), arrival: start.addingTimeInterval(Double(index - count)),
              sender: "user\(index % 97)@example.org", recipients: ["j.smith\(index)@army.ml", "colleague@army.mil"],
              level: index % 5 == 0 ? "medium" : "high", suspected: ["army.mil"], reasons: ["suffix-confusion"])
}

/// Median milliseconds of `rounds` runs of `body`.
func median(_ rounds: Int, _ body: () async throws -> Void) async rethrows -> Double {
    var times: [Double] = []
    for _ in 0..<rounds {
        let clock = ContinuousClock()
        let elapsed = try await clock.measure { try await body() }
        times.append(Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1000)
    }
    return times.sorted()[times.count / 2]
}

// The held command's output, as the console decodes it on each refresh.
let encoder = JSONEncoder()
encoder.dateEncodingStrategy = .iso8601
let lines = try entries.map { String(decoding: try encoder.encode($0), as: UTF8.self) }.joined(separator: "\n")
let decode = try await median(5) {
    let decoded = try HeldCommand.entries(listed: lines)
    precondition(decoded == entries.map { entry in
        HeldEntry(queueID: entry.queueID, arrival: Date(timeIntervalSince1970: entry.arrival.timeIntervalSince1970.rounded(.down)),
                  sender: entry.sender, recipients: entry.recipients, level: entry.level, suspected: entry.suspected, reasons: entry.reasons)
    })
}

// A reviewer named by the proxy header (the test client's peer is "unknown"), so no bcrypt.
var settings = ConsoleConfiguration()
settings.proxyUserHeader = "X-Remote-User"
settings.proxyAddress = "unknown"
settings.auditLog = "/dev/null"
let console = ReviewConsole(settings: settings, queue: FixedQueue(entries: entries), signer: nil, ledger: nil,
                            audit: AuditLog(path: "/dev/null", logger: Logger(label: "bench")))
let application = Application(router: console.router())
let user: HTTPFields = [HTTPField.Name("X-Remote-User")!: "bench"]
let (page, floor, bytes) = try await application.test(.router) { client in
    var bytes = 0
    let first = try await client.execute(uri: "/held", method: .get, headers: user)
    precondition(first.status == .ok && String(buffer: first.body).contains("\(count) held"))
    var headers = user
    headers[.cookie] = String(first.headers[values: .setCookie].first?.split(separator: ";").first ?? "")
    for _ in 0..<3 { _ = try await client.execute(uri: "/held", method: .get, headers: headers) }
    let page = try await median(31) {
        let response = try await client.execute(uri: "/held", method: .get, headers: headers)
        bytes = response.body.readableBytes
    }
    let floor = try await median(31) {
        _ = try await client.execute(uri: "/static/console.css", method: .get, headers: headers)
    }
    return (page, floor, bytes)
}

func row(_ label: String, _ milliseconds: Double) {
    let padded = label.padding(toLength: 54, withPad: " ", startingAt: 0)
    print("  \(padded) \(String(format: "%9.2f", milliseconds))  \(String(format: "%8.2f", milliseconds / floor))")
}
print("review console, \(count) held messages (median ms; ratio to the floor)")
row("GET /static/console.css (the floor)", floor)
row("GET /held, a page of 200 (\(bytes / 1024) KiB)", page)
row("decoding held list --json, on each refresh (5 s)", decode)
