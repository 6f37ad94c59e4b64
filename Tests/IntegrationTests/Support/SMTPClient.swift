import Foundation

/// A bare SMTP client for tests that need to act between commands (signal the milter while a
/// transaction is open), which swaks cannot.
final class SMTPClient {
    private let fd: Int32
    private var buffer: [UInt8] = []

    init(port: UInt16) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = port.bigEndian
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw Command.Failure(description: "cannot connect to port \(port)") }
        var timeout = timeval(tv_sec: 30, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(fd) }

    /// Reads one reply (all its lines) and returns its code and last line.
    func reply() throws -> (code: Int, text: String) {
        while true {
            let line = try readLine()
            if line.count < 4 || line[line.index(line.startIndex, offsetBy: 3)] != "-" {
                return (Int(line.prefix(3)) ?? 0, line)
            }
        }
    }

    /// Sends a command line and reads the reply.
    @discardableResult
    func command(_ line: String) throws -> (code: Int, text: String) {
        try write(line + "\r\n")
        return try reply()
    }

    func write(_ text: String) throws {
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard sent > 0 else { throw Command.Failure(description: "SMTP connection closed while writing") }
            offset += sent
        }
    }

    private func readLine() throws -> String {
        while true {
            if let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: buffer[..<newline], as: UTF8.self).trimmingCharacters(in: .newlines)
                buffer.removeSubrange(...newline)
                return line
            }
            var chunk = [UInt8](repeating: 0, count: 4096)
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { throw Command.Failure(description: "SMTP connection closed while reading") }
            buffer += chunk[0..<count]
        }
    }
}
