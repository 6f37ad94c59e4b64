import Foundation
import TestSupport
import PostgresHarness
import Testing

/// A real Postfix with several smtpd listeners, each filtered by its own misdirect-milter
/// process, relaying everything to an smtp-sink. Shared by every suite with the
/// ``Trait/postfixEnvironment`` trait: started by the first, stopped after the last.
final class PostfixEnvironment: Sendable {
    /// The milter configurations served, each behind its own smtpd port.
    enum Profile: String, CaseIterable {
        /// The packaged default configuration, unchanged: a unix socket, the installed package's
        /// own path when `MISDIRECT_TEST_PACKAGED_CONFIG` is set, else one in the test's directory.
        case packaged
        /// The packaged configuration on TCP at a free loopback port instead.
        case tcp
        /// Enforce; high → reject, medium → tempfail. Serves metrics.
        case enforce
        /// Enforce; high → tag. Logs to syslog (a datagram socket the environment reads).
        case tag
        /// The enforce policy in log-only mode, running as `nobody` once its socket is bound.
        case logOnly = "log-only"
        /// Enforce; medium → tag, high → quarantine, with a review mailbox whose notices go back
        /// through this profile's own smtpd. Serves metrics (on ``PostfixEnvironment/quarantineMetricsPort``),
        /// so the held-mail tests also cover the stage timing around the body. Logs to standard
        /// error; its `syslog_socket` is the environment's, where `held --config` audits.
        case quarantine
        /// Starts with high → tag; the reload tests rewrite its file and signal it. JSON logs.
        case reload
        /// For the graceful-stop test, which stops it: no other test may use it.
        case lifecycle
        /// The enforce policy, for the fault tests, which stop and restart it. Its smtpd gives
        /// up on a silent client after 3 s and may run 210 processes at once.
        case faults
        /// The tag policy, for the test that kills it again and again.
        case supervised
        /// Correspondent history in SQLite (established: 3 messages over 2 days); medium → tag,
        /// high → reject.
        case historySQLite = "history-sqlite"
        /// Two MTAs sharing one PostgreSQL history (established: 3 messages on 1 day). B serves
        /// metrics.
        case historyA = "history-pg-a"
        case historyB = "history-pg-b"
        /// Default actions (medium → tag, high → reject) over ``lookAlikeProtection``: whole
        /// suffixes with domains under them, names that are suffixes, and brands.
        case lookAlikes = "look-alikes"

        /// What its smtpd listener adds to master.cf.
        var listenerOptions: (maxProcesses: String, options: [String]) {
            switch self {
            case .faults: ("210", ["smtpd_timeout=3s"])
            // SMTP AUTH (Cyrus SASL, sasldb), so the milter sees {auth_authen}: the sender's
            // held-mail notice (console.notify_sender).
            case .quarantine: ("-", ["smtpd_sasl_auth_enable=yes", "smtpd_sasl_path=smtpd", "smtpd_tls_auth_only=no"])
            default: ("-", [])
            }
        }

        /// The profiles of the main suite.
        static let standard: [Profile] = [.packaged, .tcp, .enforce, .tag, .logOnly, .quarantine, .reload, .lifecycle, .faults, .supervised, .lookAlikes]
        /// The profiles of the history suite, with a private PostgreSQL server.
        static let history: [Profile] = [.historySQLite, .historyA, .historyB]
    }

    @TaskLocal static var current: PostfixEnvironment?

    let root: String
    nonisolated(unsafe) let postfix: PostfixInstance
    nonisolated(unsafe) let sink: SmtpSink
    nonisolated(unsafe) let milters: [Profile: MilterProcess]
    let syslog: SyslogReceiver
    /// The PostgreSQL server the history profiles share, when they run.
    let postgres: PrivatePostgres?
    let profiles: [Profile]
    let ports: [Profile: UInt16]
    /// Where the enforce profile serves Prometheus metrics.
    let metricsPort: UInt16
    /// Where the quarantine profile serves Prometheus metrics.
    let quarantineMetricsPort: UInt16
    /// Where the quarantine profile's review console listens (when a test starts it), and the
    /// address its notices' links point to.
    let consolePort: UInt16

