/// Where the milter listens, in libmilter's syntax: `inet:PORT@HOST`, `inet6:PORT@HOST`,
/// `unix:/path` (also `local:/path`).
///
/// Postfix writes the same TCP socket as `inet:HOST:PORT` in `smtpd_milters`; that form is
/// refused here with a message showing the libmilter spelling, since mixing them up is common.
public enum MilterSocket: Sendable, Equatable, CustomStringConvertible {
    /// TCP over IPv4; a nil host listens on every address.
    case inet(port: UInt16, host: String?)
    /// TCP over IPv6; a nil host listens on every address.
    case inet6(port: UInt16, host: String?)
    /// A unix-domain socket at an absolute path.
    case unix(path: String)

    /// Parses a libmilter socket specification.
    /// - Throws: ``MilterError/invalidSocket`` with what is wrong and, for Postfix's spelling,
    ///   the libmilter one.
    public init(parsing spec: String) throws(MilterError) {
        guard let colon = spec.firstIndex(of: ":") else {
            if spec.hasPrefix("/") { self = .unix(path: try Self.unixPath(spec, spec: spec)); return }
            throw MilterError(.invalidSocket, "\"\(spec)\": expected inet:PORT@HOST, inet6:PORT@HOST or unix:/path")
        }
        let scheme = spec[..<colon].lowercased()
        let rest = String(spec[spec.index(after: colon)...])
        switch scheme {
        case "unix", "local":
            self = .unix(path: try Self.unixPath(rest, spec: spec))
        case "inet", "inet6":
            let (portText, host) = Self.splitPortHost(rest)
            guard let port = UInt16(portText), port > 0 else {
                if let lastColon = rest.lastIndex(of: ":"), UInt16(rest[rest.index(after: lastColon)...]) != nil {
                    let suggested = "\(scheme):\(rest[rest.index(after: lastColon)...])@\(rest[..<lastColon])"
                    throw MilterError(.invalidSocket, "\"\(spec)\" is Postfix's spelling; libmilter writes \(suggested)")
                }
                throw MilterError(.invalidSocket, "\"\(spec)\": the port must be a number from 1 to 65535, as in \(scheme):8894@127.0.0.1")
            }
            if let host, host.isEmpty || host.contains(where: { $0.isWhitespace }) {
                throw MilterError(.invalidSocket, "\"\(spec)\": empty or invalid host after @")
            }
            self = scheme == "inet" ? .inet(port: port, host: host) : .inet6(port: port, host: host)
        default:
            throw MilterError(.invalidSocket, "\"\(spec)\": unknown kind \"\(scheme)\"; use inet, inet6 or unix")
        }
    }

    private static func splitPortHost(_ text: String) -> (port: String, host: String?) {
        guard let at = text.firstIndex(of: "@") else { return (text, nil) }
        return (String(text[..<at]), String(text[text.index(after: at)...]))
    }

    /// The specification in libmilter's syntax, as `smfi_setconn` takes it.
    /// The path of a unix socket: absolute, naming a file.
    private static func unixPath(_ path: String, spec: String) throws(MilterError) -> String {
        guard path.hasPrefix("/"), !path.hasSuffix("/"), !path.utf8.contains(0) else {
            throw MilterError(.invalidSocket, "\"\(spec)\": a unix socket needs an absolute path to a file")
        }
        return path
    }

    public var description: String {
        switch self {
        case let .inet(port, host): host.map { "inet:\(port)@\($0)" } ?? "inet:\(port)"
        case let .inet6(port, host): host.map { "inet6:\(port)@\($0)" } ?? "inet6:\(port)"
        case let .unix(path): "unix:\(path)"
        }
    }

    /// The same socket as Postfix's `smtpd_milters` writes it.
    public var postfixSyntax: String {
        switch self {
        case let .inet(port, host): "inet:\(host ?? "127.0.0.1"):\(port)"
        case let .inet6(port, host): "inet:[\(host ?? "::1")]:\(port)"
        case let .unix(path): "unix:\(path)"
        }
    }
}
