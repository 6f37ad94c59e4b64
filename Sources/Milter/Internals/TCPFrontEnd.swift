internal import CMilter  // <sys/socket.h>: Glibc alone lacks SOCK_STREAM with the static runtime (--static-swift-stdlib)
#if canImport(Glibc)
internal import Glibc
#endif
import Foundation
import Synchronization

/// Accepts the MTA's TCP connections itself and relays each one to libmilter over a private
/// unix socket, so that no milter conversation pays TCP's Nagle/delayed-ACK stalls.
///
/// Every libmilter milter loses about 80 ms per message over TCP (LIBMILTER-NOTES.md): the MTA
/// writes a command that gets no reply (the macros before a stage) and then the stage itself,
/// whose small segment Nagle holds until the milter's kernel ACKs the first one, 40 ms later;
/// and libmilter writes each end-of-message action separately, the second waiting the same way
/// for the MTA's delayed ACK. libmilter owns its sockets and offers no hook, so the front end
/// owns the TCP side instead: `TCP_NODELAY` on every connection (our writes leave at once) and
/// `TCP_QUICKACK` after every read (the MTA's next write is never held). The unix side has
/// neither problem.
final class TCPFrontEnd: Sendable {
    let backend: String
    private let directory: String
    private let listener: Int32
    private let stopped = Atomic<Bool>(false)

    /// Binds the TCP socket and makes the private directory for libmilter's socket.
    init(socket: MilterSocket, backlog: Int) throws(MilterError) {
        let (family, port, host): (Int32, UInt16, String?)
        switch socket {
        case let .inet(p, h): (family, port, host) = (AF_INET, p, h)
        case let .inet6(p, h): (family, port, host) = (AF_INET6, p, h)
        case .unix: throw MilterError(.invalidSocket, "the TCP front end needs an inet socket")
        }
        var template = Array("\(NSTemporaryDirectory())/misdirect-milter.XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else {
            throw MilterError(.libmilterFailed, "mkdtemp: \(String(cString: strerror(errno)))")
        }
        directory = String(cString: made)
        backend = directory + "/libmilter.sock"
        listener = try Self.listen(family: family, port: port, host: host, backlog: backlog, spec: socket.description)
    }

    private static func listen(family: Int32, port: UInt16, host: String?, backlog: Int, spec: String) throws(MilterError) -> Int32 {
        var hints = addrinfo()
        hints.ai_family = family
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &result) == 0, let info = result else {
            throw MilterError(.invalidSocket, "\(spec): cannot resolve the host")
        }
        defer { freeaddrinfo(result) }
        let fd = Glibc.socket(info.pointee.ai_family, info.pointee.ai_socktype, info.pointee.ai_protocol)
        guard fd >= 0 else { throw MilterError(.libmilterFailed, "socket: \(String(cString: strerror(errno)))") }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        // Accepted sockets inherit TCP_NODELAY from the listener on Linux; set again per
        // connection anyway.
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        guard bind(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0, Glibc.listen(fd, Int32(clamping: backlog)) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw MilterError(.libmilterFailed, "cannot listen on \(spec): \(reason)")
        }
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        return fd
    }

    /// Gives the private directory and libmilter's socket to the user the process will run as.
    func chown(uid: UInt32, gid: UInt32) throws(MilterError) {
        for path in [directory, backend] where Glibc.chown(path, uid, gid) != 0 {
            throw MilterError(.libmilterFailed, "chown \(path): \(String(cString: strerror(errno)))")
        }
    }

    /// Starts accepting; each connection is relayed on a thread of its own.
    func start() {
        let thread = Thread { [self] in acceptLoop() }
        thread.name = "milter-tcp-accept"
        thread.start()
    }

    /// Stops accepting and removes the private socket; relays in flight finish by themselves.
    func stop() {
        guard !stopped.exchange(true, ordering: .relaxed) else { return }
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
        unlink(backend)
        rmdir(directory)
    }

    private func acceptLoop() {
        while !stopped.load(ordering: .relaxed) {
            let client = accept(listener, nil, nil)
            if client < 0 {
                if errno == EINTR || errno == ECONNABORTED || errno == EMFILE || errno == ENFILE {
                    if errno == EMFILE || errno == ENFILE { usleep(100_000) }
                    continue
                }
                return
            }
            var one: Int32 = 1
            setsockopt(client, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            setsockopt(client, Int32(IPPROTO_TCP), TCP_QUICKACK, &one, socklen_t(MemoryLayout<Int32>.size))
            _ = fcntl(client, F_SETFD, FD_CLOEXEC)
            guard let milter = connectBackend() else {
                // libmilter is gone: the MTA sees the connection close and applies its
                // milter_default_action (tempfail, as documented).
                close(client)
                continue
            }
            let relay = Thread { Self.relay(tcp: client, milter: milter) }
            relay.name = "milter-tcp-relay"
            relay.start()
        }
    }

    private func connectBackend() -> Int32? {
        let fd = Glibc.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            buffer.copyBytes(from: Array(backend.utf8.prefix(buffer.count - 1)) + [0])
        }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) == 0
            }
        }
        guard connected else { close(fd); return nil }
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        return fd
    }

    /// Copies bytes both ways until either side closes, acknowledging every TCP read at once.
    private static func relay(tcp: Int32, milter: Int32) {
        defer {
            close(tcp)
            close(milter)
        }
        var fds = [pollfd(fd: tcp, events: Int16(POLLIN), revents: 0), pollfd(fd: milter, events: Int16(POLLIN), revents: 0)]
        var buffer = [UInt8](repeating: 0, count: 65536)
        var one: Int32 = 1
        while true {
            let ready = poll(&fds, 2, -1)
            if ready < 0 {
                if errno == EINTR { continue }
                return
            }
            for index in 0..<2 where fds[index].revents != 0 {
                let from = fds[index].fd, to = fds[1 - index].fd
                let count = read(from, &buffer, buffer.count)
                if count <= 0 {
                    if count < 0 && errno == EINTR { continue }
                    return
                }
                if from == tcp {
                    setsockopt(tcp, Int32(IPPROTO_TCP), TCP_QUICKACK, &one, socklen_t(MemoryLayout<Int32>.size))
                }
                guard writeAll(to, buffer, count) else { return }
            }
        }
    }

    private static func writeAll(_ fd: Int32, _ buffer: [UInt8], _ count: Int) -> Bool {
        var offset = 0
        while offset < count {
            let written = buffer.withUnsafeBytes { send(fd, $0.baseAddress! + offset, count - offset, Int32(MSG_NOSIGNAL)) }
            if written < 0 && errno == EINTR { continue }
            guard written > 0 else { return false }
            offset += written
        }
        return true
    }
}