    /// The suffix list every configuration the tests write classifies with: the pinned one, so
    /// that no result depends on the machine's (the installed package's tests use the system's).
    /// A copy in /tmp: a milter that dropped to `nobody` re-reads it on reload, and the source
    /// tree may be where `nobody` cannot read.
    static let pinnedSuffixList: String = {
        let copy = "/tmp/misdirect-tests-public_suffix_list.dat"
        let text = try! String(contentsOfFile: Repository.publicSuffixListPath, encoding: .utf8)
        try! text.write(toFile: copy, atomically: true, encoding: .utf8)
        chmod(copy, 0o644)
        return "public_suffix_list: \(copy)\n"
    }()
    static let protectedDomains = pinnedSuffixList + "socket_group: postfix\nprotected: [mil, gov, gov.uk, example.org]\n"
    /// The protected list of the look-alike classes of issue 12 (`check` and the look-alikes
    /// profile).
    static let lookAlikeProtection = pinnedSuffixList + "protected: [mil, army.mil, gov.uk, nhs.uk, defence.gov.uk, barclays.co.uk, amazon.com, outlook.com]\n"

    /// The review mailbox of the quarantine profile.
    static let reviewMailbox = "review@example.org"

    /// How long the history profiles wait for PostgreSQL: mail must never wait that long.
    static let historyTimeout = 5

    /// The database the PostgreSQL history profiles share.
    static let historyDatabase = "misdirect"

    static func configuration(
        for profile: Profile, root: String, ports: [Profile: UInt16], metricsPort: UInt16, quarantineMetricsPort: UInt16,
        syslogPath: String, postgresPort: UInt16?, consolePort: UInt16 = 0
    ) -> String? {
        let base = Self.protectedDomains
        switch profile {
        case .packaged, .tcp: return nil
        case .enforce:
            return base + "log_target: stderr\nactions: {medium: tempfail, high: reject}\nmetrics_listen: 127.0.0.1:\(metricsPort)\n"
        case .tag:
            return base + "log_target: syslog\nsyslog_socket: \(syslogPath)\nactions: {medium: tag, high: tag}\n"
        case .logOnly:
            return base + "log_target: stderr\nmode: log-only\nactions: {medium: tempfail, high: reject}\nuser: nobody\n"
        case .quarantine:
            return base + """
                log_target: stderr
                actions: {medium: tag, high: quarantine}
                metrics_listen: 127.0.0.1:\(quarantineMetricsPort)
                syslog_socket: \(syslogPath)
                review:
                  mailbox: \(reviewMailbox)
                  relay: 127.0.0.1:\(ports[.quarantine]!)
                console:
                  listen: 127.0.0.1:\(consolePort)
                  base_url: http://127.0.0.1:\(consolePort)
                  secure_cookies: false
                  users_file: \(root)/console/users
                  audit_log: \(root)/console/audit.log
                  link_key_file: \(root)/console/link-key
                  held_command: [\(root)/console/held]
                  notify_sender: [suffix-confusion]
                history:
                  state_directory: \(root)/state-quarantine
                  flush_interval: 200ms

                """
        case .reload:
            return base + Self.reloadConfiguration(high: "tag")
        case .lifecycle:
            return base + "log_target: stderr\n"
        case .faults:
            return base + "log_target: stderr\nactions: {medium: tempfail, high: reject}\n"
        case .supervised:
            return base + "log_target: stderr\nactions: {medium: tag, high: tag}\n"
        case .lookAlikes:
            return "socket_group: postfix\n" + Self.lookAlikeProtection + "log_target: stderr\n"
        case .historySQLite:
            return base + """
                log_target: stderr
                actions: {medium: tag, high: reject}
                history:
                  state_directory: \(root)/state-sqlite
                  refresh_interval: 300ms
                  flush_interval: 200ms

                """
        case .historyA, .historyB:
            return base + """
                log_target: stderr
                actions: {medium: tag, high: reject}
                \(profile == .historyB ? "metrics_listen: 127.0.0.1:\(metricsPort)\n" : "")history:
                  backend: postgresql
                  postgresql: {host: 127.0.0.1, port: \(postgresPort ?? 0), user: postgres, database: \(historyDatabase), tls: disable}
                  established: {messages: 3, days: 1}
                  refresh_interval: 300ms
                  flush_interval: 200ms
                  timeout: \(historyTimeout)s

                """
        }
    }

