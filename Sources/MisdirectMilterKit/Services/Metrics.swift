import CoreMetrics
import Locking
import Milter
import MisdirectionRisk
import Prometheus

/// The metrics the milter reports through swift-metrics; `serve` exports them in Prometheus'
/// text format when `metrics_listen` is set (``MetricsServer``). Before the metrics system is
/// bootstrapped (commands other than `serve`, unit tests) they go nowhere.
///
/// | name | labels | |
/// |---|---|---|
/// | `misdirect_recipients_checked_total` | | recipients classified |
/// | `misdirect_decisions_total` | `action`, `level`, `rule`, `mode` | one per recipient; `rule` is the strongest rule that fired, or `none` |
/// | `misdirect_messages_total` | `outcome` | messages seen to their end: ``MessageOutcome`` (`delivered`, `held`, `refused`, `failed`) |
/// | `misdirect_forged_headers_removed_total` | | `X-Misdirection-Risk` headers a sender put in a message |
/// | `misdirect_sender_overrides_total` | | refused recipients delivered on an authenticated sender's word |
/// | `misdirect_stage_duration_seconds` | `stage` | histogram of time spent in each milter stage |
/// | `misdirect_connections_open` | | MTA connections in flight |
/// | `misdirect_config_reloads_total` | `result` | reloads: `success` or `failure` |
/// | `misdirect_config_generation` | | the configuration in use: 1 at start, one more per successful reload |
/// | `misdirect_log_lines_dropped_total` | | log lines lost: syslog socket full (`EAGAIN`) or unreachable, standard error failing |
package enum MilterMetrics {
    package static let stageBuckets: [Duration] = [
        .microseconds(10), .microseconds(25), .microseconds(50), .microseconds(100), .microseconds(250),
        .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10),
        .milliseconds(50), .milliseconds(250), .seconds(1),
    ]

    /// Counts one classified recipient and its decision.
    package static func record(_ decision: Decision) {
        recipientsChecked.increment()
        let rule = decision.verdict.rules.first?.id ?? "none"
        Counter(label: "misdirect_decisions_total", dimensions: [
            ("action", decision.action.description), ("level", decision.verdict.level.description),
            ("rule", rule), ("mode", decision.mode.description),
        ]).increment()
    }

    /// How a message seen to its end left the milter: the `outcome` label of
    /// `misdirect_messages_total`. The values are spelled out: they are what alert rules match.
    package enum MessageOutcome: String, CaseIterable, Sendable {
        /// Passed on to be delivered (tagged or not).
        case delivered = "delivered"
        /// Put on the MTA's hold queue for review.
        case held = "held"
        /// Refused at end of message (a recipient the headers raised, or an override missing).
        case refused = "refused"
        /// A change the MTA refused: the client was asked to retry.
        case failed = "failed"
    }

    /// Counts a message that reached its end.
    package static func recordMessage(_ outcome: MessageOutcome) {
        Counter(label: "misdirect_messages_total", dimensions: [("outcome", outcome.rawValue)]).increment()
    }

    package static func recordSenderOverride() {
        Counter(label: "misdirect_sender_overrides_total").increment()
    }

    package static func recordForgedHeaders(_ count: Int) {
        Counter(label: "misdirect_forged_headers_removed_total").increment(by: count)
    }

    /// Counts a reload and, when it succeeded, publishes the new generation.
    package static func recordReload(succeeded: Bool, generation: Int) {
        Counter(label: "misdirect_config_reloads_total", dimensions: [("result", succeeded ? "success" : "failure")]).increment()
        Gauge(label: "misdirect_config_generation").record(generation)
    }

    package static func publishGeneration(_ generation: Int) {
        Gauge(label: "misdirect_config_generation").record(generation)
    }

    /// The timer of one stage, by its label value.
    package static func stageTimer(_ stage: String) -> Timer {
        Timer(label: "misdirect_stage_duration_seconds", dimensions: [("stage", stage)])
    }

    private static let recipientsChecked = Counter(label: "misdirect_recipients_checked_total")

    /// Bootstraps swift-metrics with a Prometheus registry and returns it for export. Once per
    /// process.
    package static func bootstrapPrometheus() -> PrometheusCollectorRegistry {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.durationHistogramBuckets["misdirect_stage_duration_seconds"] = stageBuckets
        MetricsSystem.bootstrap(factory)
        // Publish the families that start at zero, so a scrape shows them before any traffic.
        Counter(label: "misdirect_recipients_checked_total").increment(by: 0)
        for result in ["success", "failure"] {
            Counter(label: "misdirect_config_reloads_total", dimensions: [("result", result)]).increment(by: 0)
        }
        publishDroppedLogLines()
        return registry
    }

    /// The dropped lines already added to `misdirect_log_lines_dropped_total`.
    private static let exportedDroppedLines = LockedValue<Int>(0)

    /// Brings `misdirect_log_lines_dropped_total` up to ``LogSink/droppedLines``: the count is
    /// kept by the log sink (lines are lost before metrics exist too) and added at scrape time.
    package static func publishDroppedLogLines() {
        let new = exportedDroppedLines.withLock { exported -> Int in
            let total = LogSink.droppedLines
            defer { exported = total }
            return total - exported
        }
        Counter(label: "misdirect_log_lines_dropped_total").increment(by: new)
    }

    /// The text exposition, with the gauges read at scrape time brought up to date.
    package static func exposition(_ registry: PrometheusCollectorRegistry, history: HistoryRuntime? = nil) -> [UInt8] {
        Gauge(label: "misdirect_connections_open").record(MilterServer.liveSessions)
        publishDroppedLogLines()
        if let history { publishHistory(history) }
        return registry.emitToBuffer()
    }
}

/// Times every session callback into `misdirect_stage_duration_seconds`, labelled with the
/// stage's name (``MilterStage``): the server calls it around each callback, body included.
package struct StageTimings: MilterStageObserver {
    private static let timers: [MilterStage: Timer] = Dictionary(uniqueKeysWithValues: MilterStage.allCases.map {
        ($0, MilterMetrics.stageTimer($0.rawValue))
    })

    package init() {}

    package func stage(_ stage: MilterStage, took duration: Duration) {
        let (seconds, attoseconds) = duration.components
        Self.timers[stage]?.recordNanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
