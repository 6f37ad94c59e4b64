import MisdirectionRisk

/// The `console` section: the review console (`misdirect-milter console`) and the signed links
/// the review notices carry. Absent, there is no console and notices carry no links.
package struct ConsoleConfiguration: Sendable, Equatable {
    /// Where the console listens.
    package enum Listen: Sendable, Equatable, CustomStringConvertible {
        case tcp(host: String, port: UInt16)
        case unix(path: String)

        package var description: String {
            switch self {
            case let .tcp(host, port): host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
            case let .unix(path): "unix:\(path)"
            }
        }
    }

    package static let defaultStateDirectory = "/var/lib/misdirect-milter"

    /// `console.listen`: a loopback `HOST:PORT`, or `unix:PATH`, behind the site's reverse proxy.
    package var listen = Listen.tcp(host: "127.0.0.1", port: 8026)
    /// `console.users_file`: `name:bcrypt-hash` lines, written by `console passwd`.
    package var usersFile = "/etc/misdirect-milter/console-users"
    /// `console.proxy_user_header`: a header naming the signed-in user, set by the reverse proxy
    /// after its own login; trusted only on connections from ``proxyAddress``.
    package var proxyUserHeader: String?
    /// `console.proxy_address`: the reverse proxy's address, the only peer whose user header counts.
    package var proxyAddress: String?
    /// `console.secure_cookies`: the `Secure` cookie attribute (on: the proxy speaks TLS).
    package var secureCookies = true
    /// `console.idle_timeout`: a session unused this long is signed out.
    package var idleTimeout: Duration = .seconds(30 * 60)
    /// `console.held_command`: the `held` command the console runs to list, show, release and
    /// drop (it runs unprivileged; the package's sudoers drop-in allows exactly these).
    package var heldCommand = ["/usr/bin/sudo", "-n", "/usr/sbin/misdirect-milter", "held"]
    /// `console.audit_log`: one logfmt line per release, drop, link use and sign-in.
    package var auditLog = "\(defaultStateDirectory)/console-audit.log"
    /// `console.base_url`: the console's address as reviewers reach it; when set, review
    /// notices carry signed Release and Drop links.
    package var baseURL: String?
    /// `console.link_key_file`: the key links are signed with (32 random bytes, made on first use).
    package var linkKeyFile = "\(defaultStateDirectory)/link-key"
    /// `console.link_hours`: how long a link works.
    package var linkHours = 72
    /// `console.notify_sender`: rules whose held messages also send their authenticated sender
    /// a notice with "Send anyway" and "Don't send" links. Empty (the default): none.
    package var notifySender: Set<Rule> = []

    /// The ledger of used links, beside the audit log.
    package var usedLinksFile: String {
        let directory = auditLog.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
        return (directory.isEmpty ? "" : directory) + "/console-used-links"
    }

    package init() {}
}
