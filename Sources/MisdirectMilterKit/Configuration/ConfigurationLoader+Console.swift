import MisdirectionRisk
import Yams

/// The `console` section.
package extension NodeReader {
    /// `console: {…}` or `console: true` (the defaults); null or `false` is no console.
    func console(_ node: Node, key: String) throws(ConfigurationError) -> ConsoleConfiguration? {
        if ConfigurationLoader.isNull(node) { return nil }
        if case .scalar = node {
            return try bool(node, key: key) ? ConsoleConfiguration() : nil
        }
        var console = ConsoleConfiguration()
        var headerNode: Node?
        for (keyNode, value) in try mapping(node, key: key) {
            let name = try self.key(keyNode, of: .console, in: key)
            let path = "\(key).\(name)"
            switch name {
            case "listen":
                console.listen = try consoleListen(value, key: path)
            case "users_file":
                console.usersFile = try absolutePath(value, key: path, example: "/etc/misdirect-milter/console-users")
            case "proxy_user_header":
                if ConfigurationLoader.isNull(value) { console.proxyUserHeader = nil; continue }
                let header = try string(value, key: path)
                // An HTTP token (RFC 9110): what a header name may be.
                let symbols = Set("!#$%&'*+-.^_`|~".utf8)
                guard !header.isEmpty, header.utf8.allSatisfy({ ($0 < 0x80 && Character(UnicodeScalar($0)).isLetter) || (0x30...0x39).contains($0) || symbols.contains($0) }) else {
                    throw error(value, key: path, "\"\(header)\" is not a header name, such as X-Remote-User")
                }
                console.proxyUserHeader = header
                headerNode = value
            case "proxy_address":
                console.proxyAddress = ConfigurationLoader.isNull(value) ? nil : try string(value, key: path)
            case "secure_cookies":
                console.secureCookies = try bool(value, key: path)
            case "idle_timeout":
                console.idleTimeout = try duration(value, key: path)
            case "held_command":
                console.heldCommand = try command(value, key: path)
            case "audit_log":
                console.auditLog = try absolutePath(value, key: path, example: "/var/lib/misdirect-milter/console-audit.log")
            case "base_url":
                if ConfigurationLoader.isNull(value) { console.baseURL = nil; continue }
                var url = try string(value, key: path)
                guard url.hasPrefix("https://") || url.hasPrefix("http://"), url.count > 8, !url.contains(where: \.isWhitespace) else {
                    throw error(value, key: path, "\"\(url)\" is not an http or https address, such as https://mail-review.example.org")
                }
                while url.hasSuffix("/") { url.removeLast() }
                console.baseURL = url
            case "link_key_file":
                console.linkKeyFile = try absolutePath(value, key: path, example: "/var/lib/misdirect-milter/link-key")
            case "link_hours":
                console.linkHours = try count(value, key: path, minimum: 1, maximum: 24 * 30)
            case "notify_sender":
                console.notifySender = try ruleSet(value, key: path)
            default:
                throw notRead(keyNode, key: path)
            }
        }
        if let headerNode, console.proxyAddress == nil {
            throw error(headerNode, key: "\(key).proxy_user_header", "needs proxy_address, the only peer allowed to set it")
        }
        return console
    }

    private func consoleListen(_ node: Node, key: String) throws(ConfigurationError) -> ConsoleConfiguration.Listen {
        let text = try string(node, key: key)
        if text.hasPrefix("unix:") {
            let path = String(text.dropFirst(5))
            guard path.hasPrefix("/") else { throw error(node, key: key, "expected unix:/ABSOLUTE/PATH, such as unix:/run/misdirect-milter/console.sock") }
            return .unix(path: path)
        }
        do {
            let address = try MetricsAddress(parsing: text, served: "the console is")
            return .tcp(host: address.host, port: address.port)
        } catch {
            throw self.error(node, key: key, error.description)
        }
    }

    /// A command as a YAML list of words (no shell), the first an absolute path.
    private func command(_ node: Node, key: String) throws(ConfigurationError) -> [String] {
        guard case .sequence(let sequence) = node, !sequence.isEmpty else {
            throw error(node, key: key, "expected a list of words, such as [/usr/bin/sudo, -n, /usr/sbin/misdirect-milter, held]")
        }
        var words: [String] = []
        for item in sequence { words.append(try string(item, key: key)) }
        guard words[0].hasPrefix("/") else { throw error(node, key: key, "the command must start with an absolute path, not \"\(words[0])\"") }
        return words
    }

    private func ruleSet(_ node: Node, key: String) throws(ConfigurationError) -> Set<Rule> {
        if ConfigurationLoader.isNull(node) { return [] }
        guard case .sequence(let sequence) = node else {
            throw error(node, key: key, "expected a list of rule ids, such as [suffix-confusion, typo]")
        }
        var rules: Set<Rule> = []
        for item in sequence {
            let id = try string(item, key: key)
            guard let rule = Rule.all.first(where: { $0.id == id }) else {
                throw error(item, key: key, "unknown rule \"\(id)\"; expected one of \(Rule.all.map(\.id).joined(separator: ", "))")
            }
            rules.insert(rule)
        }
        return rules
    }
}
