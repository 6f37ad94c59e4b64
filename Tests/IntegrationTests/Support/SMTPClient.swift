import Foundation

/// A plain SMTP client over loopback TCP that sends exactly the bytes it is given: for tests
/// that act between commands (signal the milter while a transaction is open), for what swaks
/// will not send (NUL, bare LF, 8-bit addresses, source routes), and for clients that stall or
/// vanish mid-message.
final class SMTPClient {
    /// One SMTP reply: its code and its lines' text, joined with `\n`.
    struct Reply: CustomStringConvertible {
        let code: Int
        let text: String
        var description: String { "\(code) \(text)" }
    }

    private let fd: Int32
    private var buffer: [UInt8] = []

    /// Connects; the greeting is left to read with ``reply()`` (``envelope(from:to:mailParameters:)``
    /// reads it).
    init(port: UInt16, timeout: Int = 30) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = port.bigEndian
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Foundation.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
        guard connected else {
            close(fd)
            throw Command.Failure(description: "cannot connect to 127.0.0.1:\(port): errno \(errno)")
        }
        var readTimeout = timeval(tv_sec: timeout, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &readTimeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(fd) }

    /// Sends one command line (CR LF is added) and reads the reply.
    @discardableResult
    func command(_ line: String) throws -> Reply {
        try command(Array(line.utf8))
    }

    /// Sends one command line given as bytes (CR LF is added) and reads the reply.
    @discardableResult
    func command(_ line: [UInt8]) throws -> Reply {
        try send(line + [0x0D, 0x0A])
        return try reply()
    }

    /// The greeting, EHLO, MAIL FROM and each RCPT TO; returns the replies to the recipients.
    func envelope(from sender: String = "<alice@example.org>", to recipients: [[UInt8]], mailParameters: String = "") throws -> [Reply] {
        let greeting = try reply()
        guard greeting.code == 220 else { throw Command.Failure(description: "greeting: \(greeting)") }
        let ehlo = try command("EHLO client.test.localdomain")
        guard ehlo.code == 250 else { throw Command.Failure(description: "EHLO: \(ehlo)") }
        let mail = try command("MAIL FROM:\(sender)\(mailParameters)")
        guard mail.code == 250 else { throw Command.Failure(description: "MAIL: \(mail)") }
        return try recipients.map { try command(Array("RCPT TO:".utf8) + $0) }
    }

    /// DATA, the message (dot-stuffed, lines ended with CR LF), and the final dot; returns the
    /// reply to the end of data.
    func data(_ message: [UInt8]) throws -> Reply {
        let start = try command("DATA")
        guard start.code == 354 else { return start }
        var body: [UInt8] = []
        for line in message.split(separator: 0x0A, omittingEmptySubsequences: false) {
            var line = Array(line)
            if line.last == 0x0D { line.removeLast() }
            if line.first == UInt8(ascii: ".") { body.append(UInt8(ascii: ".")) }
            body += line + [0x0D, 0x0A]
        }
        try send(body + Array(".\r\n".utf8))
        return try reply()
    }

    /// A message with these headers (each `Name: value`, as bytes) and a short body.
    static func message(subject: String, headers: [[UInt8]] = []) -> [UInt8] {
        var text = Array("From: alice@example.org\nSubject: \(subject)\n".utf8)
        for header in headers { text += header + [0x0A] }
        return text + Array("\nTest message.\n".utf8)
    }

    /// Writes raw bytes.
    func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            // MSG_NOSIGNAL: a server that hung up must fail the test, not kill it with SIGPIPE.
            let written = bytes[offset...].withUnsafeBytes { Foundation.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard written > 0 else { throw Command.Failure(description: "write failed: errno \(errno)") }
            offset += written
        }
    }

    /// Reads one reply, multi-line replies joined.
    func reply() throws -> Reply {
        var lines: [String] = []
        while true {
            let line = try readLine()
            let bytes = Array(line.utf8)
            guard bytes.count >= 3, let code = Int(String(decoding: bytes.prefix(3), as: UTF8.self)) else {
                throw Command.Failure(description: "not an SMTP reply: \(line)")
            }
            lines.append(String(line.dropFirst(4)))
            if bytes.count == 3 || bytes[3] == UInt8(ascii: " ") { return Reply(code: code, text: lines.joined(separator: "\n")) }
        }
    }

    /// Closes the connection without QUIT.
    func drop() { shutdown(fd, Int32(SHUT_RDWR)) }

    /// True when the server closed the connection, waiting up to the read timeout.
    func isClosedByServer() -> Bool {
        while (try? readLine()) != nil {}
        return true
    }

    private func readLine() throws -> String {
        while true {
            if let end = buffer.firstIndex(of: 0x0A) {
                var line = Array(buffer[..<end])
                buffer.removeFirst(end + 1)
                if line.last == 0x0D { line.removeLast() }
                return String(decoding: line, as: UTF8.self)
            }
            var chunk = [UInt8](repeating: 0, count: 4096)
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            guard count > 0 else { throw Command.Failure(description: "connection closed (errno \(errno))") }
            buffer += chunk[..<count]
        }
    }
}
