import Logging
import Milter
import MisdirectionRisk

/// Everything the configuration file sets, with the defaults used for keys it leaves out.
/// Each property names its YAML key; `misdirect-milter.yml(5)` and the packaged file document
/// them for postmasters.
public struct Configuration: Sendable {
    /// The default TCP port, chosen because no common milter uses it (OpenDKIM 8891,
    /// OpenDMARC 8893, OpenARC 8894).
    package static let defaultPort: UInt16 = 8897
    /// Where `serve` and the other commands look when `--config` is not given.
    package static let defaultPath = "/etc/misdirect-milter/misdirect-milter.yml"

    /// `socket`: where the milter listens, in libmilter's syntax.
    public var socket: MilterSocket = .inet(port: Configuration.defaultPort, host: "127.0.0.1")
    /// `socket_mode`: permissions of a unix socket, octal (`660`).
    package var socketMode: UInt32 = 0o660
    /// `socket_group`: the group of a unix socket, by name (`postfix`); nil keeps the process's.
    package var socketGroup: String?
    /// The group id `socketGroup` names, resolved when the file is read.
    package var socketGroupID: UInt32?
    /// `mode`: `enforce`, or `log-only` to refuse nothing and only log and tag.
    package var mode: Mode = .enforce
    /// `protected`: domains and whole suffixes whose look-alikes are flagged.
    public var protectedDomains: [String] = []
    /// `trusted`: domains never flagged, with their sub-domains.
    public var trustedDomains: [String] = []
    /// `actions`: the action for each risk level (`none`, `low`, `medium`, `high`).
    package var actions: [RiskLevel: Action] = Policy.defaultActions
    /// `rules`: per-rule `action` (instead of the level's) and `mode` (`log-only` to try one rule
    /// in a dry run while the others enforce), keyed by rule id.
    package var rules: [Rule: RulePolicy] = [:]
    /// `public_suffix_list`: the Public Suffix List file (Debian package `publicsuffix`).
    package var publicSuffixListPath: String = PublicSuffixList.debianPath
    /// `log_level`: `trace`, `debug`, `info`, `notice`, `warning`, `error` or `critical`.
    /// Takes effect on reload.
    package var logLevel: Logger.Level = .info
    /// `log_target`: `syslog` (the default: the `mail` facility, beside the MTA's own lines),
    /// `stderr` (logfmt lines) or `json` (JSON lines on standard error, for journald or a log
    /// shipper). Changing it needs a restart.
    package var logTarget: LogTarget = .syslog
    /// `syslog_facility`: `mail` by default; `daemon`, `user` or `local0` … `local7`.
    package var syslogFacility: SyslogFacility = .mail
    /// `syslog_socket`: the syslog daemon's datagram socket, `/dev/log` by default.
    package var syslogSocket: String = "/dev/log"
    /// `metrics_listen`: `HOST:PORT` on a loopback address (`127.0.0.1:9897`, `[::1]:9897`)
    /// where Prometheus text metrics are served at `/metrics`; nil (the default) serves none.
    package var metricsListen: MetricsAddress?
    /// `user`: the user to run as once the socket is bound (nil keeps the starting user).
    package var user: String?
    /// The user id and primary group id `user` names, resolved when the file is read.
    package var userID: (uid: UInt32, gid: UInt32)?
    /// `group`: the group to run as; the user's primary group when only `user` is set.
    package var group: String?
    /// The group id `group` names, resolved when the file is read.
    package var groupID: UInt32?

    /// The log destination `log_target` and the syslog keys describe.
    package var logDestination: LogSink.Destination {
        switch logTarget {
        case .syslog: .syslog(facility: syslogFacility, socket: syslogSocket)
        case .stderr: .standardError(.logfmt)
        case .json: .standardError(.json)
        }
    }

    /// `sender_override`: lets an authenticated sender deliver to a recipient the policy refuses
    /// by naming it in a header; nil (the default) when not configured. Where it is enabled,
    /// refusals of authenticated senders move from RCPT to the end of the message.
    package var senderOverride: SenderOverride?

    /// `review`: where reviewers get flagged mail; nil when not configured.
    package var review: ReviewConfiguration?

    /// `history`: the correspondent history (`first-contact`, `established`); nil when not
    /// configured.
    package var history: HistoryConfiguration?

    /// `console`: the review console and the signed links in notices; nil when not configured.
    package var console: ConsoleConfiguration?

    /// The policy this configuration describes.
    package var policy: Policy { Policy(mode: mode, actions: actions, rules: rules) }
}

/// The `sender_override` section.
package struct SenderOverride: Sendable, Equatable {
    /// `sender_override.header`: the header in which the sender names the recipients they
    /// really mean (addresses, comma-separated). Removed from the message before delivery.
    package var header = "X-Misdirection-Override"

    package init(header: String = "X-Misdirection-Override") {
        self.header = header
    }
}

/// The `review` section: a mailbox that sees tagged and held mail without shell access.
package struct ReviewConfiguration: Sendable, Equatable {
    /// `review.mailbox`: added as a recipient of tagged messages; sent a notice with the held
    /// message attached when a message is held.
    package var mailbox: EmailAddress
    /// `review.relay`: the SMTP server (`host:port`) the notices for held messages are
    /// submitted to, normally the MTA's own loopback listener.
    package var relayHost = "127.0.0.1"
    package var relayPort: UInt16 = 25
    /// `review.max_size`: the largest held message attached to a notice, in bytes; a larger
    /// one is attached truncated, with a note. At most ``maximumMaxSize``.
    package var maxSize = 10_240_000
    /// `review.queue_size`: the most bytes of notices waiting to be sent (64 MiB); a notice
    /// beyond it is dropped with an error (the message stays held). At least `max_size`.
    package var queueSize = 64 << 20

    /// The largest `review.max_size` accepted: 50 MB, five times Postfix's default
    /// `message_size_limit`.
    package static let maximumMaxSize = 50_000_000

    package init(mailbox: EmailAddress) {
        self.mailbox = mailbox
    }
}

/// The values of `log_target`.
package enum LogTarget: String, Sendable, CaseIterable {
    case syslog, stderr, json
}

extension Configuration {
    /// Every key at its default, as when the file leaves them all out.
    package static var defaults: Configuration { Configuration() }
}
