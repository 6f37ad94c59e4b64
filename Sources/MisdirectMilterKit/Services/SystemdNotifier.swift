import Foundation

/// Tells systemd how the service is doing (`sd_notify(3)`): a datagram to the unix socket named
/// by `$NOTIFY_SOCKET`, written here so the milter needs no libsystemd. With `Type=notify`,
/// `systemctl start` returns once `READY=1` came, and `systemctl reload`/`stop` see
/// `RELOADING=1`/`STOPPING=1`. Without `$NOTIFY_SOCKET` (not under systemd) it does nothing.
final package class SystemdNotifier: Sendable {
    private let address: sockaddr_un?
    private let length: socklen_t
    private let fd: Int32

    /// Reads `$NOTIFY_SOCKET`: an absolute path, or `@name` for the abstract namespace.
    package init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        guard let name = environment["NOTIFY_SOCKET"], name.hasPrefix("/") || name.hasPrefix("@"),
              name.utf8.count < MemoryLayout.size(ofValue: address.sun_path)
        else {
            (self.address, length, fd) = (nil, 0, -1)
            return
        }
        var bytes = Array(name.utf8)
        if bytes[0] == UInt8(ascii: "@") { bytes[0] = 0 }  // abstract: a leading NUL, no terminator
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
        self.address = address
        length = socklen_t(MemoryLayout.offset(of: \sockaddr_un.sun_path)! + bytes.count + (bytes[0] == 0 ? 0 : 1))
        // Opened now, before privileges are dropped; sendto needs no more than that.
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    }

    deinit {
        if fd >= 0 { close(fd) }
    }

    /// The service is up: the socket is bound and the milter loop runs.
    package func ready(status: String) { send("READY=1\nSTATUS=\(status)") }

    /// A reload starts; ``ready(status:)`` ends it.
    package func reloading() {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        send("RELOADING=1\nMONOTONIC_USEC=\(Int(now.tv_sec) * 1_000_000 + Int(now.tv_nsec) / 1000)")
    }

    /// A stop starts.
    package func stopping() { send("STOPPING=1") }

    /// Sends one notification; failures are ignored (systemd then times out, which it reports).
    package func send(_ state: String) {
        guard var address, fd >= 0 else { return }
        let bytes = Array(state.utf8)
        _ = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { sockaddr in
                bytes.withUnsafeBytes { Foundation.sendto(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL), sockaddr, length) }
            }
        }
    }
}