    /// The reload profile's policy with `high` mapped to `high`.
    static func reloadConfiguration(high: String) -> String {
        "log_target: json\nactions: {medium: tempfail, high: \(high)}\n"
    }

    /// The installed configuration CI tests (the .deb's /etc file), if any.
    static var installedConfigPath: String? { ProcessInfo.processInfo.environment["MISDIRECT_TEST_PACKAGED_CONFIG"] }

    /// The packaged configuration as shipped: the source tree's, or the installed one named by
    /// `MISDIRECT_TEST_PACKAGED_CONFIG`. The installed one keeps its socket (the package's
    /// directory under /var/spool/postfix); the source tree's moves into the test's directory, so
    /// checkouts testing side by side do not share it. `tcp` replaces the socket with one on a
    /// loopback port. Its history's state directory moves into the test's directory; nothing else
    /// changes.
    static func packagedMilter(root: String, tcpPort: UInt16? = nil) throws -> MilterProcess {
        let text = try String(contentsOfFile: installedConfigPath ?? packagedConfigPath, encoding: .utf8)
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard let socketLine = lines.firstIndex(where: { $0.hasPrefix("socket: ") }) else {
            throw Command.Failure(description: "no socket: line in the packaged configuration")
        }
        var socket = String(lines[socketLine].dropFirst("socket: ".count))
        if let tcpPort {
            socket = "inet:\(tcpPort)@127.0.0.1"
        } else if installedConfigPath == nil {
            socket = "unix:\(root)/packaged.sock"
        }
        lines[socketLine] = "socket: \(socket)"
        // Its history goes to the test's own directory, not the machine's /var/lib; the source
        // tree's file classifies with the pinned suffix list, the installed one with the system's.
        var configuration = lines.joined(separator: "\n")
            .replacingOccurrences(of: "\n  state_directory: /var/lib/misdirect-milter\n", with: "\n  state_directory: \(root)/state-\(tcpPort == nil ? "packaged" : "tcp")\n")
        if installedConfigPath == nil {
            let systemList = "public_suffix_list: /usr/share/publicsuffix/public_suffix_list.dat\n"
            guard configuration.contains("\n" + systemList) else {
                throw Command.Failure(description: "no public_suffix_list: line in the packaged configuration")
            }
            configuration = configuration.replacingOccurrences(of: "\n" + systemList, with: "\n" + Self.pinnedSuffixList)
        }
        let name = tcpPort == nil ? Profile.packaged.rawValue : Profile.tcp.rawValue
        let path = "\(root)/\(name).yml"
        try configuration.write(toFile: path, atomically: true, encoding: .utf8)
        return try MilterProcess(name: name, root: root, socket: socket, configuration: nil, configPath: path)
    }

    static var packagedConfigPath: String { Repository.path("packaging/misdirect-milter.yml") }

