import Foundation
import Logging
import Synchronization

/// Writes one line per log event to the configured target: logfmt or JSON lines on standard
/// error, or a syslog datagram.
///
/// logfmt is time, level, message, then `key=value` metadata in key order, readable by eye and
/// by `grep`/`awk`; JSON lines carry the same fields (`time`, `level`, `message` and the dotted
/// metadata keys) for journald and log shippers. Nothing a sender writes into an address or a
/// header can forge a line: control characters are escaped in both formats.
package struct LineLogHandler: LogHandler {
    package var metadata: Logger.Metadata = [:]
    private let label: String
    private let sink: LogSink

    /// The level every handler of the process uses; changed by a reload.
    package static let level = LogLevelSetting(.info)

    package init(label: String, sink: LogSink) {
        self.label = label
        self.sink = sink
    }

    package var logLevel: Logger.Level {
        get { Self.level.value }
        set { Self.level.value = newValue }
    }

    package subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    package func log(event: LogEvent) {
        let merged = event.metadata.map { metadata.merging($0) { _, new in new } } ?? metadata
        sink.write(level: event.level, line: Self.format(sink.format, level: event.level, label: label, message: event.message.description, metadata: merged, timestamp: sink.stampsTime))
    }

    /// One formatted line without its newline.
    /// - Parameter timestamp: whether to start with the time (syslog adds its own).
    package static func format(_ format: LogFormat, level: Logger.Level, label: String, message: String, metadata: Logger.Metadata, timestamp: Bool) -> String {
        switch format {
        case .logfmt:
            var line = timestamp ? "\(Self.timestamp()) \(level.rawValue) \(label): " : ""
            line += escaped(message, quoteSpaces: false)
            for key in metadata.keys.sorted() {
                line += " \(key)=\(escaped(text(metadata[key]!), quoteSpaces: true))"
            }
            return line
        case .json:
            var line = "{\"time\":\"\(Self.timestamp())\",\"level\":\"\(level.rawValue)\",\"label\":\(jsonString(label)),\"message\":\(jsonString(message))"
            for key in metadata.keys.sorted() where !["time", "level", "label", "message"].contains(key) {
                line += ",\(jsonString(key)):\(jsonString(text(metadata[key]!)))"
            }
            return line + "}"
        }
    }

    package static func text(_ value: Logger.MetadataValue) -> String {
        switch value {
        case .string(let string): string
        case .stringConvertible(let convertible): convertible.description
        case .array(let values): values.map(text).joined(separator: ",")
        case .dictionary(let values): values.keys.sorted().map { "\($0):\(text(values[$0]!))" }.joined(separator: ",")
        }
    }

    /// Escapes control characters as `\xNN` and, for values, quotes them when needed.
    package static func escaped(_ text: String, quoteSpaces: Bool) -> String {
        var out = ""
        var needsQuotes = quoteSpaces && text.isEmpty
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\\": out += "\\\\"
            case "\"" where quoteSpaces: out += "\\\""; needsQuotes = true
            case " " where quoteSpaces, "=" where quoteSpaces: out.unicodeScalars.append(scalar); needsQuotes = true
            case _ where scalar.value < 0x20 || scalar.value == 0x7F:
                out += "\\x" + (scalar.value < 0x10 ? "0" : "") + String(scalar.value, radix: 16)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return needsQuotes ? "\"\(out)\"" : out
    }

    /// A JSON string literal: quotes, backslashes and control characters escaped (RFC 8259).
    package static func jsonString(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F || scalar.value == 0x2028 || scalar.value == 0x2029:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    package static func timestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var parts = tm()
        var seconds = now.tv_sec
        gmtime_r(&seconds, &parts)
        var buffer = [CChar](repeating: 0, count: 32)
        strftime(&buffer, buffer.count, "%Y-%m-%dT%H:%M:%S", &parts)
        let millis = now.tv_nsec / 1_000_000
        let base = buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        return base + "." + String(repeating: "0", count: millis < 10 ? 2 : millis < 100 ? 1 : 0) + "\(millis)Z"
    }
}

/// The process-wide log level, read on every log call and set at start and on reload.
final package class LogLevelSetting: Sendable {
    private let raw: Atomic<Int>

    package init(_ level: Logger.Level) {
        raw = Atomic(Self.index(level))
    }

    package var value: Logger.Level {
        get { Logger.Level.allCases[raw.load(ordering: .relaxed)] }
        set { raw.store(Self.index(newValue), ordering: .relaxed) }
    }

    private static func index(_ level: Logger.Level) -> Int {
        Logger.Level.allCases.firstIndex(of: level) ?? 2
    }
}

/// How a log line is written.
package enum LogFormat: Sendable, Equatable {
    /// `key=value` pairs after the message.
    case logfmt
    /// One JSON object per line.
    case json
}
