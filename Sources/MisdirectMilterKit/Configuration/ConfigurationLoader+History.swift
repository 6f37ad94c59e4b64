import CorrespondentHistory
import Foundation
import MisdirectionRisk
import Yams

/// The `history` section.
package extension NodeReader {
    /// `history: {…}`, `history: true` (the defaults) or null/`false` (off).
    func history(_ node: Node, key: String) throws(ConfigurationError) -> HistoryConfiguration? {
        if ConfigurationLoader.isNull(node) { return nil }
        if case .scalar = node {
            guard try bool(node, key: key) else { return nil }
            return HistoryConfiguration()
        }
        var history = HistoryConfiguration()
        var backendName: String?
        var backendNode: Node?
        var postgresql: PostgresCorrespondentStore.Settings?
        for (keyNode, value) in try mapping(node, key: key) {
            let name = try self.key(keyNode, of: .history, in: key)
            let path = "\(key).\(name)"
            switch name {
            case "backend":
                backendName = try string(value, key: path)
                backendNode = value
            case "state_directory":
                history.stateDirectory = try absolutePath(value, key: path, example: HistoryConfiguration.defaultStateDirectory)
            case "postgresql":
                postgresql = try postgresqlSettings(value, key: path)
            case "record":
                let text = try string(value, key: path)
                guard let scope = HistoryConfiguration.Scope(rawValue: text) else {
                    throw error(value, key: path, "unknown value \"\(text)\"; expected all or authenticated")
                }
                history.scope = scope
            case "addresses":
                history.addresses = try bool(value, key: path)
            case "decisions":
                history.decisions = try bool(value, key: path)
            case "address_key_file":
                history.addressKeyFile = try absolutePath(value, key: path, example: "/var/lib/misdirect-milter/address-key")
            case "established":
                history.threshold = try threshold(value, key: path)
            case "typo_ratio":
                history.typoRatio = try count(value, key: path, minimum: 0, maximum: HistoryConfiguration.maximumTypoRatio)
            case "retention_days":
                history.service.retentionDays = try count(value, key: path, minimum: 1)
            case "refresh_interval":
                history.service.refreshInterval = try duration(value, key: path)
            case "flush_interval":
                history.service.flushInterval = try duration(value, key: path)
            case "timeout":
                history.service.timeout = try duration(value, key: path)
            default:
                throw notRead(keyNode, key: path)
            }
        }
        switch backendName {
        case nil:
            if let postgresql { history.backend = .postgresql(postgresql) }
        case "sqlite":
            history.backend = .sqlite
        case "postgresql":
            history.backend = .postgresql(postgresql ?? PostgresCorrespondentStore.Settings())
        case let other?:
            throw error(backendNode!, key: "\(key).backend", "unknown backend \"\(other)\"; expected sqlite or postgresql")
        }
        if case .postgresql(var settings) = history.backend {
            settings.connectTimeout = history.service.timeout
            history.backend = .postgresql(settings)
        }
        return history
    }

    private func postgresqlSettings(_ node: Node, key: String) throws(ConfigurationError) -> PostgresCorrespondentStore.Settings {
        var settings = PostgresCorrespondentStore.Settings()
        var certificateNode: Node?
        var keyFileNode: Node?
        for (keyNode, value) in try mapping(node, key: key) {
            let name = try self.key(keyNode, of: .postgresql, in: key)
            let path = "\(key).\(name)"
            switch name {
            case "host":
                settings.host = try string(value, key: path)
            case "port":
                let port = try count(value, key: path, minimum: 1)
                guard port <= 65535 else { throw error(value, key: path, "\(port) is not a port number") }
                settings.port = port
            case "user":
                settings.user = try string(value, key: path)
            case "database":
                settings.database = try string(value, key: path)
            case "password_file":
                let file = try absolutePath(value, key: path, example: "/etc/misdirect-milter/postgresql-password")
                try refuseLoosePermissions(file, value, key: path)
                guard let data = FileManager.default.contents(atPath: file) else {
                    throw error(value, key: path, "cannot read \(file)")
                }
                var password = String(decoding: data, as: UTF8.self)
                while password.last?.isNewline == true { password.removeLast() }
                settings.password = password
            case "tls":
                let text = try string(value, key: path)
                guard let mode = PostgresCorrespondentStore.TLSMode(rawValue: text) else {
                    throw error(value, key: path, "unknown value \"\(text)\"; expected require (the default), prefer or disable")
                }
                settings.tls = mode
            case "ca_file":
                let file = try absolutePath(value, key: path, example: "/etc/misdirect-milter/postgresql-ca.pem")
                if let problem = PostgresCorrespondentStore.certificateProblem(file) { throw error(value, key: path, problem) }
                settings.caFile = file
            case "client_certificate":
                let file = try absolutePath(value, key: path, example: "/etc/misdirect-milter/postgresql-client.pem")
                if let problem = PostgresCorrespondentStore.certificateProblem(file) { throw error(value, key: path, problem) }
                settings.clientCertificate = file
                certificateNode = value
            case "client_key":
                let file = try absolutePath(value, key: path, example: "/etc/misdirect-milter/postgresql-client.key")
                try refuseLoosePermissions(file, value, key: path)
                if let problem = PostgresCorrespondentStore.privateKeyProblem(file) { throw error(value, key: path, problem) }
                settings.clientKey = file
                keyFileNode = value
            default:
                throw notRead(keyNode, key: path)
            }
        }
        if let certificateNode, keyFileNode == nil {
            throw error(certificateNode, key: "\(key).client_certificate", "needs client_key, the certificate's private key")
        }
        if let keyFileNode, certificateNode == nil {
            throw error(keyFileNode, key: "\(key).client_key", "needs client_certificate, the key's certificate")
        }
        return settings
    }

    /// Refuses a secret file that its group or others may read or write: a password or key
    /// anyone else on the host can read is no secret (libpq refuses them too).
    private func refuseLoosePermissions(_ file: String, _ node: Node, key: String) throws(ConfigurationError) {
        var status = stat()
        guard stat(file, &status) == 0 else {
            throw error(node, key: key, "cannot read \(file): \(String(cString: strerror(errno)))")
        }
        let mode = status.st_mode & 0o777
        guard mode & 0o077 == 0 else {
            throw error(node, key: key, "\(file) is mode \(String(mode, radix: 8)), open to its group or others; make it 600, owned by the user the milter runs as")
        }
    }

    private func threshold(_ node: Node, key: String) throws(ConfigurationError) -> EstablishedThreshold {
        var threshold = EstablishedThreshold()
        for (keyNode, value) in try mapping(node, key: key) {
            let name = try self.key(keyNode, of: .established, in: key)
            let path = "\(key).\(name)"
            switch name {
            case "messages": threshold.messages = try count(value, key: path, minimum: 1)
            case "days": threshold.days = try count(value, key: path, minimum: 1)
            default: throw notRead(keyNode, key: path)
            }
        }
        return threshold
    }

    /// A whole number, at least `minimum` and, when given, at most `maximum`.
    func count(_ node: Node, key: String, minimum: Int, maximum: Int? = nil) throws(ConfigurationError) -> Int {
        let text = try string(node, key: key)
        guard let value = Int(text), value >= minimum, value <= maximum ?? Int.max else {
            let range = maximum.map { "from \(minimum) to \($0)" } ?? "of at least \(minimum)"
            throw error(node, key: key, "\"\(text)\" is not a whole number \(range)")
        }
        return value
    }

    /// `500ms`, `2s`, `5m`, `1h`, or a number of seconds.
    func duration(_ node: Node, key: String) throws(ConfigurationError) -> Duration {
        let text = try string(node, key: key).trimmingCharacters(in: .whitespaces)
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)]
        var number = text
        var scale = 1.0
        for (unit, factor) in units where text.hasSuffix(unit) && Double(text.dropLast(unit.count)) != nil {
            number = String(text.dropLast(unit.count))
            scale = factor
            break
        }
        guard let value = Double(number), value > 0, value * scale <= 86_400 else {
            throw error(node, key: key, "\"\(text)\" is not a duration such as 500ms, 2s, 5m or 1h")
        }
        return .milliseconds(Int64((value * scale * 1000).rounded()))
    }
}
