import Foundation
import Locking
import MisdirectionRisk

/// Keeps the SMTP path away from the correspondent store. Sessions only read the latest facts
/// (through the snapshot the owner builds from ``Settings`` and `onFacts`) and append what was
/// delivered to an in-memory queue; two background loops refresh the facts and flush the queue
/// in batches, each store call bounded by ``Settings/timeout``. When the store is down, the
/// facts simply stop changing (or stay empty from the start), the queue keeps what it can (up to
/// ``Settings/maximumPending``), and `onEvent` reports the failure once and the recovery.
/// ``stop(flushTimeout:)`` flushes what is left before the process exits.
public final class HistoryService: Sendable {
    public struct Settings: Sendable, Equatable {
        /// How often the facts are read from the store.
        public var refreshInterval = Duration.seconds(60)
        /// How often the queue of delivered mail is written.
        public var flushInterval = Duration.seconds(5)
        /// The longest any one store call may take before it is given up.
        public var timeout = Duration.seconds(2)
        /// Days of history kept; older days are pruned in the background.
        public var retentionDays = 400
        /// Observations kept in memory while the store cannot be written; the oldest go first.
        public var maximumPending = 100_000
        /// Observations per write.
        public var batchSize = 2_000
        /// How often old days are pruned.
        public var pruneInterval = Duration.seconds(6 * 3600)

        public init() {}
    }

    /// The background operations, as named in events, logs and metrics.
    public enum Operation: String, Sendable {
        case open, refresh, write, prune
    }

    /// What happened in the background, for the owner's logs and metrics.
    public enum Event: Sendable {
        /// Facts were read; `changed` when they differ from the previous read.
        case refreshed(domains: Int, changed: Bool)
        case written(observations: Int)
        case writtenDecisions(Int)
        case pruned(rows: Int)
        /// An operation failed (the first failure after a success, and every later one).
        case failed(Operation, error: String, first: Bool)
        /// An operation succeeded after failing.
        case recovered(Operation)
        /// Observations dropped because the queue was full.
        case dropped(Int)
        /// Decisions dropped because their queue was full.
        case droppedDecisions(Int)
    }

    /// What waits to be written, of one kind.
    struct WriteQueue<Item: Sendable> {
        var pending: [Item] = []
        /// A batch whose write failed, with the id it was written under: tried again first,
        /// under the same id, so that a write the store committed before timing out counts once.
        var retry: (id: String, batch: [Item])?

        var count: Int { pending.count + (retry?.batch.count ?? 0) }

        /// Appends, dropping the oldest beyond `maximum`. - Returns: how many were dropped.
        mutating func append(_ items: [Item], maximum: Int) -> Int {
            pending.append(contentsOf: items)
            let excess = pending.count - maximum
            guard excess > 0 else { return 0 }
            pending.removeFirst(excess)
            return excess
        }

        /// The retried batch, else the next `size` items under a new id.
        mutating func next(_ size: Int) -> (id: String, batch: [Item]) {
            if let retry {
                self.retry = nil
                return retry
            }
            let batch = Array(pending.prefix(size))
            pending.removeFirst(batch.count)
            return (UUID().uuidString, batch)
        }

        /// Keeps a failed batch to try first next time, within `maximum` in all.
        mutating func putBack(_ id: String, _ batch: [Item], maximum: Int) {
            retry = (id, batch)
            let excess = pending.count + batch.count - maximum
            if excess > 0 { pending.removeFirst(min(excess, pending.count)) }
        }
    }

    private struct State {
        var deliveries = WriteQueue<Observation>()
        var decisions = WriteQueue<RecordedDecision>()
        var prepared = false
        var failing: Set<Operation> = []
        var lastFacts: [String: CorrespondentFacts]?
        var lastRefresh: ContinuousClock.Instant?
        var loops: [Task<Void, Never>] = []
        var stopped = false
        var busy: Set<Operation> = []
    }

    public let store: any CorrespondentStore
    public let settings: Settings
    private let state = LockedValue(State())
    private let onFacts: @Sendable ([String: CorrespondentFacts]) -> Void
    private let onEvent: @Sendable (Event) -> Void

    /// - Parameters:
    ///   - onFacts: called from the background with the facts each time they change (and
    ///     after the first successful read).
    ///   - onEvent: called from the background with what happened.
    public init(
        store: any CorrespondentStore, settings: Settings,
        onFacts: @escaping @Sendable ([String: CorrespondentFacts]) -> Void,
        onEvent: @escaping @Sendable (Event) -> Void = { _ in }
    ) {
        self.store = store
        self.settings = settings
        self.onFacts = onFacts
        self.onEvent = onEvent
    }

    /// Starts the background loops: the first refresh at once.
    public func start() {
        let refresh = Task { [self] in
            var lastPrune: ContinuousClock.Instant?
            while !Task.isCancelled {
                await refreshNow()
                if lastPrune.map({ ContinuousClock.now - $0 >= settings.pruneInterval }) ?? true, await pruneNow() {
                    lastPrune = .now
                }
                try? await Task.sleep(for: settings.refreshInterval)
            }
        }
        let flush = Task { [self] in
            while !Task.isCancelled {
                try? await Task.sleep(for: settings.flushInterval)
                await flushNow()
            }
        }
        state.withLock { $0.loops = [refresh, flush] }
    }

    /// Queues delivered mail for the next flush. Cheap: called on the SMTP path.
    public func record(_ observations: [Observation]) {
        guard !observations.isEmpty else { return }
        let dropped = state.withLock { $0.deliveries.append(observations, maximum: settings.maximumPending) }
        if dropped > 0 { onEvent(.dropped(dropped)) }
    }

