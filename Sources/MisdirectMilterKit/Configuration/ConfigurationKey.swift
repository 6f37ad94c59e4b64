import CorrespondentHistory
import Logging
import MisdirectionRisk

/// A key of the configuration file: the keys of a section under it, or the values it takes.
///
/// ``ConfigurationLoader/keys`` is the one declaration of every key: the loader refuses any key
/// it does not list, and the tests hold `misdirect-milter.yml(5)` and the packaged file to it.
package struct ConfigurationKey: Sendable {
    /// The key as written in the file (`history`, `backend`); empty for the file itself.
    package let name: String
    /// A section's keys, in the order the reference gives them. For a table (non-empty
    /// ``names``), the keys of each entry.
    package let keys: [ConfigurationKey]
    /// For a table keyed by names the program defines (`actions` by risk level, `rules` by rule
    /// id): those names. Each entry holds the ``keys`` (a section) or one of the ``values``.
    package let names: [String]
    /// The values the key (or each entry of a table) takes when they are a fixed set, as
    /// `enforce` and `log-only` for `mode`; empty when any value of the right kind will do.
    package let values: [String]

    package init(_ name: String, keys: [ConfigurationKey] = [], names: [String] = [], values: [String] = []) {
        self.name = name
        self.keys = keys
        self.names = names
        self.values = values
    }

    /// The key of this section called `name`, if it has one.
    package subscript(name: String) -> ConfigurationKey? { keys.first { $0.name == name } }

    /// The names of this section's keys, for checking and for suggestions.
    package var keyNames: [String] { keys.map(\.name) }
}

package extension ConfigurationKey {
    /// `review`: where held and tagged mail is sent for review.
    static let review = ConfigurationKey("review", keys: [.init("mailbox"), .init("relay"), .init("max_size"), .init("queue_size")])

    /// `sender_override`: the header an authenticated sender confirms a refused recipient in.
    static let senderOverride = ConfigurationKey("sender_override", keys: [.init("header")])

    /// `rules`: per rule id, an `action` and a `mode`.
    static let rules = ConfigurationKey(
        "rules", keys: [.init("action", values: actionNames), .init("mode", values: modeNames)], names: Rule.all.map(\.id))

    /// `actions`: per risk level, an action.
    static let actions = ConfigurationKey("actions", names: RiskLevel.allCases.map(\.description), values: actionNames)

    /// `history.postgresql`: the shared store's server, account and TLS.
    static let postgresql = ConfigurationKey("postgresql", keys: [
        .init("host"), .init("port"), .init("user"), .init("database"), .init("password_file"),
        .init("tls", values: PostgresCorrespondentStore.TLSMode.allCases.map(\.rawValue)),
        .init("ca_file"), .init("client_certificate"), .init("client_key"),
    ])

    /// `history.established`: when a recipient domain is an established correspondent.
    static let established = ConfigurationKey("established", keys: [.init("messages"), .init("days")])

    /// `history`: the correspondent history.
    static let history = ConfigurationKey("history", keys: [
        .init("backend", values: ["sqlite", "postgresql"]), .init("state_directory"), postgresql,
        .init("record", values: HistoryConfiguration.Scope.allCases.map(\.rawValue)), .init("addresses"), .init("decisions"), .init("address_key_file"),
        established, .init("typo_ratio"), .init("retention_days"), .init("refresh_interval"), .init("flush_interval"), .init("timeout"),
    ])

    /// `console`: the review console and its signed links.
    static let console = ConfigurationKey("console", keys: [
        .init("listen"), .init("users_file"), .init("proxy_user_header"), .init("proxy_address"), .init("secure_cookies"),
        .init("idle_timeout"), .init("held_command"), .init("audit_log"), .init("base_url"), .init("link_key_file"),
        .init("link_hours"), .init("notify_sender"),
    ])

    /// The file itself: every top-level key.
    static let file = ConfigurationKey("", keys: [
        .init("socket"), .init("socket_mode"), .init("socket_group"), .init("mode", values: modeNames),
        .init("protected"), .init("trusted"), actions, rules, review,
        .init("public_suffix_list"), .init("log_level", values: Logger.Level.allCases.map(\.rawValue)),
        .init("log_target", values: LogTarget.allCases.map(\.rawValue)), .init("syslog_facility", values: SyslogFacility.all.map(\.name)),
        .init("syslog_socket"), .init("metrics_listen"), senderOverride, history, console, .init("user"), .init("group"),
    ])

    private static let actionNames = Action.allCases.map(\.description)
    private static let modeNames = Mode.allCases.map(\.description)
}
