import Foundation
import Logging

/// Writes one line per log event: time, level, message, then `key=value` metadata in key order
/// (logfmt), so decisions can be read by eye and by `grep`/`awk`.
///
/// Values are quoted when they contain spaces, quotes or `=`, and control characters are escaped:
/// nothing a sender writes into an address or header can forge a log line.
struct LineLogHandler: LogHandler {
    var logLevel: Logger.Level
    var metadata: Logger.Metadata = [:]
    private let label: String
    private let output: LogOutput

    init(label: String, level: Logger.Level, output: LogOutput = .standardError) {
        self.label = label
        self.logLevel = level
        self.output = output
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let merged = event.metadata.map { metadata.merging($0) { _, new in new } } ?? metadata
        var line = "\(Self.timestamp()) \(event.level.rawValue) \(label): \(Self.escaped(event.message.description, quoteSpaces: false))"
        for key in merged.keys.sorted() {
            line += " \(key)=\(Self.escaped(Self.text(merged[key]!), quoteSpaces: true))"
        }
        output.write(line + "\n")
    }

    static func text(_ value: Logger.MetadataValue) -> String {
        switch value {
        case .string(let string): string
        case .stringConvertible(let convertible): convertible.description
        case .array(let values): values.map(text).joined(separator: ",")
        case .dictionary(let values): values.keys.sorted().map { "\($0):\(text(values[$0]!))" }.joined(separator: ",")
        }
    }

    /// Escapes control characters as `\xNN` and, for values, quotes them when needed.
    static func escaped(_ text: String, quoteSpaces: Bool) -> String {
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

    private static func timestamp() -> String {
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

/// Where log lines go; writes are whole lines, safe from any thread.
enum LogOutput: Sendable {
    case standardError

    func write(_ line: String) {
        var bytes = Array(line.utf8)
        bytes.withUnsafeMutableBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = Foundation.write(2, buffer.baseAddress! + offset, buffer.count - offset)
                if written <= 0 { if errno == EINTR { continue }; return }
                offset += written
            }
        }
    }
}
