// misdirect-history-bench: the milter's per-recipient decision with the correspondent history
// against the same decision without it, measured in the same run, one recipient at a time in
// rotation, while the history's background loops read and write the store.
//
//     scripts/history-bench            # SQLite, and a private PostgreSQL on loopback
//     swift build -c release --product misdirect-history-bench && \
//         .build/release/misdirect-history-bench [--postgresql HOST:PORT | --private-postgresql] [--recipients N]
//
// --private-postgresql starts a throwaway server as the tests do (PostgresHarness: initdb into
// a temporary directory, a free loopback port; root and Debian's postgresql package).
//
// With history, a decision is what a session does: classify, apply the snapshot (first-contact,
// established), decide, and queue the delivery for the background writer. The store holds
// 20,000 correspondents (5,000 established) and is re-read every second and written every
// 100 ms during the run (the defaults are 60 s and 5 s), so the background work is at its
// busiest. Prints p50, p99, p99.9 and the largest decision time per variant. Not a test:
// figures depend on the machine.
import CorrespondentHistory
import Foundation
import Locking
import Logging
import PostgresHarness
import MisdirectionRisk
import Synchronization

/// xorshift64*: seeded, so every run sees the same recipients.
struct Random {
    var state: UInt64
    mutating func next() -> UInt64 {
        state ^= state >> 12
        state ^= state << 25
        state ^= state >> 27
        return state &* 0x2545_F491_4F6C_DD1D
    }
    mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }
}

let letters = Array("abcdefghijklmnopqrstuvwxyz")
let tails = ["com", "org", "net", "co.uk", "de", "fr", "nl", "gov.uk", "ac.uk", "io"]

func domain(_ random: inout Random) -> String {
    let length = 5 + random.below(9)
    return String((0..<length).map { _ in letters[random.below(letters.count)] }) + "." + tails[random.below(tails.count)]
}

/// The domain with one letter of its name changed: a typo of it.
func typo(of domain: String, _ random: inout Random) -> String {
    var characters = Array(domain)
    let dot = characters.firstIndex(of: ".")!
    let position = 1 + random.below(dot - 1)
    characters[position] = characters[position] == "x" ? "y" : "x"
    return String(characters)
}

// MARK: Arguments

var postgresAddress: String?
var privatePostgres = false
var recipientCount = 200_000
var arguments = CommandLine.arguments.dropFirst().makeIterator()
while let argument = arguments.next() {
    switch argument {
    case "--postgresql": postgresAddress = arguments.next()
    case "--private-postgresql": privatePostgres = true
    case "--recipients": recipientCount = Int(arguments.next() ?? "") ?? recipientCount
    default:
        FileHandle.standardError.write(Data("usage: misdirect-history-bench [--postgresql HOST:PORT | --private-postgresql] [--recipients N]\n".utf8))
        exit(64)
    }
}

// MARK: Setup

let suffixText = (try? String(contentsOfFile: PublicSuffixList.debianPath, encoding: .utf8)) ?? "com\norg\nnet\nuk\nco.uk\ngov.uk\nac.uk\nde\nfr\nnl\nio\nmil\ngov\nml\n"
let suffixes = PublicSuffixList(parsing: suffixText)
let protected = ((try? String(contentsOfFile: "evaluation/protected.txt", encoding: .utf8)) ?? "mil\ngov\ngov.uk\n")
    .split(separator: "\n").map(String.init).filter { !$0.isEmpty && !$0.hasPrefix("#") }
let classifier = Classifier(protectedDomains: protected, trustedDomains: [], suffixes: suffixes)
let policy = Policy()

var random = Random(state: 0x5EED_0F_C0FFEE)
var correspondents = Set<String>()
while correspondents.count < 20_000 { correspondents.insert(domain(&random)) }
let known = correspondents.sorted()
let established = Array(known.prefix(5_000))
let today = HistoryService.today()
var seed: [Observation] = []
for (index, name) in known.enumerated() {
    // The first 5,000 on four days (established), the others on one.
    for day in 0..<(index < 5_000 ? 4 : 1) {
        seed.append(Observation(senderDomain: "example.org", recipientDomain: name, day: today - 10 + day, messages: 1 + index % 3))
    }
}

/// 60% known correspondents, 25% new domains, 10% typos of established ones, 5% look-alikes
/// of protected domains.
var recipients: [(ParsedPath, String)] = []
for _ in 0..<recipientCount {
    let address: String
    switch random.below(100) {
    case 0..<60: address = "someone@\(known[random.below(known.count)])"
    case 60..<85: address = "someone@\(domain(&random))"
    case 85..<95: address = "someone@\(typo(of: established[random.below(established.count)], &random))"
    default:
        let target = protected[random.below(protected.count)]
        address = "someone@" + (target.contains(".") ? typo(of: target, &random) : "army.\(target.dropLast())")
    }
    recipients.append((EmailAddress.parsePath(Array(address.utf8)), address))
}

/// One store with its service and the snapshot the service keeps up to date.
final class Variant: Sendable {
    let name: String
    let service: HistoryService
    let snapshot = LockedValue<HistorySnapshot?>(nil)
    let rebuilds = Atomic<Int>(0)
    let writes = Atomic<Int>(0)

