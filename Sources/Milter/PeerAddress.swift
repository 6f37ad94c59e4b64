/// The address of the SMTP client, as the MTA reported it at connect.
public enum PeerAddress: Sendable, Equatable, CustomStringConvertible {
    /// An IPv4 client: dotted address and port.
    case inet(address: String, port: UInt16)
    /// An IPv6 client: textual address and port.
    case inet6(address: String, port: UInt16)
    /// A local (unix-domain) client, such as Postfix's `sendmail` pickup.
    case unix(path: String)

    public var description: String {
        switch self {
        case let .inet(address, port): "\(address):\(port)"
        case let .inet6(address, port): "[\(address)]:\(port)"
        case let .unix(path): "unix:\(path)"
        }
    }
}