    init(profiles: [Profile] = Profile.standard) throws {
        guard getuid() == 0 else {
            throw Command.Failure(description: "the Postfix integration tests run a private Postfix and need root")
        }
        self.profiles = profiles
        root = "/tmp/misdirect-it-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: root + "/log", withIntermediateDirectories: true)
        var ports: [Profile: UInt16] = [:]
        for profile in profiles { ports[profile] = try Loopback.freePort() }
        self.ports = ports
        metricsPort = try Loopback.freePort()
        quarantineMetricsPort = try Loopback.freePort()
        consolePort = try Loopback.freePort()
        try FileManager.default.createDirectory(atPath: root + "/console", withIntermediateDirectories: true)
        syslog = try SyslogReceiver(path: root + "/syslog.sock")
        postgres = profiles.contains(.historyA) ? try PrivatePostgres() : nil
        var milters: [Profile: MilterProcess] = [:]
        for profile in profiles where profile != .packaged && profile != .tcp {
            milters[profile] = try MilterProcess(
                name: profile.rawValue, root: root, socket: "unix:\(root)/\(profile.rawValue).sock",
                configuration: Self.configuration(
                    for: profile, root: root, ports: ports, metricsPort: metricsPort, quarantineMetricsPort: quarantineMetricsPort, syslogPath: syslog.path, postgresPort: postgres?.port,
                    consolePort: consolePort))
        }
        if profiles.contains(.packaged) { milters[.packaged] = try Self.packagedMilter(root: root) }
        if profiles.contains(.tcp) { milters[.tcp] = try Self.packagedMilter(root: root, tcpPort: try Loopback.freePort()) }
        self.milters = milters
        sink = SmtpSink(port: try Loopback.freePort(), directory: root + "/sink")
        postfix = PostfixInstance(
            root: root, relayPort: sink.port,
            listeners: profiles.map { profile in
                PostfixInstance.Listener(
                    port: ports[profile]!, milter: milters[profile]!.postfixSocket,
                    maxProcesses: profile.listenerOptions.maxProcesses, options: profile.listenerOptions.options)
            },
            // Room for the fault tests' 200 concurrent sessions and their cleanup processes; a
            // way to hold a message without the milter (HoldTests).
            extraMainCF: "default_process_limit = 250\nheader_checks = regexp:\(root)/header_checks\ncyrus_sasl_config_path = \(root)/postfix/sasl")
        try "/^X-Test-Hold: yes$/ HOLD held by a header check\n".write(toFile: "\(root)/header_checks", atomically: true, encoding: .utf8)
        // Debian's smtpd reads $config_directory/sasl/smtpd.conf whatever cyrus_sasl_config_path says.
        try Self.makeSASL(root + "/postfix/sasl")
    }

    /// The SMTP AUTH login of the quarantine profile, and its password.
    static let authenticatedSender = (user: "alice@example.org", password: "sasl test password")

    /// Cyrus SASL for the private smtpd: PLAIN and LOGIN against a sasldb holding
    /// ``authenticatedSender``, readable by the postfix user smtpd runs as.
    static func makeSASL(_ directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try """
            pwcheck_method: auxprop
            auxprop_plugin: sasldb
            mech_list: PLAIN LOGIN
            sasldb_path: \(directory)/sasldb2

            """.write(toFile: "\(directory)/smtpd.conf", atomically: true, encoding: .utf8)
        let login = authenticatedSender.user.split(separator: "@")
        let made = try Command.run("saslpasswd2", ["-p", "-c", "-f", "\(directory)/sasldb2", "-u", String(login[1]), String(login[0])],
                                   input: authenticatedSender.password)
        guard made.status == 0 else { throw Command.Failure(description: "saslpasswd2: \(made.stderr)") }
        _ = try Command.run("chown", ["postfix", "\(directory)/sasldb2"])
    }

    func start() throws {
        if let packaged = milters[.packaged], packaged.isListening {
            throw Command.Failure(description: "something already listens on \(packaged.socket), the packaged configuration's socket")
        }
        try postgres?.createDatabase(Self.historyDatabase)
        try sink.start(log: root + "/log/sink.log")
        for milter in milters.values { try milter.start() }
        try postfix.start()
    }

