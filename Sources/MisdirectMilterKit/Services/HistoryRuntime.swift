import CorrespondentHistory
import Foundation
import Locking
import Logging
import MisdirectionRisk
import ServiceLifecycle

/// `serve`'s correspondent history: the snapshot sessions read at RCPT and the queue they add
/// delivered mail to. The store is only touched by ``HistoryService``'s background loops;
/// nothing here waits for it.
final package class HistoryRuntime: Service, Sendable {
    package let configuration: HistoryConfiguration
    package let service: HistoryService
    private let engines: EngineStore
    private let hasher: AddressHasher?
    private let current = LockedValue<HistorySnapshot?>(nil)
    private let logger: Logger

    /// - Parameter engines: the snapshot is built with the current engine's classifier and
    ///   thresholds; ``rebuild()`` after a reload.
    package init(configuration: HistoryConfiguration, engines: EngineStore, logger: Logger) throws {
        self.configuration = configuration
        self.engines = engines
        self.logger = logger
        hasher = configuration.addresses ? try AddressHasher.loadOrCreateKey(at: configuration.addressKeyPath) : nil
        // postgres-nio logs each failed connection attempt at info: keep only its warnings.
        let store = configuration.openStore(logger: Logger(label: "misdirect-milter") { _ in MinimumLevelHandler(.warning, forwardingTo: logger) })
        // The snapshot is built on the refresh loop, off the SMTP path; `build` reads `self`
        // only through this box, filled once init is done.
        let box = LockedValue<HistoryRuntime?>(nil)
        service = HistoryService(
            store: store, settings: configuration.service,
            onFacts: { facts in box.withLock { $0 }?.build(facts) },
            onEvent: { event in HistoryRuntime.report(event, logger: logger) })
        box.withLock { $0 = self }
    }

    /// The history sessions decide with: nil until the store was first read.
    package var snapshot: HistorySnapshot? { current.withLock { $0 } }

    /// Reads and writes the store in the background until a graceful shutdown, then writes
    /// what is queued (at most 10 seconds) and closes it.
    package func run() async {
        service.start()
        try? await gracefulShutdown()
        await stop()
    }

    /// Rebuilds the snapshot for the current engine (after a reload) from the last facts read.
    package func rebuild() {
        if let facts = service.lastFacts { build(facts) }
    }

    private func build(_ facts: [String: CorrespondentFacts]) {
        let engine = engines.current
        let history = engine.configuration.history ?? configuration
        let snapshot = HistorySnapshot(facts: facts, threshold: history.threshold, typoRatio: history.typoRatio, like: engine.classifier)
        current.withLock { $0 = snapshot }
        MilterMetrics.recordHistorySnapshot(known: facts.count, established: snapshot.establishedDomains.count)
        logger.debug("history snapshot rebuilt", metadata: [
            "history.known": "\(facts.count)", "history.established": "\(snapshot.establishedDomains.count)",
        ])
    }

    /// Queues the recipients a delivered message went to, one observation per recipient domain.
    /// - Parameter authenticated: whether the sender authenticated (`{auth_authen}`).
    package func recordDelivery(sender: EmailAddress?, recipients: [EmailAddress], authenticated: Bool) {
        let scope = engines.current.configuration.history?.scope ?? configuration.scope
        guard let sender, !sender.isAddressLiteral, scope == .all || authenticated else { return }
        let senderDomain = HistorySnapshot.domainKey(sender.domain)
        let day = HistoryService.today()
        var byDomain: [String: [String]] = [:]
        var order: [String] = []
        for recipient in recipients where !recipient.isAddressLiteral {
            let domain = HistorySnapshot.domainKey(recipient.domain)
            if byDomain[domain] == nil { order.append(domain) }
            byDomain[domain, default: []].append(contentsOf: hasher.map { [$0.hash(localPart: recipient.localPart, domain: domain)] } ?? [])
        }
        service.record(order.map { domain in
            Observation(senderDomain: senderDomain, recipientDomain: domain, day: day, addressHashes: Array(Set(byDomain[domain] ?? [])))
        })
    }

    /// Stops the loops and writes what is queued.
    private func stop() async {
        let left = await service.stop(flushTimeout: .seconds(10))
        if left > 0 {
            logger.error("history: could not write every delivery before stopping", metadata: ["history.lost": "\(left)"])
        } else {
            logger.info("history: queue written")
        }
        let unanswered = UnansweredCalls.shared.count
        if unanswered > 0 {
            logger.warning("history: store calls given up on were never answered", metadata: ["history.unanswered": "\(unanswered)"])
        }
    }

    private static func report(_ event: HistoryService.Event, logger: Logger) {
        switch event {
        case .failed(let operation, let error, let first):
            MilterMetrics.recordHistoryFailure(operation.rawValue)
            let metadata: Logger.Metadata = ["history.operation": "\(operation.rawValue)", "error": "\(error)"]
            if first {
                logger.error("history store unavailable; deciding with the history already read", metadata: metadata)
            } else {
                logger.debug("history store still unavailable", metadata: metadata)
            }
        case .recovered(let operation):
            logger.notice("history store available again", metadata: ["history.operation": "\(operation.rawValue)"])
        case .refreshed(let domains, let changed):
            MilterMetrics.recordHistoryRefresh()
            logger.trace("history read", metadata: ["history.known": "\(domains)", "history.changed": "\(changed)"])
        case .written(let count):
            MilterMetrics.recordHistoryWritten(count)
        case .writtenDecisions(let count):
            MilterMetrics.recordDecisionsWritten(count)
        case .droppedDecisions(let count):
            MilterMetrics.recordDecisionsDropped(count)
            logger.warning("history: decision queue full, oldest decisions dropped", metadata: ["history.dropped": "\(count)"])
        case .pruned(let rows):
            logger.info("history: old days pruned", metadata: ["history.rows": "\(rows)"])
        case .dropped(let count):
            MilterMetrics.recordHistoryDropped(count)
            logger.warning("history: queue full, oldest deliveries dropped", metadata: ["history.dropped": "\(count)"])
        }
    }
}

/// Passes on what a library logs at `minimum` or above to another logger, dropping the rest
/// whatever the process's log level.
package struct MinimumLevelHandler: LogHandler {
    package let minimum: Logger.Level
    package let target: Logger
    package var metadata: Logger.Metadata = [:]

    package init(_ minimum: Logger.Level, forwardingTo target: Logger) {
        self.minimum = minimum
        self.target = target
    }

    package var logLevel: Logger.Level {
        get { max(minimum, target.logLevel) }
        set {}
    }

    package subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    package func log(event: LogEvent) {
        guard event.level >= minimum else { return }
        target.log(level: event.level, event.message, metadata: metadata.merging(event.metadata ?? [:]) { $1 }, source: event.source, file: event.file, function: event.function, line: event.line)
    }
}
