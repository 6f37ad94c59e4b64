import CoreMetrics
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
/// | `misdirect_messages_total` | `outcome` | messages seen to their end: `delivered`, `refused`, `failed` |
/// | `misdirect_forged_headers_removed_total` | | `X-Misdirection-Risk` headers a sender put in a message |
/// | `misdirect_sender_overrides_total` | | refused recipients delivered on an authenticated sender's word |
/// | `misdirect_stage_duration_seconds` | `stage` | histogram of time spent in each milter stage |
/// | `misdirect_connections_open` | | MTA connections in flight |
/// | `misdirect_config_reloads_total` | `result` | reloads: `success` or `failure` |
/// | `misdirect_config_generation` | | the configuration in use: 1 at start, one more per successful reload |
enum MilterMetrics {
    static let stageBuckets: [Duration] = [
        .microseconds(10), .microseconds(25), .microseconds(50), .microseconds(100), .microseconds(250),
        .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10),
        .milliseconds(50), .milliseconds(250), .seconds(1),
    ]

    /// Counts one classified recipient and its decision.
    static func record(_ decision: Decision) {
        recipientsChecked.increment()
        let rule = decision.verdict.rules.first?.id ?? "none"
        Counter(label: "misdirect_decisions_total", dimensions: [
            ("action", decision.action.description), ("level", decision.verdict.level.description),
            ("rule", rule), ("mode", decision.mode.description),
        ]).increment()
    }

    /// Counts a message that reached its end: `delivered`, `refused` or `failed`.
    static func recordMessage(outcome: String) {
        Counter(label: "misdirect_messages_total", dimensions: [("outcome", outcome)]).increment()
    }

    static func recordSenderOverride() {
        Counter(label: "misdirect_sender_overrides_total").increment()
    }

    static func recordForgedHeaders(_ count: Int) {
        Counter(label: "misdirect_forged_headers_removed_total").increment(by: count)
    }

    /// Counts a reload and, when it succeeded, publishes the new generation.
    static func recordReload(succeeded: Bool, generation: Int) {
        Counter(label: "misdirect_config_reloads_total", dimensions: [("result", succeeded ? "success" : "failure")]).increment()
        Gauge(label: "misdirect_config_generation").record(generation)
    }

    static func publishGeneration(_ generation: Int) {
        Gauge(label: "misdirect_config_generation").record(generation)
    }

    /// The timer of one stage, by its label value.
    static func stageTimer(_ stage: String) -> Timer {
        Timer(label: "misdirect_stage_duration_seconds", dimensions: [("stage", stage)])
    }

    private static let recipientsChecked = Counter(label: "misdirect_recipients_checked_total")

    /// Bootstraps swift-metrics with a Prometheus registry and returns it for export. Once per
    /// process.
    static func bootstrapPrometheus() -> PrometheusCollectorRegistry {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.durationHistogramBuckets["misdirect_stage_duration_seconds"] = stageBuckets
        MetricsSystem.bootstrap(factory)
        // Publish the families that start at zero, so a scrape shows them before any traffic.
        Counter(label: "misdirect_recipients_checked_total").increment(by: 0)
        for result in ["success", "failure"] {
            Counter(label: "misdirect_config_reloads_total", dimensions: [("result", result)]).increment(by: 0)
        }
        return registry
    }

    /// The text exposition, with the gauges read at scrape time brought up to date.
    static func exposition(_ registry: PrometheusCollectorRegistry, history: HistoryRuntime? = nil) -> [UInt8] {
        Gauge(label: "misdirect_connections_open").record(MilterServer.liveSessions)
        if let history { publishHistory(history) }
        return registry.emitToBuffer()
    }
}

/// A session decorator that times each stage into `misdirect_stage_duration_seconds`.
final class TimedSession: MilterSession {
    private let inner: any MilterSession
    private static let timers: [String: Timer] = Dictionary(uniqueKeysWithValues: [
        "envelope_sender", "envelope_recipient", "header", "end_of_message",
    ].map { ($0, MilterMetrics.stageTimer($0)) })

    init(_ inner: any MilterSession) {
        self.inner = inner
    }

    private func timed<T>(_ stage: String, _ body: () -> T) -> T {
        let start = ContinuousClock.now
        defer {
            let elapsed = ContinuousClock.now - start
            Self.timers[stage]?.recordNanoseconds(elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000)
        }
        return body()
    }

    func connect(hostname: String, address: PeerAddress?, context: MilterContext) -> MilterResponse {
        inner.connect(hostname: hostname, address: address, context: context)
    }

    func helo(_ name: String, context: MilterContext) -> MilterResponse {
        inner.helo(name, context: context)
    }

    func endOfHeaders(context: MilterContext) -> MilterResponse {
        inner.endOfHeaders(context: context)
    }

    func envelopeSender(_ arguments: [[UInt8]], context: MilterContext) -> MilterResponse {
        timed("envelope_sender") { inner.envelopeSender(arguments, context: context) }
    }

    func envelopeRecipient(_ arguments: [[UInt8]], context: MilterContext) -> MilterResponse {
        timed("envelope_recipient") { inner.envelopeRecipient(arguments, context: context) }
    }

    func header(name: [UInt8], value: [UInt8], context: MilterContext) -> MilterResponse {
        timed("header") { inner.header(name: name, value: value, context: context) }
    }

    func endOfMessage(context: MilterContext) -> MilterResponse {
        timed("end_of_message") { inner.endOfMessage(context: context) }
    }

    func abort(context: MilterContext) { inner.abort(context: context) }
    func close() { inner.close() }
}
