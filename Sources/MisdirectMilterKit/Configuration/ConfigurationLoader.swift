import Foundation
import Logging
import Milter
import MisdirectionRisk
import Yams

/// Reads the YAML configuration, refusing anything it does not understand with the file, line
/// and key of the problem.
public enum ConfigurationLoader {
    /// Every key the file may hold, section by section: the loader refuses any other, and the
    /// tests hold the man page and the packaged file to it.
    package static let keys = ConfigurationKey.file

    /// Reads and parses the file at `path`.
    package static func load(path: String) throws(ConfigurationError) -> Configuration {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw ConfigurationError(file: path, line: nil, key: nil, message: "cannot read the file: \(Self.reason(error))")
        }
        guard let text = String(validating: data, as: UTF8.self) else {
            let valid = Self.validUTF8Prefix(data)
            let byte = data[data.startIndex + valid.utf8.count]
            let line = Self.line(at: valid.unicodeScalars.endIndex, in: valid)
            throw ConfigurationError(
                file: path, line: line, key: Self.topLevelKey(enclosing: line, in: valid),
                message: "not UTF-8 text (byte 0x\(String(byte, radix: 16, uppercase: true))); save the file as UTF-8")
        }
        return try parse(text, file: path)
    }

    /// Parses configuration text; `file` is only used in error messages.
    public static func parse(_ text: String, file: String) throws(ConfigurationError) -> Configuration {
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw Self.yamlError(error, file: file, yaml: text)
        } catch {
            throw ConfigurationError(file: file, line: nil, key: nil, message: "not valid YAML: \(error)")
        }
        var configuration = Configuration()
        guard let root, !Self.isNull(root) else { return configuration }
        let reader = NodeReader(file: file)
        for (keyNode, value) in try reader.mapping(root, key: nil) {
            let key = try reader.key(keyNode, of: keys, in: nil)
            switch key {
            case "socket":
                let spec = try reader.string(value, key: key)
                do {
                    configuration.socket = try MilterSocket(parsing: spec)
                } catch {
                    throw reader.error(value, key: key, error.detail)
                }
            case "socket_mode":
                let text = try reader.string(value, key: key)
                guard let mode = UInt32(text, radix: 8), mode <= 0o777 else {
                    throw reader.error(value, key: key, "\"\(text)\" is not an octal mode such as 660")
                }
                configuration.socketMode = mode
            case "socket_group":
                let name = try reader.string(value, key: key)
                guard let group = getgrnam(name) else {
                    throw reader.error(value, key: key, "no group called \"\(name)\" on this system")
                }
                configuration.socketGroup = name
                configuration.socketGroupID = group.pointee.gr_gid
            case "mode":
                let name = try reader.string(value, key: key)
                guard let mode = Mode(name: name) else {
                    throw reader.error(value, key: key, "unknown mode \"\(name)\"; expected enforce or log-only")
                }
                configuration.mode = mode
            case "protected":
                configuration.protectedDomains = try reader.domains(value, key: key)
            case "trusted":
                configuration.trustedDomains = try reader.domains(value, key: key)
            case "actions":
                configuration.actions = try reader.actions(value, key: key)
            case "review":
                configuration.review = try reader.review(value, key: key)
            case "sender_override":
                configuration.senderOverride = try reader.senderOverride(value, key: key)
            case "rules":
                configuration.rules = try reader.rules(value, key: key)
            case "history":
                configuration.history = try reader.history(value, key: key)
            case "public_suffix_list":
                configuration.publicSuffixListPath = try reader.string(value, key: key)
            case "log_level":
                let name = try reader.string(value, key: key)
                guard let level = Logger.Level(rawValue: name) else {
                    let names = Logger.Level.allCases.map(\.rawValue).joined(separator: ", ")
                    throw reader.error(value, key: key, "unknown log level \"\(name)\"; expected one of \(names)")
                }
                configuration.logLevel = level
            case "log_target":
                configuration.logTarget = try reader.logTarget(value, key: key)
            case "syslog_facility":
                configuration.syslogFacility = try reader.syslogFacility(value, key: key)
            case "syslog_socket":
                configuration.syslogSocket = try reader.absolutePath(value, key: key, example: "/dev/log")
            case "metrics_listen":
                configuration.metricsListen = try reader.metricsAddress(value, key: key)
            case "console":
                configuration.console = try reader.console(value, key: key)
            case "user":
                (configuration.user, configuration.userID) = try reader.user(value, key: key)
            case "group":
                (configuration.group, configuration.groupID) = try reader.group(value, key: key)
            default:
                throw reader.notRead(keyNode, key: key)
            }
        }
        return configuration
    }

    /// ", did you mean …?" for a key within two edits of a known one.
    package static func suggestion(for key: String, among known: [String]) -> String {
        let close = known.min { distance(key, $0) < distance(key, $1) }
        guard let close, distance(key, close) <= 2 else { return "; expected one of \(known.joined(separator: ", "))" }
        return "; did you mean \"\(close)\"?"
    }

    private static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        var row = Array(0...b.count)
        for i in 1...max(a.count, 1) where !a.isEmpty {
            var previous = row[0]
            row[0] = i
            for j in stride(from: 1, through: b.count, by: 1) {
                let saved = row[j]
                row[j] = min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1] == b[j - 1] ? 0 : 1))
                previous = saved
            }
        }
        return row[b.count]
    }

    package static func isNull(_ node: Node) -> Bool {
        if case .scalar(let scalar) = node, scalar.style == .plain, ["", "~", "null", "Null", "NULL"].contains(scalar.string) {
            return true
        }
        return false
    }

    private static func yamlError(_ error: YamlError, file: String, yaml text: String) -> ConfigurationError {
        switch error {
        case let .reader(problem, _, _, yaml):
            // libyaml reads up to the first character YAML does not allow (a control character,
            // U+FEFF inside the text, ...): name its line and code point.
            let scalars = yaml.unicodeScalars
            let start = scalars.first == "\u{FEFF}" ? scalars.index(after: scalars.startIndex) : scalars.startIndex
            let bad = scalars[start...].firstIndex { !isYAMLPrintable($0) }
            let shown = bad.map { " (U+\(String(format: "%04X", scalars[$0].value)))" } ?? ""
            let line = line(at: bad ?? scalars.endIndex, in: yaml)
            return ConfigurationError(
                file: file, line: line, key: topLevelKey(enclosing: line, in: yaml),
                message: "not valid YAML: \(problem)\(shown)")
        case let .scanner(_, problem, mark, yaml), let .parser(_, problem, mark, yaml), let .composer(_, problem, mark, yaml):
            return ConfigurationError(
                file: file, line: mark.line, key: topLevelKey(enclosing: mark.line, in: yaml),
                message: "not valid YAML: \(problem)")
        case let .duplicatedKeysInMapping(duplicates, context):
            let key = duplicates.first ?? ""
            let parent = topLevelKey(enclosing: context.mark.line, in: text)
            return ConfigurationError(
                file: file, line: context.mark.line, key: parent.map { $0 == key ? key : "\($0).\(key)" } ?? key,
                message: "key given more than once")
        default:
            return ConfigurationError(file: file, line: nil, key: nil, message: "not valid YAML: \(error)")
        }
    }

    private static func reason(_ error: any Error) -> String {
        let nsError = error as NSError
        if let underlying = nsError.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(underlying.code)))
        }
        return nsError.localizedDescription
    }
}