    /// Queues decisions for the next flush, as ``record(_:)`` queues deliveries (with a bound
    /// of its own, so a burst of flagged mail never pushes deliveries out).
    public func record(decisions: [RecordedDecision]) {
        guard !decisions.isEmpty else { return }
        let dropped = state.withLock { $0.decisions.append(decisions, maximum: settings.maximumPending) }
        if dropped > 0 { onEvent(.droppedDecisions(dropped)) }
    }

    /// Observations and decisions waiting to be written.
    public var pendingCount: Int { state.withLock { $0.deliveries.count + $0.decisions.count } }

    /// When the facts were last read successfully, if ever.
    public var lastRefresh: ContinuousClock.Instant? { state.withLock { $0.lastRefresh } }

    /// The facts of the last successful read, if any.
    public var lastFacts: [String: CorrespondentFacts]? { state.withLock { $0.lastFacts } }

    /// Today, as the store counts days (UTC).
    public static func today() -> Int {
        CorrespondentFacts.day(ofUnixTime: Int(Date().timeIntervalSince1970))
    }

    /// Reads the facts now; a failure leaves the previous ones in place.
    public func refreshNow() async {
        guard begin(.refresh) else { return }
        defer { end(.refresh) }
        guard await prepareIfNeeded() else { return }
        let since = Self.today() - settings.retentionDays + 1
        do {
            let facts = try await withDeadline(settings.timeout) { [store] in try await store.facts(sinceDay: since) }
            succeeded(.refresh)
            let changed = state.withLock { state -> Bool in
                state.lastRefresh = .now
                defer { state.lastFacts = facts }
                return state.lastFacts != facts
            }
            onEvent(.refreshed(domains: facts.count, changed: changed))
            if changed { onFacts(facts) }
        } catch {
            failed(.refresh, error)
        }
    }

    /// Writes the queue now, in batches; what cannot be written goes back to the front.
    /// - Returns: true when the queue was emptied.
    @discardableResult
    public func flushNow() async -> Bool {
        guard begin(.write) else { return false }
        defer { end(.write) }
        guard pendingCount > 0, await prepareIfNeeded() else { return pendingCount == 0 }
        guard await flush(\.deliveries, written: { .written(observations: $0) }, { [store] batch, id in try await store.record(batch, writeID: id) })
        else { return false }
        return await flush(\.decisions, written: { .writtenDecisions($0) }, { [store] batch, id in try await store.recordDecisions(batch, writeID: id) })
    }

    /// Writes one queue in batches.
    private func flush<Item: Sendable>(
        _ queue: WritableKeyPath<State, WriteQueue<Item>> & Sendable,
        written: (Int) -> Event,
        _ write: @escaping @Sendable ([Item], String) async throws -> Void
    ) async -> Bool {
        while true {
            let (id, batch) = state.withLock { $0[keyPath: queue].next(settings.batchSize) }
            guard !batch.isEmpty else { return true }
            do {
                try await withDeadline(settings.timeout) { try await write(batch, id) }
                succeeded(.write)
                onEvent(written(batch.count))
            } catch {
                // Kept with its id and tried first next time: if the store did commit it before
                // going quiet, the store knows the id and adds nothing.
                state.withLock { $0[keyPath: queue].putBack(id, batch, maximum: settings.maximumPending) }
                failed(.write, error)
                return false
            }
        }
    }

    /// Deletes days older than the retention.
    /// - Returns: true when it succeeded.
    public func pruneNow() async -> Bool {
        guard begin(.prune) else { return false }
        defer { end(.prune) }
        guard await prepareIfNeeded() else { return false }
        let before = Self.today() - settings.retentionDays + 1
        do {
            let rows = try await withDeadline(settings.timeout) { [store] in try await store.prune(before: before) }
            succeeded(.prune)
            if rows > 0 { onEvent(.pruned(rows: rows)) }
            return true
        } catch {
            failed(.prune, error)
            return false
        }
    }

    /// Stops the loops, writes what is queued (waiting at most `flushTimeout` in all), and
    /// closes the store.
    /// - Returns: the observations that could not be written.
    public func stop(flushTimeout: Duration) async -> Int {
        let loops = state.withLock { state -> [Task<Void, Never>] in
            state.stopped = true
            return state.loops
        }
        for loop in loops { loop.cancel() }
        let deadline = ContinuousClock.now + flushTimeout
        while pendingCount > 0, ContinuousClock.now < deadline {
            if await flushNow() { break }
            try? await Task.sleep(for: .milliseconds(200))
        }
        await store.close()
        return pendingCount
    }

    // MARK: Bookkeeping

    private func prepareIfNeeded() async -> Bool {
        guard !state.withLock({ $0.prepared }) else { return true }
        do {
            try await withDeadline(settings.timeout) { [store] in try await store.prepare() }
            state.withLock { $0.prepared = true }
            succeeded(.open)
            return true
        } catch {
            failed(.open, error)
            return false
        }
    }

    /// One call of each operation at a time: a call abandoned on its deadline may still be
    /// running, and another would pile up behind it.
    private func begin(_ operation: Operation) -> Bool {
        state.withLock { $0.busy.insert(operation).inserted }
    }

    private func end(_ operation: Operation) {
        _ = state.withLock { $0.busy.remove(operation) }
    }

    private func succeeded(_ operation: Operation) {
        let wasFailing = state.withLock { $0.failing.remove(operation) != nil }
        if wasFailing { onEvent(.recovered(operation)) }
    }

    private func failed(_ operation: Operation, _ error: any Error) {
        let first = state.withLock { $0.failing.insert(operation).inserted }
        onEvent(.failed(operation, error: "\(error)", first: first))
    }
}