    func stop() {
        postfix.stop()
        for milter in milters.values { milter.signal(SIGTERM) }
        for milter in milters.values { milter.stop() }
        sink.stop()
        syslog.close()
        postgres?.destroy()
        if ProcessInfo.processInfo.environment["MISDIRECT_KEEP_TEST_DIRS"] == nil {
            try? FileManager.default.removeItem(atPath: root)
        }
    }

    /// Sends through the smtpd filtered by `profile`'s milter.
    func send(via profile: Profile, to recipients: [String], subject: String, headers: [String] = [], authenticated: Bool = false) throws -> Swaks.Transcript {
        try Swaks.send(port: ports[profile]!, to: recipients, subject: subject, headers: headers,
                       auth: authenticated ? Self.authenticatedSender : nil)
    }

    /// Runs a Postfix queue tool (`postqueue`, `postcat`, `postsuper`) on this instance.
    func postfixTool(_ tool: String, _ arguments: [String]) throws -> Command.Output {
        try Command.run(tool, ["-c", postfix.configDirectory] + arguments)
    }

    /// Runs `misdirect-milter held …` against this instance.
    func held(_ arguments: [String], environment: [String: String]? = nil) throws -> Command.Output {
        try Command.run(MilterProcess.binary, ["held"] + arguments + ["--postfix-config", postfix.configDirectory], environment: environment)
    }

    /// A log file of the environment (`log/NAME`).
    func logText(_ name: String) -> String {
        (try? String(contentsOfFile: "\(root)/log/\(name)", encoding: .utf8)) ?? ""
    }

    /// A subject no other test uses, to find this test's message at the sink.
    static func uniqueSubject(_ label: String) -> String {
        "\(label) [\(UUID().uuidString.prefix(8))]"
    }
}

/// Gives the suite it is applied to the shared ``PostfixEnvironment`` for its profiles: suites
/// run in parallel, and the installed package's fixed socket allows only one environment with
/// the packaged profile at a time.
struct PostfixEnvironmentTrait: SuiteTrait, TestScoping {
    let profiles: [PostfixEnvironment.Profile]
    var isRecursive: Bool { false }

    /// The running environments, by their profiles, and how many suites use each.
    private static let shared = Locked<[[PostfixEnvironment.Profile]: (environment: PostfixEnvironment, users: Int)]>([:])

    func provideScope(for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void) async throws {
        let environment = try Self.acquire(profiles)
        defer { Self.release(profiles) }
        try await PostfixEnvironment.$current.withValue(environment) { try await function() }
    }

    private static func acquire(_ profiles: [PostfixEnvironment.Profile]) throws -> PostfixEnvironment {
        try shared.withLock { running in
            if let entry = running[profiles] {
                running[profiles] = (entry.environment, entry.users + 1)
                return entry.environment
            }
            let environment = try PostfixEnvironment(profiles: profiles)
            do {
                try environment.start()
            } catch {
                environment.stop()
                throw error
            }
            running[profiles] = (environment, 1)
            return environment
        }
    }

    private static func release(_ profiles: [PostfixEnvironment.Profile]) {
        shared.withLock { running in
            guard let entry = running[profiles] else { return }
            guard entry.users == 1 else {
                running[profiles] = (entry.environment, entry.users - 1)
                return
            }
            entry.environment.stop()
            running[profiles] = nil
        }
    }
}

extension Trait where Self == PostfixEnvironmentTrait {
    /// Runs the suite against a private Postfix with misdirect-milter processes.
    static var postfixEnvironment: Self { Self(profiles: PostfixEnvironment.Profile.standard) }

    /// The same with only `profiles`.
    static func postfixEnvironment(_ profiles: [PostfixEnvironment.Profile]) -> Self { Self(profiles: profiles) }
}

/// The environment of the running suite.
func environment() throws -> PostfixEnvironment {
    try #require(PostfixEnvironment.current, "the suite needs the .postfixEnvironment trait")
}
