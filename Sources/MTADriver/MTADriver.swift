import Foundation

/// The MTA side of the milter protocol (version 6), enough to drive a milter the way Postfix
/// does: negotiate, send stages with their macros, read replies and end-of-message changes.
///
/// `misdirect-milter probe` asks a running milter what it decides with it; MilterTests drive the
/// Milter library with it in-process, and the integration tests drive the real binary where a
/// real MTA cannot produce the input: the `{auth_authen}` macro of an authenticated sender, and
/// what Postfix would never send (NUL or CR LF in an argument, bytes that are not UTF-8, a
/// connection cut at any point).
public final class MTAConnection {
    public enum Reply: Equatable, Sendable {
        case `continue`, accept, reject, tempfail, discard, skip
        /// `y`: an SMTP reply set with smfi_setreply, such as "550 5.7.1 text".
        case text(String)
    }

    public enum Change: Equatable, Sendable {
        case addHeader(name: String, value: String)
        case insertHeader(index: UInt32, name: String, value: String)
        case changeHeader(index: UInt32, name: String, value: String)
        case quarantine(reason: String)
        case addRecipient(String)
    }

    public struct Negotiated: Sendable {
        public let actions: UInt32
        public let steps: UInt32
        /// Macro names requested per stage (SMFIM_* number).
        public let macros: [UInt32: String]
    }

    public struct DriverError: Error, CustomStringConvertible {
        public let description: String

        public init(description: String) {
            self.description = description
        }
    }

    private let fd: Int32
    public private(set) var negotiated: Negotiated?
    /// When set, every packet is written in pieces of `bytes` with `pause` between them: an MTA
    /// on a slow or congested link.
    public var slowWrites: (bytes: Int, pause: Duration)?

