import Foundation
import Testing
import MisdirectMilterKit

/// The one Prometheus registry of the test process (swift-metrics is bootstrapped once).
let testMetricsRegistry = MilterMetrics.bootstrapPrometheus()

struct LogSinkTests {
    /// A syslog datagram socket nobody reads: its queue fills up.
    static func deafSyslog() throws -> (path: String, fd: Int32) {
        let path = FileManager.default.temporaryDirectory.path + "/deaf-syslog-\(UUID().uuidString.prefix(8)).sock"
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        try #require(fd >= 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8) + [0]) }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        try #require(bound == 0)
        return (path, fd)
    }

    @Test("syslog lines dropped on a full socket are counted and exported as misdirect_log_lines_dropped_total")
    func droppedLinesCounted() throws {
        let registry = testMetricsRegistry
        let (path, fd) = try Self.deafSyslog()
        defer { close(fd); unlink(path) }
        let before = LogSink.droppedLines
        let connection = try SyslogConnection(path: path, facility: .mail, tag: "test")
        var sent = 0, failed = 0
        for index in 0..<5000 {
            if connection.send(severity: 6, message: "line \(index) " + String(repeating: "x", count: 200)) { sent += 1 } else { failed += 1 }
        }
        #expect(sent > 0)
        #expect(failed > 0, "the socket never filled up")
        #expect(LogSink.droppedLines - before == failed)
        let text = String(decoding: MilterMetrics.exposition(registry), as: UTF8.self)
        let line = text.split(separator: "\n").first { $0.hasPrefix("misdirect_log_lines_dropped_total ") }
        let exported = try #require(line.flatMap { Double($0.split(separator: " ").last ?? "") }, "\(text)")
        #expect(Int(exported) == LogSink.droppedLines)
    }
}
