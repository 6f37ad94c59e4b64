import CorrespondentHistory
import Foundation
import MisdirectionRisk
import Synchronization
import Testing

/// A store in front of a real one that can be made to fail or to hang, as a database server
/// that is down or frozen.
final class FlakyStore: CorrespondentStore {
    enum Mode {
        case working, failing, hanging
        /// A write reaches the store and is committed, then the answer never comes: as a
        /// server that stalls after its commit, or a network that drops the reply.
        case committingThenHanging
    }

    let inner: any CorrespondentStore
    let mode = Mutex(Mode.working)
    /// The calls hanging now, for ``release()``.
    private let hung = Mutex<[UnsafeContinuation<Void, any Error>]>([])

    init(_ inner: any CorrespondentStore) { self.inner = inner }

    private func gate() async throws {
        switch mode.withLock({ $0 }) {
        case .working, .committingThenHanging: return
        case .failing: throw StoreError("connection refused")
        case .hanging:
            // Never answers, and ignores cancellation, like a stopped server, until released.
            try await withUnsafeThrowingContinuation { continuation in hung.withLock { $0.append(continuation) } }
        }
    }

    /// Ends the hang: the calls waiting fail, as when the server's connection is finally reset,
    /// so that no task given up on outlives the test (LeakSanitizer would report it at exit).
    func release() {
        mode.withLock { $0 = .failing }
        for continuation in hung.withLock({ calls in defer { calls.removeAll() }; return calls }) {
            continuation.resume(throwing: StoreError("connection reset"))
        }
    }

    func prepare() async throws { try await gate(); try await inner.prepare() }
    func record(_ observations: [Observation], writeID: String?) async throws {
        try await gate()
        try await inner.record(observations, writeID: writeID)
        guard mode.withLock({ $0 }) == .committingThenHanging else { return }
        try await withUnsafeThrowingContinuation { continuation in hung.withLock { $0.append(continuation) } }
    }
    func facts(sinceDay: Int) async throws -> [String: CorrespondentFacts] { try await gate(); return try await inner.facts(sinceDay: sinceDay) }
    func report(for domain: String, sinceDay: Int) async throws -> CorrespondentReport { try await gate(); return try await inner.report(for: domain, sinceDay: sinceDay) }
    func forget(_ domain: String) async throws -> Int { try await gate(); return try await inner.forget(domain) }
    func prune(before day: Int) async throws -> Int { try await gate(); return try await inner.prune(before: day) }
    func recordDecisions(_ decisions: [RecordedDecision], writeID: String?) async throws {
        try await gate()
        try await inner.recordDecisions(decisions, writeID: writeID)
    }
    func decisions(_ query: DecisionQuery) async throws -> [RecordedDecision] { try await gate(); return try await inner.decisions(query) }
    func decisionSummary(sinceDay: Int) async throws -> DecisionSummary { try await gate(); return try await inner.decisionSummary(sinceDay: sinceDay) }
    func close() async { await inner.close() }
}

/// What a service reported, for the tests to read.
final class Recorder: Sendable {
    let facts = Mutex<[[String: CorrespondentFacts]]>([])
    let events = Mutex<[String]>([])

    func onFacts(_ facts: [String: CorrespondentFacts]) { self.facts.withLock { $0.append(facts) } }

    func onEvent(_ event: HistoryService.Event) {
        let text: String = switch event {
        case .failed(let operation, _, let first): "failed \(operation.rawValue)\(first ? " first" : "")"
        case .recovered(let operation): "recovered \(operation.rawValue)"
        case .written(let count): "written \(count)"
        case .refreshed(let domains, let changed): "refreshed \(domains) \(changed)"
        case .pruned(let rows): "pruned \(rows)"
        case .dropped(let count): "dropped \(count)"
        case .writtenDecisions(let count): "written decisions \(count)"
        case .droppedDecisions(let count): "dropped decisions \(count)"
        }
        events.withLock { $0.append(text) }
    }
}