    /// Connects to a unix socket.
    /// - Parameter timeout: how long a read waits for the milter before failing.
    public init(unixPath: String, timeout: Int = 10) throws {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            let bytes = Array(unixPath.utf8.prefix(buffer.count - 1))
            buffer.copyBytes(from: bytes + [0])
        }
        fd = try Self.connected(to: &address, family: AF_UNIX, name: unixPath, timeout: timeout)
    }

    /// Connects to a TCP socket on loopback.
    public convenience init(tcpPort port: UInt16, timeout: Int = 10) throws {
        try self.init(tcpHost: "127.0.0.1", port: port, timeout: timeout)
    }

    /// Connects to a TCP socket at an IPv4 or IPv6 address literal.
    public init(tcpHost host: String, port: UInt16, timeout: Int = 10) throws {
        var v4 = sockaddr_in()
        var v6 = sockaddr_in6()
        if inet_pton(AF_INET, host, &v4.sin_addr) == 1 {
            v4.sin_family = sa_family_t(AF_INET)
            v4.sin_port = port.bigEndian
            fd = try Self.connected(to: &v4, family: AF_INET, name: "\(host):\(port)", timeout: timeout)
        } else if inet_pton(AF_INET6, host, &v6.sin6_addr) == 1 {
            v6.sin6_family = sa_family_t(AF_INET6)
            v6.sin6_port = port.bigEndian
            fd = try Self.connected(to: &v6, family: AF_INET6, name: "[\(host)]:\(port)", timeout: timeout)
        } else {
            throw DriverError(description: "\(host) is not an IP address")
        }
    }

    /// A stream socket of `family` connected to `address`, whose reads give up after `timeout` s.
    private static func connected<Address>(to address: inout Address, family: Int32, name: String, timeout: Int) throws -> Int32 {
        let fd = socket(family, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw DriverError(description: "socket: \(errno)") }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Foundation.connect(fd, $0, socklen_t(MemoryLayout<Address>.size))
            }
        }
        guard result == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw DriverError(description: "connect \(name): \(reason)")
        }
        var readTimeout = timeval(tv_sec: timeout, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &readTimeout, socklen_t(MemoryLayout<timeval>.size))
        return fd
    }

    deinit { close(fd) }

    /// Drops the connection without QUIT, like an MTA that died.
    public func drop() { shutdown(fd, Int32(SHUT_RDWR)) }

    /// True when the milter has closed the connection (a read sees end of file), waiting up to
    /// the read timeout for it.
    public func isClosedByMilter() -> Bool {
        var byte: UInt8 = 0
        return read(fd, &byte, 1) == 0
    }

    // MARK: Stages

    /// Every `SMFIP_NR_*` bit: the stages a milter may ask the MTA not to wait on.
    public static let noReplySteps: UInt32 = 0x80 | 0x1000 | 0x2000 | 0x4000 | 0x8000 | 0x10000 | 0x20000 | 0x40000 | 0x80000

    /// Offers `actions` and `steps` (by default everything, as Postfix 3 does) and records what
    /// the milter took: a stage it took without reply is then sent without waiting.
    public func negotiate(actions: UInt32 = 0x1FF, steps: UInt32 = 0x1F_FFFF) throws -> Negotiated {
        try send("O", Self.uint32(6) + Self.uint32(actions) + Self.uint32(steps))
        let (command, data) = try receive()
        guard command == UInt8(ascii: "O"), data.count >= 12 else { throw DriverError(description: "bad negotiation reply") }
        var macros: [UInt32: String] = [:]
        var offset = 12
        while offset + 4 < data.count {
            let stage = Self.readUInt32(data, offset)
            offset += 4
            let end = data[offset...].firstIndex(of: 0) ?? data.count
            macros[stage] = String(decoding: data[offset..<end], as: UTF8.self)
            offset = end + 1
        }
        let result = Negotiated(actions: Self.readUInt32(data, 4), steps: Self.readUInt32(data, 8), macros: macros)
        negotiated = result
        return result
    }

    /// Sends macro definitions for the stage about to be sent (`cmd` is its command letter).
    public func macros(_ command: Character, _ pairs: [(String, String)]) throws {
        var data = [UInt8(ascii: command.unicodeScalars.first!)]
        for (name, value) in pairs { data += Self.cString(name) + Self.cString(value) }
        try send("D", data)
    }

    public func connect(hostname: String, address: String, port: UInt16) throws -> Reply? {
        let data = Self.cString(hostname) + [UInt8(ascii: "4"), UInt8(port >> 8), UInt8(port & 0xFF)] + Self.cString(address)
        return try stage("C", data, skipBit: 0x01, noReplyBit: 0x1000)
    }

    public func helo(_ name: String) throws -> Reply? {
        try stage("H", Self.cString(name), skipBit: 0x02, noReplyBit: 0x2000)
    }

    public func mail(_ arguments: [[UInt8]]) throws -> Reply? {
        try stage("M", arguments.flatMap { $0 + [0] }, skipBit: 0x04, noReplyBit: 0x4000)
    }

    public func rcpt(_ arguments: [[UInt8]]) throws -> Reply? {
        try stage("R", arguments.flatMap { $0 + [0] }, skipBit: 0x08, noReplyBit: 0x8000)
    }

    public func header(_ name: String, _ value: [UInt8]) throws -> Reply? {
        try header(Array(name.utf8), value)
    }

    public func body(_ chunk: [UInt8]) throws -> Reply? {
        try stage("B", chunk, skipBit: 0x10, noReplyBit: 0x80000)
    }

    /// A header whose name is any bytes (not UTF-8, with spaces, ...).
    public func header(_ name: [UInt8], _ value: [UInt8]) throws -> Reply? {
        try stage("L", name + [0] + value + [0], skipBit: 0x20, noReplyBit: 0x80)
    }

    public func endOfHeaders() throws -> Reply? {
        try stage("N", [], skipBit: 0x40, noReplyBit: 0x40000)
    }

    /// Sends end of message and collects the changes up to the final reply.
    public func endOfMessage() throws -> (changes: [Change], reply: Reply) {
        try send("E", [])
        var changes: [Change] = []
        while true {
            let (command, data) = try receive()
            let strings = data.split(separator: 0, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
            switch command {
            case UInt8(ascii: "h"): changes.append(.addHeader(name: strings[0], value: strings[1]))
            case UInt8(ascii: "i"):
                let rest = Array(data[4...]).split(separator: 0, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
                changes.append(.insertHeader(index: Self.readUInt32(data, 0), name: rest[0], value: rest[1]))
            case UInt8(ascii: "m"):
                let rest = Array(data[4...]).split(separator: 0, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
                changes.append(.changeHeader(index: Self.readUInt32(data, 0), name: rest[0], value: rest[1]))
            case UInt8(ascii: "q"): changes.append(.quarantine(reason: strings[0]))
            case UInt8(ascii: "+"): changes.append(.addRecipient(strings[0]))
            case UInt8(ascii: "p"): continue
            default: return (changes, try Self.reply(command, data))
            }
        }
    }

    public func abort() throws { try send("A", []) }

    public func quit() throws { try send("Q", []) }

    // MARK: Framing

    private func stage(_ command: Character, _ data: [UInt8], skipBit: UInt32, noReplyBit: UInt32) throws -> Reply? {
        let steps = negotiated?.steps ?? 0
        if steps & skipBit != 0 { return nil }
        try send(command, data)
        if steps & noReplyBit != 0 { return nil }
        let (reply, payload) = try receive()
        return try Self.reply(reply, payload)
    }

    private static func reply(_ command: UInt8, _ data: [UInt8]) throws -> Reply {
        switch command {
        case UInt8(ascii: "c"): return .continue
        case UInt8(ascii: "a"): return .accept
        case UInt8(ascii: "r"): return .reject
        case UInt8(ascii: "t"): return .tempfail
        case UInt8(ascii: "d"): return .discard
        case UInt8(ascii: "s"): return .skip
        case UInt8(ascii: "y"): return .text(String(decoding: data.prefix { $0 != 0 }, as: UTF8.self))
        default: throw DriverError(description: "unexpected reply \(Character(Unicode.Scalar(command)))")
        }
    }

    public func send(_ command: Character, _ data: [UInt8]) throws {
        try sendRaw(Self.uint32(UInt32(data.count + 1)) + [UInt8(ascii: command.unicodeScalars.first!)] + data)
    }

    /// Writes bytes as they are, framed or not (half a packet, a lying length).
    public func sendRaw(_ packet: [UInt8]) throws {
        var offset = 0
        while offset < packet.count {
            let end = slowWrites.map { min(packet.count, offset + $0.bytes) } ?? packet.count
            let written = packet[offset..<end].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            guard written > 0 else { throw DriverError(description: "write failed: errno \(errno)") }
            offset += written
            if let slowWrites, offset < packet.count { Thread.sleep(forTimeInterval: Self.seconds(slowWrites.pause)) }
        }
    }

    public func receive() throws -> (UInt8, [UInt8]) {
        let header = try readExactly(4)
        let length = Int(Self.readUInt32(header, 0))
        guard length >= 1, length < 1 << 20 else { throw DriverError(description: "bad length \(length)") }
        let body = try readExactly(length)
        return (body[0], Array(body[1...]))
    }

    private func readExactly(_ count: Int) throws -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: count)
        var offset = 0
        while offset < count {
            let got = buffer[offset...].withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            guard got > 0 else { throw DriverError(description: "connection closed by milter (errno \(errno))") }
            offset += got
        }
        return buffer
    }

    public static func uint32(_ value: UInt32) -> [UInt8] {
        [UInt8(value >> 24), UInt8((value >> 16) & 0xFF), UInt8((value >> 8) & 0xFF), UInt8(value & 0xFF)]
    }

    public static func readUInt32(_ data: [UInt8], _ offset: Int) -> UInt32 {
        data[offset..<(offset + 4)].reduce(0) { $0 << 8 | UInt32($1) }
    }

    public static func cString(_ text: String) -> [UInt8] { Array(text.utf8) + [0] }

    static func seconds(_ duration: Duration) -> TimeInterval {
        TimeInterval(duration.components.seconds) + TimeInterval(duration.components.attoseconds) / 1e18
    }
}
