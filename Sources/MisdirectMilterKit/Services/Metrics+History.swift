import CoreMetrics

/// The correspondent history's metrics (with `history` configured):
///
/// | name | labels | |
/// |---|---|---|
/// | `misdirect_history_store_errors_total` | `operation` | failed store calls: `open`, `refresh`, `write`, `prune` (each timed out or refused) |
/// | `misdirect_history_refreshes_total` | | successful reads of the facts |
/// | `misdirect_history_written_total` | | delivered (sender domain, recipient domain) pairs written |
/// | `misdirect_history_dropped_total` | | pairs dropped because the queue was full during an outage |
/// | `misdirect_history_pending` | | pairs and decisions waiting to be written |
/// | `misdirect_decisions_written_total` | | decisions written (`history.decisions`) |
/// | `misdirect_decisions_dropped_total` | | decisions dropped because their queue was full during an outage |
/// | `misdirect_history_snapshot_age_seconds` | | since the facts were last read (grows while the store is down) |
/// | `misdirect_history_correspondents` | `state` | recipient domains in the snapshot: `known`, `established` |
package extension MilterMetrics {
    static func recordHistoryFailure(_ operation: String) {
        Counter(label: "misdirect_history_store_errors_total", dimensions: [("operation", operation)]).increment()
    }

    static func recordHistoryRefresh() {
        Counter(label: "misdirect_history_refreshes_total").increment()
    }

    static func recordHistoryWritten(_ count: Int) {
        Counter(label: "misdirect_history_written_total").increment(by: count)
    }

    static func recordDecisionsWritten(_ count: Int) {
        Counter(label: "misdirect_decisions_written_total").increment(by: count)
    }

    static func recordDecisionsDropped(_ count: Int) {
        Counter(label: "misdirect_decisions_dropped_total").increment(by: count)
    }

    static func recordHistoryDropped(_ count: Int) {
        Counter(label: "misdirect_history_dropped_total").increment(by: count)
    }

    static func recordHistorySnapshot(known: Int, established: Int) {
        Gauge(label: "misdirect_history_correspondents", dimensions: [("state", "known")]).record(known)
        Gauge(label: "misdirect_history_correspondents", dimensions: [("state", "established")]).record(established)
    }

    /// The gauges read at scrape time, and the families that start at zero.
    static func publishHistory(_ history: HistoryRuntime) {
        Gauge(label: "misdirect_history_pending").record(history.service.pendingCount)
        if let last = history.service.lastRefresh {
            let age = ContinuousClock.now - last
            Gauge(label: "misdirect_history_snapshot_age_seconds").record(Double(age.components.seconds) + Double(age.components.attoseconds) / 1e18)
        }
        for operation in ["open", "refresh", "write", "prune"] {
            Counter(label: "misdirect_history_store_errors_total", dimensions: [("operation", operation)]).increment(by: 0)
        }
    }
}
