import Foundation

/// A minimal SMTP client for one message over a fresh TCP connection (no TLS, no AUTH): enough
/// to hand a notice to the local MTA's loopback listener.
package struct SMTPClient {
    package struct Failure: Error, CustomStringConvertible {
        package let description: String
    }

    private let fd: Int32

    package init(host: String, port: UInt16, timeout: Int = 30) throws {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &result) == 0, let first = result else {
            throw Failure(description: "cannot resolve \(host)")
        }
        defer { freeaddrinfo(result) }
        let fd = socket(first.pointee.ai_family, first.pointee.ai_socktype, first.pointee.ai_protocol)
        guard fd >= 0 else { throw Failure(description: "socket: \(String(cString: strerror(errno)))") }
        var limit = timeval(tv_sec: timeout, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        guard connect(fd, first.pointee.ai_addr, first.pointee.ai_addrlen) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw Failure(description: "connect to \(host):\(port): \(reason)")
        }
        self.fd = fd
    }

    /// Sends one message and closes the connection.
    /// - Parameters:
    ///   - from: the envelope sender; empty for the null sender of a notification.
    ///   - data: the message, CRLF line ends; dot-stuffed here.
    package func send(from: String, to: String, data: [UInt8], helo: String) throws {
        defer { close(fd) }
        var reader = ReplyReader(fd: fd)
        try expect(&reader, 2)
        try command("EHLO \(helo)", &reader, 2)
        try command("MAIL FROM:<\(from)>", &reader, 2)
        try command("RCPT TO:<\(to)>", &reader, 2)
        try command("DATA", &reader, 3)
        var stuffed: [UInt8] = []
        stuffed.reserveCapacity(data.count + 64)
        var atLineStart = true
        for byte in data {
            if atLineStart && byte == UInt8(ascii: ".") { stuffed.append(byte) }
            stuffed.append(byte)
            atLineStart = byte == 10
        }
        if !atLineStart { stuffed += [13, 10] }
        try write(stuffed + Array(".\r\n".utf8))
        try expect(&reader, 2)
        try? write(Array("QUIT\r\n".utf8))
    }

    private func command(_ line: String, _ reader: inout ReplyReader, _ expected: Int) throws {
        try write(Array((line + "\r\n").utf8))
        try expect(&reader, expected)
    }

    private func expect(_ reader: inout ReplyReader, _ expected: Int) throws {
        let (code, text) = try reader.reply()
        guard code / 100 == expected else { throw Failure(description: "server replied \(code) \(text)") }
    }

    private func write(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { Foundation.write(fd, $0.baseAddress, $0.count) }
            guard written > 0 else { throw Failure(description: "write: \(String(cString: strerror(errno)))") }
            offset += written
        }
    }

    /// Reads SMTP replies, multi-line ones included.
    package struct ReplyReader {
        package let fd: Int32
        package var buffer: [UInt8] = []

        package mutating func reply() throws -> (Int, String) {
            var lines: [String] = []
            while true {
                let line = try readLine()
                lines.append(line)
                let bytes = Array(line.utf8)
                if bytes.count < 4 || bytes[3] != UInt8(ascii: "-") {
                    return (Int(line.prefix(3)) ?? 0, lines.joined(separator: " / "))
                }
            }
        }

        private mutating func readLine() throws -> String {
            while true {
                if let newline = buffer.firstIndex(of: 10) {
                    let line = buffer[..<newline].filter { $0 != 13 }
                    buffer.removeSubrange(...newline)
                    return String(decoding: line, as: UTF8.self)
                }
                var chunk = [UInt8](repeating: 0, count: 4096)
                let count = read(fd, &chunk, chunk.count)
                guard count > 0 else { throw Failure(description: "connection closed while waiting for a reply") }
                buffer += chunk[..<count]
            }
        }
    }
}
