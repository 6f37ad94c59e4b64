import Foundation
import Testing

/// Operations through the real binary inside the private Postfix: metrics, log targets,
/// privileges, reload with real signals under live traffic, graceful stop.
extension PostfixTests {
    @Test("metrics: curl reads decisions by action, level and rule, recipients checked, stage latency and connections")
    func metrics() throws {
        let env = try environment()
        _ = try env.send(via: .enforce, to: ["metrics@army.ml", "metrics@army.mil"], subject: PostfixEnvironment.uniqueSubject("metrics"))
        let url = "http://127.0.0.1:\(env.metricsPort)/metrics"
        var text = ""
        _ = try Command.waitUntil(timeout: .seconds(10)) {
            text = try Command.run("curl", ["-sS", "--max-time", "5", url]).stdout
            return text.contains("misdirect_messages_total")
        }
        let samples = PrometheusText(text)
        #expect(samples.value("misdirect_decisions_total", ["action": "reject", "level": "high", "mode": "enforce", "rule": "suffix-confusion"]) ?? 0 >= 1, "\(text)")
        #expect(samples.value("misdirect_decisions_total", ["action": "accept", "level": "none", "mode": "enforce", "rule": "none"]) ?? 0 >= 1)
        #expect(samples.value("misdirect_recipients_checked_total", [:]) ?? 0 >= 2)
        #expect(samples.value("misdirect_stage_duration_seconds_count", ["stage": "envelope_recipient"]) ?? 0 >= 2)
        #expect(samples.value("misdirect_stage_duration_seconds_bucket", ["stage": "end_of_message", "le": "+Inf"]) ?? 0 >= 1)
        #expect(samples.value("misdirect_connections_open", [:]) != nil)
        #expect(samples.value("misdirect_config_generation", [:]) == 1)
        #expect(samples.value("misdirect_config_reloads_total", ["result": "failure"]) == 0)
        #expect(samples.value("misdirect_log_lines_dropped_total", [:]) == 0, "published from the start")
        #expect(text.contains("# TYPE misdirect_stage_duration_seconds histogram"))
        let notFound = try Command.run("curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:\(env.metricsPort)/"])
        #expect(notFound.stdout == "404")
    }

    @Test("log_target syslog sends each decision to the syslog socket with the mail facility")
    func syslogTarget() throws {
        let env = try environment()
        _ = try env.send(via: .tag, to: ["syslogged@army.ml"], subject: PostfixEnvironment.uniqueSubject("syslog"))
        let lines = env.syslog.datagrams(containing: ["tagged recipient", "rcpt.address=<syslogged@army.ml>"])
        let line = try #require(lines.first, "received: \(env.syslog.datagrams)")
        // <22>: facility mail (2) * 8 + severity info (6); then the time, the tag and the pid.
        #expect(line.hasPrefix("<22>"))
        #expect(line.contains(" misdirect-milter[\(env.milters[.tag]!.pid)]: tagged recipient "))
        #expect(line.contains("risk.level=high"))
        #expect(env.syslog.datagrams(containing: ["<21>", "started"]).count == 1, "notice is severity 5")
        #expect(env.milters[.tag]!.log.isEmpty, "nothing on standard error when syslog works")
    }

    @Test("user: drops root after binding: the log-only milter runs as nobody and still filters")
    func dropsPrivileges() throws {
        let env = try environment()
        let milter = env.milters[.logOnly]!
        let status = try String(contentsOfFile: "/proc/\(milter.pid)/status", encoding: .utf8)
        let ids = status.split(separator: "\n").first { $0.hasPrefix("Uid:") }?.split(whereSeparator: \.isWhitespace).dropFirst()
        let nobody = try #require(getpwnam("nobody")).pointee.pw_uid
        #expect(ids.map(Array.init) == Array(repeating: Substring("\(nobody)"), count: 4), "real, effective, saved and filesystem uid")
        #expect(milter.logLines(containing: ["started", "process.user=nobody"]).count == 1)
        let transcript = try env.send(via: .logOnly, to: ["x@army.mil"], subject: PostfixEnvironment.uniqueSubject("nobody"))
        #expect(transcript.reply(to: "x@army.mil")?.code == 250)
    }
}

/// Reads Prometheus' text exposition format: `name{label="value",...} number` lines.
struct PrometheusText {
    let samples: [(name: String, labels: [String: String], value: Double)]

    init(_ text: String) {
        samples = text.split(separator: "\n").compactMap { line in
            guard !line.hasPrefix("#"), let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { return nil }
            let series = line[..<space]
            guard let brace = series.firstIndex(of: "{") else { return (String(series), [:], value) }
            var labels: [String: String] = [:]
            for pair in series[series.index(after: brace)..<series.index(before: series.endIndex)].split(separator: ",") {
                let parts = pair.split(separator: "=", maxSplits: 1)
                if parts.count == 2 { labels[String(parts[0])] = parts[1].trimmingCharacters(in: CharacterSet(charactersIn: "\"")) }
            }
            return (String(series[..<brace]), labels, value)
        }
    }

    /// The value of the series with exactly these labels.
    func value(_ name: String, _ labels: [String: String]) -> Double? {
        samples.first { $0.name == name && $0.labels == labels }?.value
    }
}
