import Foundation
import Testing
import MisdirectMilterKit

/// The one Prometheus registry of the test process (swift-metrics is bootstrapped once).
let testMetricsRegistry = MilterMetrics.bootstrapPrometheus()

struct LogSinkTests {
    /// A syslog datagram socket nobody reads: its queue fills up.
    static func deafSyslog() throws -> (path: String, fd: Int32) {
        let path = FileManager.default.temporaryDirectory.path + "/deaf-syslog-\(UUID().uuidString.prefix(8)).sock"
        return (path, try bind(path))
    }

    /// A unix datagram socket bound to `path`.
    static func bind(_ path: String) throws -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        try #require(fd >= 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8) + [0]) }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Foundation.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        try #require(bound == 0)
        return fd
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

    /// The next datagram on `fd`, waiting up to a second.
    static func receive(_ fd: Int32) -> String? {
        var timeout = timeval(tv_sec: 1, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        return count > 0 ? String(decoding: buffer[..<count], as: UTF8.self) : nil
    }

    @Test("a restarted syslog daemon gets the next line: the connection reconnects behind the same descriptor")
    func reconnectsAfterRestart() throws {
        let (path, first) = try Self.deafSyslog()
        let connection = try SyslogConnection(path: path, facility: .mail, tag: "test")
        #expect(connection.send(severity: 6, message: "before"))
        #expect(Self.receive(first)?.hasSuffix("test[\(getpid())]: before") == true)
        // The daemon restarts: its socket file is made anew.
        close(first)
        unlink(path)
        let second = try Self.bind(path)
        defer { close(second); unlink(path) }
        #expect(connection.send(severity: 6, message: "after"))
        #expect(Self.receive(second)?.hasSuffix("test[\(getpid())]: after") == true)
    }
}
