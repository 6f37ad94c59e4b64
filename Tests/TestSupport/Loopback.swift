import Foundation
import Locking

/// Loopback TCP helpers.
public enum Loopback {
    /// Ports handed out by ``freePort()`` in this process.
    private static let handedOut = LockedValue(Set<UInt16>())

    /// A TCP port nothing listens on right now, never the same twice in a process, and below
    /// the kernel's ephemeral range: a port from that range can be taken, between this answer
    /// and the bind of whoever asked, by any outgoing connection or port-0 listener of a test
    /// running beside it (seen: a history milter's metrics port taken while the console's route
    /// tests ran).
    public static func freePort() throws -> UInt16 {
        let ephemeral = (try? String(contentsOfFile: "/proc/sys/net/ipv4/ip_local_port_range", encoding: .utf8))
            .flatMap { $0.split(whereSeparator: \.isWhitespace).first.flatMap { UInt16($0) } } ?? 32768
        if ephemeral > 12000 {
            for _ in 0..<500 {
                let port = UInt16.random(in: 10000..<ephemeral)
                guard handedOut.withLock({ $0.insert(port).inserted }) else { continue }
                if canBind(port) { return port }
            }
        }
        return try kernelPort()
    }

    /// Whether a listener could bind `port` on 127.0.0.1 now.
    private static func canBind(_ port: UInt16) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        return onLoopback(port) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
    }

    /// `body` given 127.0.0.1:`port` as a socket address.
    private static func onLoopback<Result>(_ port: UInt16, _ body: (UnsafePointer<sockaddr>) -> Result) -> Result {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = port.bigEndian
        return withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1, body) }
    }

    /// A port the kernel picks (from its ephemeral range).
    private static func kernelPort() throws -> UInt16 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(fd, pointer, length) == 0 && getsockname(fd, pointer, &length) == 0
            }
        }
        guard bound else { throw TestSupportFailure(description: "cannot find a free port") }
        return UInt16(bigEndian: address.sin_port)
    }

    /// True when something accepts connections on the port.
    public static func isListening(_ port: UInt16) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        return onLoopback(port) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
    }

    /// True when something accepts connections on the unix socket.
    public static func isListening(unixPath: String) -> Bool {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            buffer.copyBytes(from: Array(unixPath.utf8.prefix(buffer.count - 1)) + [0])
        }
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) == 0
            }
        }
    }
}

/// A test fixture that could not be set up.
public struct TestSupportFailure: Error, CustomStringConvertible {
    public let description: String

    public init(description: String) {
        self.description = description
    }
}
