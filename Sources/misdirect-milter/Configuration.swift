import Logging
import Milter
import MisdirectionRisk

/// Everything the configuration file sets, with the defaults used for keys it leaves out.
/// Each property names its YAML key; `misdirect-milter.yml(5)` and the packaged file document
/// them for postmasters.
struct Configuration: Sendable {
    /// The default TCP port, chosen because no common milter uses it (OpenDKIM 8891,
    /// OpenDMARC 8893, OpenARC 8894).
    static let defaultPort: UInt16 = 8897
    /// Where `serve` and the other commands look when `--config` is not given.
    static let defaultPath = "/etc/misdirect-milter/misdirect-milter.yml"

    /// `socket`: where the milter listens, in libmilter's syntax.
    var socket: MilterSocket = .inet(port: Configuration.defaultPort, host: "127.0.0.1")
    /// `socket_mode`: permissions of a unix socket, octal (`660`).
    var socketMode: UInt32 = 0o660
    /// `socket_group`: the group of a unix socket, by name (`postfix`); nil keeps the process's.
    var socketGroup: String?
    /// The group id `socketGroup` names, resolved when the file is read.
    var socketGroupID: UInt32?
    /// `tcp_front_end`: for an inet socket, accept the MTA's connections ourselves with
    /// TCP_NODELAY/TCP_QUICKACK and relay them to libmilter, avoiding the 40 ms stalls every
    /// libmilter milter has over TCP. On by default; off lets libmilter listen itself.
    var tcpFrontEnd = true
    /// `mode`: `enforce`, or `log-only` to refuse nothing and only log and tag.
    var mode: Mode = .enforce
    /// `protected`: domains and whole suffixes whose look-alikes are flagged.
    var protectedDomains: [String] = []
    /// `trusted`: domains never flagged, with their sub-domains.
    var trustedDomains: [String] = []
    /// `actions`: the action for each risk level (`none`, `low`, `medium`, `high`).
    var actions: [RiskLevel: Action] = Policy.defaultActions
    /// `rules`: per-rule `action` (instead of the level's) and `mode` (`log-only` to try one rule
    /// in a dry run while the others enforce), keyed by rule id.
    var rules: [Rule: RulePolicy] = [:]
    /// `public_suffix_list`: the Public Suffix List file (Debian package `publicsuffix`).
    var publicSuffixListPath: String = PublicSuffixList.debianPath
    /// `log_level`: `trace`, `debug`, `info`, `notice`, `warning`, `error` or `critical`.
    var logLevel: Logger.Level = .info

    /// `review`: where reviewers get flagged mail; nil when not configured.
    var review: ReviewConfiguration?

    /// The policy this configuration describes.
    var policy: Policy { Policy(mode: mode, actions: actions, rules: rules) }
}

/// The `review` section: a mailbox that sees tagged and held mail without shell access.
struct ReviewConfiguration: Sendable, Equatable {
    /// `review.mailbox`: added as a recipient of tagged messages; sent a notice with the held
    /// message attached when a message is held.
    var mailbox: EmailAddress
    /// `review.relay`: the SMTP server (`host:port`) the notices for held messages are
    /// submitted to, normally the MTA's own loopback listener.
    var relayHost = "127.0.0.1"
    var relayPort: UInt16 = 25
    /// `review.max_size`: the largest held message attached to a notice, in bytes; a larger
    /// one is attached truncated, with a note.
    var maxSize = 10_240_000
}
