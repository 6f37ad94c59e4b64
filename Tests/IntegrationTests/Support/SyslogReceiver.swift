import Foundation
import TestSupport

/// A private syslog daemon for the tests: a unix datagram socket whose datagrams are kept in
/// memory, as `/dev/log` would receive them.
final class SyslogReceiver: @unchecked Sendable {
    let path: String
    private let fd: Int32
    private let received = Locked<[String]>([])

    init(path: String) throws {
        self.path = path
        unlink(path)
        fd = try Self.boundDatagramSocket(path: path)
        // World-writable like /dev/log: a milter that dropped root still logs.
        chmod(path, 0o666)
        let thread = Thread { [self] in
            var buffer = [UInt8](repeating: 0, count: 65536)
            while true {
                let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                if count < 0 && errno == EINTR { continue }
                if count <= 0 { return }
                let text = String(decoding: buffer[0..<count], as: UTF8.self)
                received.withLock { $0.append(text) }
            }
        }
        thread.start()
    }

    /// A unix datagram socket bound to `path`, for a test to receive on.
    static func boundDatagramSocket(path: String) throws -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8) + [0]) }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0 else {
            let reason = String(cString: strerror(errno))
            Glibc.close(fd)
            throw Command.Failure(description: "cannot bind \(path): \(reason)")
        }
        return fd
    }

    /// Every datagram received so far.
    var datagrams: [String] {
        received.withLock { $0 }
    }

    /// Datagrams containing every fragment, waiting up to `timeout` for one.
    func datagrams(containing fragments: [String], timeout: Duration = .seconds(10)) -> [String] {
        var found: [String] = []
        _ = Command.waitUntil(timeout: timeout) {
            found = datagrams.filter { line in fragments.allSatisfy { line.contains($0) } }
            return !found.isEmpty
        }
        return found
    }

    func close() {
        shutdown(fd, Int32(SHUT_RDWR))
        Foundation.close(fd)
        unlink(path)
    }
}
