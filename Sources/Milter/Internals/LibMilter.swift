internal import CMilter
#if canImport(Glibc)
internal import Glibc
#endif

/// Every raw libmilter call the Milter target makes, each checked through ``check(_:_:)``.
enum LibMilter {
    /// Turns libmilter's `MI_FAILURE` into a ``MilterError`` naming the call.
    @inline(__always)
    static func check(_ result: Int32, _ call: @autoclosure () -> String) throws(MilterError) {
        if result == MI_FAILURE { throw MilterError(.libmilterFailed, call()) }
    }

    static func symbolValue(_ ctx: OpaquePointer, _ name: String) -> String? {
        name.withCString { key in
            smfi_getsymval(ctx, UnsafeMutablePointer(mutating: key)).map { String(cString: $0) }
        }
    }

    static func setReply(_ ctx: OpaquePointer, _ reply: SMTPReply) throws(MilterError) {
        let lines = reply.lines.isEmpty ? [""] : reply.lines
        let result: Int32
        if lines.count == 1 {
            result = withCStrings([reply.code, reply.enhancedCode, lines[0]]) { p in
                smfi_setreply(ctx, p[0], p[1], p[2])
            }
        } else {
            let padded = lines.map(Optional.some) + Array(repeating: nil, count: 8 - lines.count)
            result = withCStrings([reply.code, reply.enhancedCode] + padded) { p in
                cmilter_setmlreply(ctx, p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8], p[9])
            }
        }
        try check(result, "smfi_setreply \(reply.code)")
    }

    static func addHeader(_ ctx: OpaquePointer, _ name: String, _ value: String) throws(MilterError) {
        let result = withCStrings([name, value]) { p in smfi_addheader(ctx, p[0], p[1]) }
        try check(result, "smfi_addheader \(name)")
    }

    static func insertHeader(_ ctx: OpaquePointer, _ index: Int32, _ name: String, _ value: String) throws(MilterError) {
        let result = withCStrings([name, value]) { p in smfi_insheader(ctx, index, p[0], p[1]) }
        try check(result, "smfi_insheader \(name)")
    }

    static func changeHeader(_ ctx: OpaquePointer, _ name: String, _ index: Int32, _ value: String?) throws(MilterError) {
        let result = withCStrings([name, value]) { p in smfi_chgheader(ctx, p[0], index, p[1]) }
        try check(result, "smfi_chgheader \(name)[\(index)]")
    }

    static func quarantine(_ ctx: OpaquePointer, _ reason: String) throws(MilterError) {
        let result = withCStrings([reason]) { p in smfi_quarantine(ctx, p[0]) }
        try check(result, "smfi_quarantine")
    }

    static func addRecipient(_ ctx: OpaquePointer, _ address: String) throws(MilterError) {
        let result = withCStrings([address]) { p in smfi_addrcpt(ctx, p[0]) }
        try check(result, "smfi_addrcpt \(address)")
    }

    static func setSymbolList(_ ctx: OpaquePointer, _ stage: MacroStage, _ names: [String]) throws(MilterError) {
        let list = names.joined(separator: " ")
        let result = withCStrings([list]) { p in smfi_setsymlist(ctx, stage.cValue, p[0]) }
        try check(result, "smfi_setsymlist \(list)")
    }

    static func register(name: String) throws(MilterError) {
        // smfi_register copies the descriptor and the name into storage of its own.
        let result = withCStrings([name]) { p in
            p[0].map { smfi_register(Callbacks.descriptor(name: $0)) } ?? MI_FAILURE
        }
        try check(result, "smfi_register")
    }

    static func configure(_ configuration: MilterConfiguration) throws(MilterError) {
        let spec = configuration.socket.description
        try check(withCStrings([spec]) { p in smfi_setconn(p[0]) }, "smfi_setconn \(spec)")
        try check(smfi_settimeout(Int32(clamping: configuration.timeout)), "smfi_settimeout")
        try check(smfi_setbacklog(Int32(clamping: configuration.backlog)), "smfi_setbacklog")
    }

    /// Binds the socket now, removing a stale unix socket file first, and gives a unix socket
    /// its mode and group.
    static func openSocket(_ socket: MilterSocket, permissions: UnixSocketPermissions) throws(MilterError) {
        try check(smfi_opensocket(1), "smfi_opensocket \(socket) (is the address in use, or the directory missing?)")
        guard case .unix(let path) = socket else {
            try setNoDelay(socket)
            return
        }
        if let group = permissions.group, chown(path, uid_t.max, gid_t(group)) != 0 {
            throw MilterError(.libmilterFailed, "chown \(path) to group \(group): \(String(cString: strerror(errno)))")
        }
        if chmod(path, mode_t(permissions.mode)) != 0 {
            throw MilterError(.libmilterFailed, "chmod \(path): \(String(cString: strerror(errno)))")
        }
    }

    /// Sets `TCP_NODELAY` on libmilter's listening socket; the connections it accepts inherit
    /// it (Linux). libmilter writes each end-of-message action with a `write()` of its own, and
    /// without it the second one waits 40 ms for the MTA's delayed ACK.
    private static func setNoDelay(_ socket: MilterSocket) throws(MilterError) {
        var one: Int32 = 1
        guard let fd = listeningDescriptor(for: socket),
              setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size)) == 0
        else {
            throw MilterError(.libmilterFailed, "cannot set TCP_NODELAY on the listening socket \(socket)")
        }
    }

    /// The listening socket `smfi_opensocket` made, found by its address: libmilter does not
    /// hand out its descriptor.
    static func listeningDescriptor(for socket: MilterSocket) -> Int32? {
        let limit = min(Int32(sysconf(Int32(_SC_OPEN_MAX))), 65536)
        for fd in stride(from: limit - 1, through: 0, by: -1) {
            var accepting: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            guard getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &length) == 0, accepting == 1 else { continue }
            var storage = sockaddr_storage()
            var size = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let named = withUnsafeMutablePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &size) }
            }
            guard named == 0 else { continue }
            switch (socket, Int32(storage.ss_family)) {
            case (.inet(let port, _), AF_INET):
                let bound = withUnsafePointer(to: &storage) { $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin_port) } }
                if bound == port { return fd }
            case (.inet6(let port, _), AF_INET6):
                let bound = withUnsafePointer(to: &storage) { $0.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin6_port) } }
                if bound == port { return fd }
            case (.unix(let path), AF_UNIX):
                let bound = withUnsafePointer(to: &storage) {
                    $0.withMemoryRebound(to: sockaddr_un.self, capacity: 1) { address in
                        withUnsafeBytes(of: address.pointee.sun_path) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
                    }
                }
                if bound == path { return fd }
            default:
                continue
            }
        }
        return nil
    }

    /// Puts a listening socket that nobody can reach (non-blocking, in the abstract unix
    /// namespace under a random name) in place of `fd`: the real one closes, so the MTA's new
    /// connections are refused, while libmilter's accept loop keeps polling a valid socket and
    /// its workers keep serving the connections already open.
    static func replaceWithQuietListener(_ fd: Int32) -> Bool {
        let quiet = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard quiet >= 0 else { return false }
        defer { close(quiet) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let name = Array("misdirect-milter-draining-\(getpid())-\(UInt64.random(in: 0...UInt64.max))".utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: [0] + name) }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + 1 + name.count)
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(quiet, $0, length) } }
        guard bound == 0, listen(quiet, 1) == 0 else { return false }
        return dup2(quiet, fd) == fd
    }

    /// Runs the accept loop until `smfi_stop` or a signal libmilter handles.
    static func main() -> Int32 { smfi_main() }

    static func stop() { _ = smfi_stop() }

    static func privateData(_ ctx: OpaquePointer) -> UnsafeMutableRawPointer? {
        smfi_getpriv(ctx)
    }

    static func setPrivateData(_ ctx: OpaquePointer, _ data: UnsafeMutableRawPointer?) {
        _ = smfi_setpriv(ctx, data)
    }

    /// Calls `body` with C strings for `strings` (nil stays NULL), valid only during the call.
    /// libmilter takes `char *` but copies what it is given; it never writes to it.
    private static func withCStrings<R>(
        _ strings: [String?], _ body: ([UnsafeMutablePointer<CChar>?]) -> R
    ) -> R {
        let duplicated = strings.map { $0.flatMap { strdup($0) } }
        defer { duplicated.forEach { free($0) } }
        return body(duplicated)
    }
}

extension MacroStage {
    var cValue: Int32 {
        switch self {
        case .connect: Int32(SMFIM_CONNECT)
        case .helo: Int32(SMFIM_HELO)
        case .envelopeSender: Int32(SMFIM_ENVFROM)
        case .envelopeRecipient: Int32(SMFIM_ENVRCPT)
        case .data: Int32(SMFIM_DATA)
        case .endOfHeaders: Int32(SMFIM_EOH)
        case .endOfMessage: Int32(SMFIM_EOM)
        }
    }
}