    init(name: String, store: any CorrespondentStore) {
        self.name = name
        var settings = HistoryService.Settings()
        settings.refreshInterval = .seconds(1)
        settings.flushInterval = .milliseconds(100)
        settings.timeout = .seconds(5)
        let box = LockedValue<Variant?>(nil)
        service = HistoryService(store: store, settings: settings, onFacts: { facts in
            guard let variant = box.withLock({ $0 }) else { return }
            let built = HistorySnapshot(facts: facts, like: classifier)
            variant.snapshot.withLock { $0 = built }
            variant.rebuilds.add(1, ordering: .relaxed)
        }, onEvent: { event in
            if case .written(let count) = event { box.withLock { $0 }?.writes.add(count, ordering: .relaxed) }
            if case .failed(let operation, let error, _) = event {
                FileHandle.standardError.write(Data("\(name): \(operation.rawValue) failed: \(error)\n".utf8))
            }
        })
        box.withLock { $0 = self }
    }
}

func blocking<T: Sendable>(_ work: @escaping @Sendable () async throws -> T) throws -> T {
    let result = LockedValue<Result<T, any Error>?>(nil)
    let done = DispatchSemaphore(value: 0)
    Task {
        let outcome: Result<T, any Error>
        do { outcome = .success(try await work()) } catch { outcome = .failure(error) }
        result.withLock { $0 = outcome }
        done.signal()
    }
    done.wait()
    return try result.withLock { $0! }.get()
}

let directory = FileManager.default.temporaryDirectory.path + "/misdirect-history-bench-\(getpid())"
defer { try? FileManager.default.removeItem(atPath: directory) }
var stores: [(String, any CorrespondentStore)] = [("sqlite", SQLiteCorrespondentStore(path: directory + "/history.sqlite"))]
let server = privatePostgres ? try PrivatePostgres() : nil
defer { server?.destroy() }
if let server {
    try server.createDatabase("bench")
    postgresAddress = "127.0.0.1:\(server.port)"
}
if let postgresAddress {
    let parts = postgresAddress.split(separator: ":")
    var settings = PostgresCorrespondentStore.Settings()
    settings.host = String(parts[0])
    settings.port = parts.count > 1 ? Int(parts[1]) ?? 5432 : 5432
    settings.user = ProcessInfo.processInfo.environment["PGUSER"] ?? "postgres"
    settings.database = ProcessInfo.processInfo.environment["PGDATABASE"] ?? "bench"
    settings.tls = .disable
    var quiet = Logger(label: "bench")
    quiet.logLevel = .error
    stores.append(("postgresql", PostgresCorrespondentStore(settings: settings, logger: quiet)))
}

var variants: [Variant] = []
for (name, store) in stores {
    let batch = seed
    try blocking {
        try await store.prepare()
        var start = 0
        while start < batch.count {
            try await store.record(Array(batch[start..<min(start + 5_000, batch.count)]))
            start += 5_000
        }
    }
    let variant = Variant(name: name, store: store)
    variant.service.start()
    while variant.snapshot.withLock({ $0 }) == nil { usleep(10_000) }
    variants.append(variant)
}
let first = variants[0].snapshot.withLock { $0! }
print("history: \(first.facts.count) correspondents, \(first.establishedDomains.count) established; \(protected.count) protected domains; \(recipientCount) recipients per variant")

// MARK: Measurement

let clock = ContinuousClock()
var samples = [[Int64]](repeating: [], count: variants.count + 1)
for index in samples.indices { samples[index].reserveCapacity(recipientCount) }
var flagged = [Int](repeating: 0, count: variants.count + 1)
func nanoseconds(_ duration: Duration) -> Int64 {
    duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000
}
for (number, (path, input)) in recipients.enumerated() {
    for step in 0...variants.count {
        // Rotate which variant goes first, so none always runs on a warm cache.
        let which = (step + number) % (variants.count + 1)
        let start = clock.now
        let decision: Decision
        if which == 0 {
            decision = policy.decide(classifier.classify(path: path, input: input))
        } else {
            let variant = variants[which - 1]
            let verdict = classifier.classify(path: path, input: input)
            decision = policy.decide(variant.snapshot.withLock { $0 }?.assess(verdict) ?? verdict)
            if !decision.effectiveAction.refuses, let address = verdict.address {
                variant.service.record([Observation(senderDomain: "example.org", recipientDomain: HistorySnapshot.domainKey(address.domain), day: today)])
            }
        }
        samples[which].append(nanoseconds(clock.now - start))
        if decision.verdict.level >= .medium { flagged[which] += 1 }
    }
}

func percentile(_ sorted: [Int64], _ fraction: Double) -> Double {
    Double(sorted[min(sorted.count - 1, Int(Double(sorted.count) * fraction))]) / 1000
}

let names = ["without history"] + variants.map { "with \($0.name)" }
let baseline = samples[0].sorted()
print("")
print("| decision | p50 µs | p99 µs | p99.9 µs | max µs | p50 ratio | p99 ratio | flagged ≥ medium |")
print("|---|---:|---:|---:|---:|---:|---:|---:|")
for (index, name) in names.enumerated() {
    let sorted = samples[index].sorted()
    let row = [
        name, String(format: "%.1f", percentile(sorted, 0.5)), String(format: "%.1f", percentile(sorted, 0.99)),
        String(format: "%.1f", percentile(sorted, 0.999)), String(format: "%.0f", Double(sorted.last!) / 1000),
        String(format: "%.2f×", percentile(sorted, 0.5) / percentile(baseline, 0.5)),
        String(format: "%.2f×", percentile(sorted, 0.99) / percentile(baseline, 0.99)),
        "\(flagged[index])",
    ]
    print("| " + row.joined(separator: " | ") + " |")
}
print("")
for variant in variants {
    let left = try blocking { await variant.service.stop(flushTimeout: .seconds(30)) }
    print("\(variant.name): \(variant.rebuilds.load(ordering: .relaxed)) snapshots rebuilt and \(variant.writes.load(ordering: .relaxed)) deliveries written during the run, \(left) left unwritten")
}
