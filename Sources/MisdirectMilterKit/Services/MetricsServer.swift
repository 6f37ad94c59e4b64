import Foundation
import ServiceLifecycle

/// Where `metrics_listen` serves: a loopback address and a port.
///
/// Only loopback addresses are accepted: the metrics say how much mail goes where, which is for
/// the host's own Prometheus (or an agent that forwards) and not for the network.
package struct MetricsAddress: Sendable, Equatable, CustomStringConvertible {
    package let host: String
    package let port: UInt16
    package let isIPv6: Bool

    package struct Problem: Error, CustomStringConvertible {
        package let description: String
    }

    /// Parses `127.0.0.1:9897`, `[::1]:9897` or `localhost:9897`; `served` names what listens
    /// there in the error for an address off loopback.
    package init(parsing text: String, served: String = "metrics are") throws(Problem) {
        let host: String, portText: Substring
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            host = String(text[text.index(after: text.startIndex)..<close])
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else { throw Problem(description: "\"\(text)\": expected [ADDRESS]:PORT") }
            portText = rest.dropFirst()
        } else if let colon = text.lastIndex(of: ":"), !text[..<colon].contains(":") {
            host = String(text[..<colon])
            portText = text[text.index(after: colon)...]
        } else {
            throw Problem(description: "\"\(text)\": expected HOST:PORT on a loopback address, such as 127.0.0.1:9897")
        }
        guard let port = UInt16(portText), port > 0 else {
            throw Problem(description: "\"\(text)\": the port must be a number from 1 to 65535")
        }
        let resolved = host == "localhost" ? "127.0.0.1" : host
        var v4 = in_addr(), v6 = in6_addr()
        if inet_pton(AF_INET, resolved, &v4) == 1 {
            guard UInt32(bigEndian: v4.s_addr) >> 24 == 127 else {
                throw Problem(description: "\"\(text)\": \(served) served on loopback only (127.0.0.0/8 or [::1])")
            }
            self.isIPv6 = false
        } else if inet_pton(AF_INET6, resolved, &v6) == 1 {
            let loopback = withUnsafeBytes(of: v6) { Array($0) } == Array(repeating: 0, count: 15) + [1]
            guard loopback else {
                throw Problem(description: "\"\(text)\": \(served) served on loopback only (127.0.0.0/8 or [::1])")
            }
            self.isIPv6 = true
        } else {
            throw Problem(description: "\"\(text)\": \"\(host)\" is not an IP address (use 127.0.0.1 or [::1])")
        }
        self.host = resolved
        self.port = port
    }

    package var description: String { isIPv6 ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

/// A minimal HTTP/1.x responder for Prometheus scrapes: `GET /metrics` on a loopback address,
/// one connection at a time on a thread of its own, `Connection: close`. No SwiftNIO: a scrape
/// every few seconds needs nothing more, and it stays out of the milter's threads.
final package class MetricsServer: Service, Sendable {
    package struct Failure: Error, CustomStringConvertible {
        package let description: String
    }

    package let address: MetricsAddress
    private let listener: Int32
    private let render: @Sendable () -> [UInt8]

    /// Binds the address now (before privileges are dropped); ``run()`` serves.
    package init(address: MetricsAddress, render: @escaping @Sendable () -> [UInt8]) throws(Failure) {
        self.address = address
        self.render = render
        var hints = addrinfo()
        hints.ai_family = address.isIPv6 ? AF_INET6 : AF_INET
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(address.host, String(address.port), &hints, &result) == 0, let info = result else {
            throw Failure(description: "cannot use \(address)")
        }
        defer { freeaddrinfo(result) }
        let fd = socket(info.pointee.ai_family, info.pointee.ai_socktype | Int32(SOCK_CLOEXEC.rawValue), info.pointee.ai_protocol)
        guard fd >= 0 else { throw Failure(description: "socket: \(String(cString: strerror(errno)))") }
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        guard bind(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0, listen(fd, 16) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw Failure(description: "cannot listen on \(address): \(reason)")
        }
        listener = fd
    }

    /// Serves scrapes until a graceful shutdown, then stops listening. `accept` blocks, so the
    /// scrapes are answered on a thread of their own, which ends when the listener is shut down.
    package func run() async {
        start()
        try? await gracefulShutdown()
        shutdown(listener, Int32(SHUT_RDWR))
    }

    private func start() {
        let thread = Thread { [self] in
            while true {
                let client = accept(listener, nil, nil)
                if client < 0 {
                    if errno == EINTR || errno == ECONNABORTED || errno == EMFILE || errno == ENFILE { usleep(10_000); continue }
                    return
                }
                respond(client)
                close(client)
            }
        }
        thread.name = "metrics"
        thread.start()
    }

    /// Reads one request (at most 8 KiB, 2 s) and answers it.
    private func respond(_ client: Int32) {
        var timeout = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(client, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var request: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 2048)
        while request.count < 8192, !Self.hasHeaderEnd(request) {
            let count = buffer.withUnsafeMutableBytes { recv(client, $0.baseAddress, $0.count, 0) }
            if count <= 0 { break }
            request += buffer[0..<count]
        }
        let line = request.split(separator: UInt8(ascii: "\r"), maxSplits: 1).first.map { String(decoding: $0, as: UTF8.self) } ?? ""
        let parts = line.split(separator: " ")
        let response: [UInt8]
        if parts.count < 2 || !Self.hasHeaderEnd(request) {
            response = Self.response(status: "400 Bad Request", body: Array("bad request\n".utf8))
        } else if parts[0] != "GET" && parts[0] != "HEAD" {
            response = Self.response(status: "405 Method Not Allowed", body: Array("GET /metrics\n".utf8), extra: "Allow: GET, HEAD\r\n")
        } else if parts[1].split(separator: "?").first == "/metrics" {
            response = Self.response(
                status: "200 OK", body: render(), contentType: "text/plain; version=0.0.4; charset=utf-8", head: parts[0] == "HEAD")
        } else {
            response = Self.response(status: "404 Not Found", body: Array("misdirect-milter serves GET /metrics\n".utf8))
        }
        var offset = 0
        while offset < response.count {
            let sent = response[offset...].withUnsafeBytes { send(client, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if sent <= 0 { if errno == EINTR { continue }; return }
            offset += sent
        }
    }

    private static func hasHeaderEnd(_ bytes: [UInt8]) -> Bool {
        guard bytes.count >= 2 else { return false }
        if bytes.count >= 4 {
            for i in 0...(bytes.count - 4) where bytes[i] == 13 && bytes[i + 1] == 10 && bytes[i + 2] == 13 && bytes[i + 3] == 10 {
                return true
            }
        }
        return bytes[bytes.count - 2] == 10 && bytes[bytes.count - 1] == 10
    }

    private static func response(status: String, body: [UInt8], contentType: String = "text/plain; charset=utf-8", extra: String = "", head: Bool = false) -> [UInt8] {
        let header = "HTTP/1.1 \(status)\r\nContent-Type: \(contentType)\r\nContent-Length: \(body.count)\r\nConnection: close\r\n\(extra)\r\n"
        return Array(header.utf8) + (head ? [] : body)
    }
}