@Suite(.timeLimit(.minutes(3)))
struct HistoryServiceTests {
    /// A service that only the test's own steps drive. Its store calls are given up after
    /// `timeout`, by default an hour, beyond the suite's time limit, so that only the tests of a
    /// store that never answers (which set a short one) see a call given up. The deadline counts
    /// wall-clock time, and on a loaded machine every thread of the test process can be blocked
    /// for longer than 30 s (the PostgreSQL harness runs initdb, pg_ctl and psql synchronously):
    /// a working store's answer then came too late. Its loops, if started, wait a day between
    /// rounds (the first refresh is at once).
    func service(_ store: any CorrespondentStore, recorder: Recorder, maximumPending: Int = 100, timeout: Duration = .seconds(3600)) -> HistoryService {
        var settings = HistoryService.Settings()
        settings.timeout = timeout
        settings.refreshInterval = .seconds(86_400)
        settings.flushInterval = .seconds(86_400)
        settings.maximumPending = maximumPending
        settings.batchSize = 3
        return HistoryService(store: store, settings: settings, onFacts: recorder.onFacts, onEvent: recorder.onEvent)
    }

    func delivery(_ domain: String) -> Observation {
        Observation(senderDomain: "example.org", recipientDomain: domain, day: HistoryService.today())
    }

    @Test("queued deliveries are written in batches and the next refresh hands the new facts over")
    func writesAndRefreshes() async throws {
        let fixture = try StoreFixture(.sqlite)
        let recorder = Recorder()
        let service = service(try fixture.open(), recorder: recorder)
        await service.refreshNow()
        #expect(recorder.facts.withLock { $0 } == [[:]], "the first read is handed over even when empty")
        service.record((0..<7).map { _ in delivery("partner.com") })
        #expect(service.pendingCount == 7)
        #expect(await service.flushNow())
        #expect(service.pendingCount == 0)
        #expect(recorder.events.withLock { $0 }.filter { $0.hasPrefix("written") } == ["written 3", "written 3", "written 1"])
        await service.refreshNow()
        await service.refreshNow()
        #expect(recorder.facts.withLock { $0 }.last?["partner.com"]?.messages == 7)
        #expect(recorder.facts.withLock { $0 }.count == 2, "unchanged facts are not handed over again")
        #expect(await service.stop(flushTimeout: .seconds(1)) == 0)
    }

    @Test("a failing store keeps the queue, is reported once, and the deliveries are written when it is back")
    func outage() async throws {
        let fixture = try StoreFixture(.sqlite)
        let recorder = Recorder()
        let store = FlakyStore(try fixture.open())
        let service = service(store, recorder: recorder)
        await service.refreshNow()
        store.mode.withLock { $0 = .failing }
        service.record([delivery("a.com"), delivery("b.com")])
        #expect(await service.flushNow() == false)
        #expect(await service.flushNow() == false)
        await service.refreshNow()
        #expect(service.pendingCount == 2)
        #expect(recorder.events.withLock { $0 }.filter { $0.hasPrefix("failed") } == ["failed write first", "failed write", "failed refresh first"])
        store.mode.withLock { $0 = .working }
        #expect(await service.flushNow())
        await service.refreshNow()
        #expect(recorder.events.withLock { $0 }.contains("recovered write"))
        #expect(recorder.facts.withLock { $0 }.last?.keys.sorted() == ["a.com", "b.com"])
        _ = await service.stop(flushTimeout: .seconds(1))
    }

    @Test("a write the store committed before it stopped answering is retried under its id and counted once", arguments: Backend.allCases)
    func retryCountsOnce(backend: Backend) async throws {
        let fixture = try StoreFixture(backend)
        let recorder = Recorder()
        let store = FlakyStore(try fixture.open())
        let service = service(store, recorder: recorder, timeout: .seconds(5))
        store.mode.withLock { $0 = .committingThenHanging }
        service.record([delivery("partner.example"), delivery("partner.example")])
        #expect(await service.flushNow() == false, "the answer never came")
        #expect(service.pendingCount == 2)
        store.release()
        store.mode.withLock { $0 = .working }
        // Tried again until it goes through (on a loaded machine a try can time out too, after
        // its commit or before it: either way the id keeps the count right).
        var written = false
        for _ in 0..<10 where !written { written = await service.flushNow() }
        #expect(written)
        // A refresh can time out as well under a sanitizer: read until the facts arrive.
        for _ in 0..<10 where recorder.facts.withLock({ $0 }).last?["partner.example"] == nil { await service.refreshNow() }
        #expect(recorder.facts.withLock { $0 }.last?["partner.example"]?.messages == 2, "\(recorder.facts.withLock { $0 }.last ?? [:])")
        _ = await service.stop(flushTimeout: .seconds(1))
    }

