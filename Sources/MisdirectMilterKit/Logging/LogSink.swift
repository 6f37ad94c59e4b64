import Foundation
import Locking
import Logging
import Synchronization

/// Where log lines go: standard error (logfmt or JSON lines) or syslog. Writes are whole lines
/// (or whole datagrams), safe from any thread.
final package class LogSink: Sendable {
    /// The configured destination.
    package enum Destination: Sendable, Equatable {
        case standardError(LogFormat)
        /// A syslog datagram socket (`/dev/log`), with the facility (`mail` = 2).
        case syslog(facility: SyslogFacility, socket: String)
    }

    package let format: LogFormat
    /// Whether lines start with the time: not for syslog, which stamps them itself.
    package let stampsTime: Bool
    private let syslog: SyslogConnection?

    private init(format: LogFormat, stampsTime: Bool, syslog: SyslogConnection?) {
        self.format = format
        self.stampsTime = stampsTime
        self.syslog = syslog
    }

    /// Opens the destination. Syslog falls back to logfmt on standard error when its socket
    /// cannot be reached, and says so in `fallback`.
    package static func open(_ destination: Destination, tag: String) -> (sink: LogSink, fallback: String?) {
        switch destination {
        case .standardError(let format):
            return (LogSink(format: format, stampsTime: true, syslog: nil), nil)
        case let .syslog(facility, socket):
            do {
                let connection = try SyslogConnection(path: socket, facility: facility, tag: tag)
                return (LogSink(format: .logfmt, stampsTime: false, syslog: connection), nil)
            } catch {
                return (LogSink(format: .logfmt, stampsTime: true, syslog: nil), "cannot reach the syslog socket \(socket) (\(error)); logging to standard error")
            }
        }
    }

    /// Log lines lost since the process started: a full syslog socket (`EAGAIN`), a syslog
    /// daemon that cannot be reached, or standard error failing. Exported as
    /// `misdirect_log_lines_dropped_total`.
    package static var droppedLines: Int { dropped.load(ordering: .relaxed) }
    private static let dropped = Atomic<Int>(0)

    package static func countDroppedLine() {
        dropped.add(1, ordering: .relaxed)
    }

    package func write(level: Logger.Level, line: String) {
        if let syslog {
            syslog.send(severity: SyslogConnection.severity(level), message: line)
        } else if !Self.writeStandardError(line + "\n") {
            Self.countDroppedLine()
        }
    }

    /// Writes all of `line` to standard error; false if it could not.
    @discardableResult
    package static func writeStandardError(_ line: String) -> Bool {
        var bytes = Array(line.utf8)
        return bytes.withUnsafeMutableBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = Foundation.write(2, buffer.baseAddress! + offset, buffer.count - offset)
                if written <= 0 { if errno == EINTR { continue }; return false }
                offset += written
            }
            return true
        }
    }
}

/// Syslog facilities by name, as `syslog_facility` takes them.
package struct SyslogFacility: Sendable, Equatable, CustomStringConvertible {
    package let name: String
    package let code: Int32

    package static let all: [SyslogFacility] = [
        ("mail", 2), ("daemon", 3), ("user", 1),
        ("local0", 16), ("local1", 17), ("local2", 18), ("local3", 19),
        ("local4", 20), ("local5", 21), ("local6", 22), ("local7", 23),
    ].map { SyslogFacility(name: $0.0, code: $0.1) }

    /// `mail`: beside the MTA's own lines.
    package static let mail = all[0]

    package init?(name: String) {
        guard let found = Self.all.first(where: { $0.name == name }) else { return nil }
        self = found
    }

    private init(name: String, code: Int32) {
        self.name = name
        self.code = code
    }

    package var description: String { name }
}

/// A datagram connection to the local syslog daemon, writing the traditional (RFC 3164) lines
/// glibc's syslog(3) writes: `<PRI>Mmm dd hh:mm:ss tag[pid]: message`. Its own client rather
/// than syslog(3) so the socket can be chosen (containers, tests) and a failure is visible.
final package class SyslogConnection: Sendable {
    package struct Failure: Error, CustomStringConvertible {
        package let description: String
    }

    private let path: String
    private let facility: SyslogFacility
    private let tag: String
    /// The socket, by a number that stays the same for the connection's life: a reconnection
    /// puts the new socket behind it with `dup2`. So sends need no lock (a datagram is written
    /// whole by the kernel), and a send can never reach a descriptor that was closed and reused
    /// for something else, such as an MTA's connection.
    private let fd: Int32
    /// Held only while reconnecting.
    private let reconnection = LockedValue<Void>(())

    package init(path: String, facility: SyslogFacility, tag: String) throws {
        self.path = path
        self.facility = facility
        self.tag = tag
        fd = try Self.connect(path)
    }

    deinit {
        close(fd)
    }

    /// The syslog severity of a swift-log level.
    package static func severity(_ level: Logger.Level) -> Int32 {
        switch level {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
    }

    /// Sends one message; reconnects once if the daemon was restarted. Never blocks for long:
    /// a full socket buffer drops the message rather than stalling mail, and every message
    /// dropped is counted (``LogSink/droppedLines``).
    /// - Returns: whether the message was sent.
    @discardableResult
    package func send(severity: Int32, message: String) -> Bool {
        let datagram = Array("<\(facility.code * 8 + severity)>\(Self.timestamp()) \(tag)[\(getpid())]: \(message)".utf8)
        var sent = false
        for attempt in 0..<2 {
            let count = datagram.withUnsafeBytes { Foundation.send(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT | MSG_NOSIGNAL)) }
            if count >= 0 {
                sent = true
                break
            }
            if errno == EAGAIN || attempt == 1 || !reconnect() { break }
        }
        if !sent { LogSink.countDroppedLine() }
        return sent
    }

    /// A new connection to the daemon (restarted, or its socket replaced) behind the same
    /// descriptor number; false when it cannot be reached.
    private func reconnect() -> Bool {
        reconnection.withLock { _ in
            guard let fresh = try? Self.connect(path) else { return false }
            defer { close(fresh) }
            return dup2(fresh, fd) >= 0
        }
    }

    private static func connect(_ path: String) throws -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: String(cString: strerror(errno))) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            close(fd)
            throw Failure(description: "path too long")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes + [0]) }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Foundation.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard result == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw Failure(description: reason)
        }
        return fd
    }

    /// `Mmm dd hh:mm:ss` in local time, as syslog(3) writes it.
    private static func timestamp() -> String {
        var now = time(nil)
        var parts = tm()
        localtime_r(&now, &parts)
        var buffer = [CChar](repeating: 0, count: 32)
        strftime(&buffer, buffer.count, "%b %e %H:%M:%S", &parts)
        return buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }
}