/// Typed access to YAML nodes, every failure located by line and key.
package struct NodeReader {
    package let file: String

    package func error(_ node: Node, key: String?, _ message: String) -> ConfigurationError {
        ConfigurationError(file: file, line: node.mark?.line, key: key, message: message)
    }

    /// The name of one of `section`'s keys; any other is refused, with a suggestion.
    /// - Parameters:
    ///   - parent: the dotted path of the section, nil for the top level.
    package func key(_ node: Node, of section: ConfigurationKey, in parent: String?) throws(ConfigurationError) -> String {
        let name = try string(node, key: parent)
        guard section[name] != nil else {
            let path = parent.map { "\($0).\(name)" } ?? name
            throw error(node, key: path, "unknown key\(ConfigurationLoader.suggestion(for: name, among: section.keyNames))")
        }
        return name
    }

    /// A key ``ConfigurationLoader/keys`` declares but the loader does not read: a bug, which the
    /// test loading the packaged file with every example uncommented finds.
    package func notRead(_ node: Node, key: String) -> ConfigurationError {
        error(node, key: key, "declared but never read: a bug in misdirect-milter")
    }

    package func mapping(_ node: Node, key: String?) throws(ConfigurationError) -> [(Node, Node)] {
        guard case .mapping(let mapping) = node else {
            throw error(node, key: key, key == nil ? "the file must be a mapping of keys to values" : "expected a mapping of keys to values")
        }
        return Array(mapping)
    }

    package func string(_ node: Node, key: String?) throws(ConfigurationError) -> String {
        guard case .scalar(let scalar) = node else {
            throw error(node, key: key, "expected a single value, not a list or mapping")
        }
        return scalar.string
    }

    /// `true`/`false` (also `yes`/`no`, `on`/`off`).
    package func bool(_ node: Node, key: String) throws(ConfigurationError) -> Bool {
        let text = try string(node, key: key)
        switch text.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: throw error(node, key: key, "\"\(text)\" is not true or false")
        }
    }

    /// A list of domains, each normalised and checked; null or an empty list gives none.
    package func domains(_ node: Node, key: String) throws(ConfigurationError) -> [String] {
        if ConfigurationLoader.isNull(node) { return [] }
        guard case .sequence(let sequence) = node else {
            throw error(node, key: key, "expected a list of domains, one per line starting with \"- \"")
        }
        var domains: [String] = []
        for item in sequence {
            let text = try string(item, key: key)
            let trimmed = text.hasPrefix(".") ? String(text.dropFirst()) : text
            switch EmailAddress.normalizeDomain(Array(trimmed.utf8)) {
            case .success(let domain) where !domain.hasPrefix("["):
                domains.append(domain)
            case .success:
                throw error(item, key: key, "\"\(text)\" is an address literal, not a domain")
            case .failure(let problem):
                throw error(item, key: key, "\"\(text)\" is not a domain: \(problem.reason)")
            }
        }
        return domains
    }

    /// The `review` section: `mailbox` (required), `relay`, `max_size`, `queue_size`.
    package func review(_ node: Node, key: String) throws(ConfigurationError) -> ReviewConfiguration? {
        if ConfigurationLoader.isNull(node) { return nil }
        var mailbox: EmailAddress?
        var relay: (String, UInt16)?
        var maxSize: Int?
        var queueSize: (Int, Node)?
        for (keyNode, value) in try mapping(node, key: key) {
            let name = try self.key(keyNode, of: .review, in: key)
            let path = "\(key).\(name)"
            switch name {
            case "mailbox":
                let text = try string(value, key: path)
                guard case .address(let address) = EmailAddress.parsePath(text.utf8), !address.isAddressLiteral else {
                    throw error(value, key: path, "\"\(text)\" is not an email address")
                }
                mailbox = address
            case "relay":
                let text = try string(value, key: path)
                guard let colon = text.lastIndex(of: ":"), let port = UInt16(text[text.index(after: colon)...]), port > 0 else {
                    throw error(value, key: path, "\"\(text)\" is not host:port, such as 127.0.0.1:25")
                }
                relay = (String(text[..<colon]).trimmingCharacters(in: CharacterSet(charactersIn: "[]")), port)
            case "max_size":
                let text = try string(value, key: path)
                guard let size = Int(text), size >= 0, size <= ReviewConfiguration.maximumMaxSize else {
                    throw error(value, key: path, "\"\(text)\" is not a size in bytes from 0 to \(ReviewConfiguration.maximumMaxSize)")
                }
                maxSize = size
            case "queue_size":
                let text = try string(value, key: path)
                guard let size = Int(text), size > 0, size <= 1 << 40 else { throw error(value, key: path, "\"\(text)\" is not a size in bytes") }
                queueSize = (size, value)
            default:
                throw notRead(keyNode, key: path)
            }
        }
        guard let mailbox else { throw error(node, key: key, "mailbox is required, such as review@example.org") }
        var review = ReviewConfiguration(mailbox: mailbox)
        if let relay { (review.relayHost, review.relayPort) = relay }
        if let maxSize { review.maxSize = maxSize }
        if let (size, node) = queueSize {
            // Room for at least one notice of the largest size (its headers come on top).
            guard size >= review.maxSize else {
                throw error(node, key: "\(key).queue_size", "\(size) is less than max_size (\(review.maxSize)): no held message of the largest size would fit")
            }
            review.queueSize = size
        }
        return review
    }

    /// `rule: {action: …, mode: …}` pairs, keyed by rule id.
    package func rules(_ node: Node, key: String) throws(ConfigurationError) -> [Rule: RulePolicy] {
        var rules: [Rule: RulePolicy] = [:]
        if ConfigurationLoader.isNull(node) { return rules }
        let ids = ConfigurationKey.rules.names
        for (ruleNode, settingsNode) in try mapping(node, key: key) {
            let id = try string(ruleNode, key: key)
            let path = "\(key).\(id)"
            guard let rule = Rule.all.first(where: { $0.id == id }) else {
                throw error(ruleNode, key: path, "unknown rule\(ConfigurationLoader.suggestion(for: id, among: ids))")
            }
            var policy = RulePolicy()
            for (settingNode, valueNode) in try mapping(settingsNode, key: path) {
                let setting = try self.key(settingNode, of: .rules, in: path)
                let settingPath = "\(path).\(setting)"
                let name = try string(valueNode, key: settingPath)
                switch setting {
                case "action":
                    guard let action = Action(name: name) else {
                        let names = Action.allCases.map(\.description).joined(separator: ", ")
                        throw error(valueNode, key: settingPath, "unknown action \"\(name)\"; expected one of \(names)")
                    }
                    policy.action = action
                case "mode":
                    guard let mode = Mode(name: name) else {
                        throw error(valueNode, key: settingPath, "unknown mode \"\(name)\"; expected enforce or log-only")
                    }
                    policy.mode = mode
                default:
                    throw notRead(settingNode, key: settingPath)
                }
            }
            rules[rule] = policy
        }
        return rules
    }

    /// `level: action` pairs on top of the defaults.
    package func actions(_ node: Node, key: String) throws(ConfigurationError) -> [RiskLevel: Action] {
        var actions = Policy.defaultActions
        if ConfigurationLoader.isNull(node) { return actions }
        for (levelNode, actionNode) in try mapping(node, key: key) {
            let levelName = try string(levelNode, key: key)
            let path = "\(key).\(levelName)"
            guard let level = RiskLevel(name: levelName) else {
                throw error(levelNode, key: path, "unknown risk level; expected none, low, medium or high")
            }
            let actionName = try string(actionNode, key: path)
            guard let action = Action(name: actionName) else {
                let names = Action.allCases.map(\.description).joined(separator: ", ")
                throw error(actionNode, key: path, "unknown action \"\(actionName)\"; expected one of \(names)")
            }
            actions[level] = action
        }
        return actions
    }
}