    @Test("a store that never answers is given up at the timeout; the facts already read stay")
    func hang() async throws {
        let fixture = try StoreFixture(.sqlite)
        let recorder = Recorder()
        let store = FlakyStore(try fixture.open())
        let service = service(store, recorder: recorder, timeout: .seconds(10))
        service.record([delivery("a.com")])
        // While the store works, a loaded machine can still hold a call past the short timeout:
        // written and read until it goes through, so the hang below starts from facts read.
        var written = false
        for _ in 0..<10 where !written { written = await service.flushNow() }
        #expect(written)
        for _ in 0..<10 where recorder.facts.withLock({ $0 }).last?["a.com"] == nil { await service.refreshNow() }
        try #require(recorder.facts.withLock { $0 }.last?.keys.sorted() == ["a.com"])
        store.mode.withLock { $0 = .hanging }
        service.record([delivery("b.com")])
        await service.refreshNow()
        #expect(await service.flushNow() == false)
        #expect(service.pendingCount == 1)
        #expect(recorder.facts.withLock { $0 }.last?.keys.sorted() == ["a.com"])
        #expect(recorder.events.withLock { $0 }.contains("failed refresh first"))
        // Stopping still returns, reporting what could not be written.
        #expect(await service.stop(flushTimeout: .seconds(1)) == 1)
        store.release()
    }

    @Test("queued decisions are written beside the deliveries, and an outage keeps them for later")
    func decisions() async throws {
        let fixture = try StoreFixture(.sqlite)
        let recorder = Recorder()
        let store = FlakyStore(try fixture.open())
        let service = service(store, recorder: recorder)
        service.record([delivery("partner.com")])
        service.record(decisions: DecisionStoreTests.sample)
        #expect(service.pendingCount == 5)
        store.mode.withLock { $0 = .failing }
        #expect(await service.flushNow() == false)
        #expect(service.pendingCount == 5)
        store.mode.withLock { $0 = .working }
        #expect(await service.flushNow())
        #expect(service.pendingCount == 0)
        #expect(recorder.events.withLock { $0 }.filter { $0.hasPrefix("written") } == ["written 1", "written decisions 3", "written decisions 1"])
        let reader = try fixture.open()
        #expect(try await reader.decisions(DecisionQuery()).count == 4)
        #expect(try await reader.facts(sinceDay: 0)["partner.com"]?.messages == 1)
        await reader.close()
        #expect(await service.stop(flushTimeout: .seconds(1)) == 0)
    }

    @Test("a clean stop writes what is queued")
    func stopFlushes() async throws {
        let fixture = try StoreFixture(.sqlite)
        let recorder = Recorder()
        let service = service(try fixture.open(), recorder: recorder)
        service.start()
        service.record((0..<5).map { _ in delivery("partner.com") })
        #expect(await service.stop(flushTimeout: .seconds(5)) == 0)
        let reader = try fixture.open()
        #expect(try await reader.facts(sinceDay: 0)["partner.com"]?.messages == 5)
        await reader.close()
    }

    @Test("during a long outage the queue keeps the newest deliveries up to its bound")
    func bounded() async throws {
        let fixture = try StoreFixture(.sqlite)
        let recorder = Recorder()
        let store = FlakyStore(try fixture.open())
        store.mode.withLock { $0 = .failing }
        let service = service(store, recorder: recorder, maximumPending: 4)
        service.record((0..<6).map { delivery("d\($0).com") })
        #expect(service.pendingCount == 4)
        #expect(recorder.events.withLock { $0 }.contains("dropped 2"))
        store.mode.withLock { $0 = .working }
        #expect(await service.flushNow())
        let reader = try fixture.open()
        #expect(try await reader.facts(sinceDay: 0).keys.sorted() == ["d2.com", "d3.com", "d4.com", "d5.com"])
        await reader.close()
        _ = await service.stop(flushTimeout: .seconds(1))
    }
}
