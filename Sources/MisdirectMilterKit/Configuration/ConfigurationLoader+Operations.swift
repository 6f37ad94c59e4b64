import Foundation
import Yams

/// The keys of running the milter: logging, metrics, privileges, the sender override.
package extension NodeReader {
    func logTarget(_ node: Node, key: String) throws(ConfigurationError) -> LogTarget {
        let name = try string(node, key: key)
        guard let target = LogTarget(rawValue: name) else {
            throw error(node, key: key, "unknown log target \"\(name)\"; expected syslog, stderr or json")
        }
        return target
    }

    func syslogFacility(_ node: Node, key: String) throws(ConfigurationError) -> SyslogFacility {
        let name = try string(node, key: key)
        guard let facility = SyslogFacility(name: name) else {
            throw error(node, key: key, "unknown facility \"\(name)\"; expected one of \(SyslogFacility.all.map(\.name).joined(separator: ", "))")
        }
        return facility
    }

    func absolutePath(_ node: Node, key: String, example: String) throws(ConfigurationError) -> String {
        let path = try string(node, key: key)
        guard path.hasPrefix("/") else { throw error(node, key: key, "expected an absolute path such as \(example)") }
        return path
    }

    /// A loopback `HOST:PORT`, or nil for null.
    func metricsAddress(_ node: Node, key: String) throws(ConfigurationError) -> MetricsAddress? {
        if ConfigurationLoader.isNull(node) { return nil }
        let text = try string(node, key: key)
        do {
            return try MetricsAddress(parsing: text)
        } catch {
            throw self.error(node, key: key, error.description)
        }
    }

    /// A user by name, with its uid and primary gid, looked up now so a typo is caught by
    /// `config check`.
    func user(_ node: Node, key: String) throws(ConfigurationError) -> (String, (uid: UInt32, gid: UInt32)) {
        let name = try string(node, key: key)
        guard let entry = getpwnam(name) else { throw error(node, key: key, "no user called \"\(name)\" on this system") }
        return (name, (entry.pointee.pw_uid, entry.pointee.pw_gid))
    }

    func group(_ node: Node, key: String) throws(ConfigurationError) -> (String, UInt32) {
        let name = try string(node, key: key)
        guard let entry = getgrnam(name) else { throw error(node, key: key, "no group called \"\(name)\" on this system") }
        return (name, entry.pointee.gr_gid)
    }

    /// `sender_override: {}` (the default header) or `{header: NAME}`; null or `false` is off.
    func senderOverride(_ node: Node, key: String) throws(ConfigurationError) -> SenderOverride? {
        if ConfigurationLoader.isNull(node) { return nil }
        if case .scalar(let scalar) = node {
            switch scalar.string {
            case "false", "no", "off": return nil
            case "true", "yes", "on": return SenderOverride()
            default: throw error(node, key: key, "expected true, false or a mapping such as {header: X-Misdirection-Override}")
            }
        }
        var override = SenderOverride()
        for (keyNode, value) in try mapping(node, key: key) {
            let name = try self.key(keyNode, of: .senderOverride, in: key)
            let path = "\(key).\(name)"
            guard name == "header" else { throw notRead(keyNode, key: path) }
            let header = try string(value, key: path)
            guard !header.isEmpty, header.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: ":") }),
                  header.lowercased() != "x-misdirection-risk"
            else {
                throw error(value, key: path, "\"\(header)\" is not a header name one can use here")
            }
            if let standard = Self.standardHeader(header) {
                throw error(value, key: path, "\"\(header)\" is \(standard): it would be removed from every message; use a header of your own such as X-Misdirection-Override")
            }
            override.header = header
        }
        return override
    }

    /// Header fields of RFC 5322 (and its trace and resent fields), MIME and the usual
    /// transport headers: none may be the override header, which is stripped from every message.
    static let standardHeaders: Set<String> = [
        "date", "from", "sender", "reply-to", "to", "cc", "bcc", "message-id", "in-reply-to", "references",
        "subject", "comments", "keywords", "return-path", "received", "mime-version",
        "dkim-signature", "domainkey-signature", "authentication-results", "received-spf", "delivered-to",
        "disposition-notification-to", "return-receipt-to", "errors-to", "organization", "precedence",
        "auto-submitted", "importance", "priority", "sensitivity", "thread-topic", "thread-index",
        "autocrypt", "openpgp", "user-agent", "archived-at", "original-recipient", "require-recipient-valid-since",
    ]
    /// Prefixes of standard families: `Resent-*` (RFC 5322), `Content-*` (MIME), `List-*`
    /// (RFC 2369/2919), `ARC-*` (RFC 8617).
    static let standardHeaderPrefixes = ["resent-", "content-", "list-", "arc-"]

    /// What makes `name` a standard header, or nil for a name of one's own.
    static func standardHeader(_ name: String) -> String? {
        let lower = name.lowercased()
        if standardHeaders.contains(lower) { return "a standard header" }
        if let prefix = standardHeaderPrefixes.first(where: { lower.hasPrefix($0) }) {
            return "in the standard \(prefix.prefix(1).uppercased() + prefix.dropFirst())* family"
        }
        return nil
    }

}
