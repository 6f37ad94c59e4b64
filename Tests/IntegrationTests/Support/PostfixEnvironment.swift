import Foundation
import Testing

/// A real Postfix with several smtpd listeners, each filtered by its own misdirect-milter
/// process, relaying everything to an smtp-sink. Shared by every suite with the
/// ``Trait/postfixEnvironment`` trait: started by the first, stopped after the last.
final class PostfixEnvironment: Sendable {
    /// The milter configurations served, each behind its own smtpd port.
    enum Profile: String, CaseIterable {
        /// The packaged default configuration, unchanged (TCP on 127.0.0.1:8897).
        case packaged
        /// Enforce; high → reject, medium → tempfail. Serves metrics.
        case enforce
        /// Enforce; high → tag. Logs to syslog (a datagram socket the environment reads).
        case tag
        /// The enforce policy in log-only mode, running as `nobody` once its socket is bound.
        case logOnly = "log-only"
        /// Enforce; medium → tag, high → quarantine, with a review mailbox whose notices go back
        /// through this profile's own smtpd.
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

        /// What its smtpd listener adds to master.cf.
        var listenerOptions: (maxProcesses: String, options: [String]) {
            switch self {
            case .faults: ("210", ["smtpd_timeout=3s"])
            default: ("-", [])
            }
        }
    }

    @TaskLocal static var current: PostfixEnvironment?

    let root: String
    nonisolated(unsafe) let postfix: PostfixInstance
    nonisolated(unsafe) let sink: SmtpSink
    nonisolated(unsafe) let milters: [Profile: MilterProcess]
    nonisolated(unsafe) let syslog: SyslogReceiver
    let ports: [Profile: UInt16]
    /// Where the enforce profile serves Prometheus metrics.
    let metricsPort: UInt16

    static let protectedDomains = "socket_group: postfix\nprotected: [mil, gov, gov.uk, example.org]\n"

    /// The review mailbox of the quarantine profile.
    static let reviewMailbox = "review@example.org"

    static func configuration(for profile: Profile, ports: [Profile: UInt16], metricsPort: UInt16, syslogPath: String) -> String? {
        let base = Self.protectedDomains
        switch profile {
        case .packaged: return nil
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
                review:
                  mailbox: \(reviewMailbox)
                  relay: 127.0.0.1:\(ports[.quarantine]!)

                """
        case .reload:
            return base + Self.reloadConfiguration(high: "tag")
        case .lifecycle:
            return base + "log_target: stderr\n"
        case .faults:
            return base + "log_target: stderr\nactions: {medium: tempfail, high: reject}\n"
        case .supervised:
            return base + "log_target: stderr\nactions: {medium: tag, high: tag}\n"
        }
    }

    /// The reload profile's policy with `high` mapped to `high`.
    static func reloadConfiguration(high: String) -> String {
        "log_target: json\nactions: {medium: tempfail, high: \(high)}\n"
    }

    /// The packaged configuration as shipped: the source tree's, or the installed one named by
    /// `MISDIRECT_TEST_PACKAGED_CONFIG` (CI points it at the .deb's /etc file). Several checkouts
    /// testing on one machine can set `MISDIRECT_TEST_PACKAGED_PORT` to move it off 8897;
    /// nothing else in it changes.
    static func packagedMilter(root: String) throws -> MilterProcess {
        let source = ProcessInfo.processInfo.environment["MISDIRECT_TEST_PACKAGED_CONFIG"] ?? packagedConfigPath
        guard let port = ProcessInfo.processInfo.environment["MISDIRECT_TEST_PACKAGED_PORT"] else {
            return try MilterProcess(name: "packaged", root: root, socket: "inet:8897@127.0.0.1", configuration: nil, configPath: source)
        }
        let socket = "inet:\(port)@127.0.0.1"
        let text = try String(contentsOfFile: source, encoding: .utf8)
            .replacingOccurrences(of: "\nsocket: inet:8897@127.0.0.1\n", with: "\nsocket: \(socket)\n")
        let path = "\(root)/packaged.yml"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return try MilterProcess(name: "packaged", root: root, socket: socket, configuration: nil, configPath: path)
    }

    static var packagedConfigPath: String {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<4 { url.deleteLastPathComponent() }
        return url.appendingPathComponent("packaging/misdirect-milter.yml").path
    }

    init() throws {
        guard getuid() == 0 else {
            throw Command.Failure(description: "the Postfix integration tests run a private Postfix and need root")
        }
        root = "/tmp/misdirect-it-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: root + "/log", withIntermediateDirectories: true)
        var ports: [Profile: UInt16] = [:]
        for profile in Profile.allCases { ports[profile] = try Loopback.freePort() }
        self.ports = ports
        metricsPort = try Loopback.freePort()
        syslog = try SyslogReceiver(path: root + "/syslog.sock")
        var milters: [Profile: MilterProcess] = [:]
        for profile in Profile.allCases where profile != .packaged {
            milters[profile] = try MilterProcess(
                name: profile.rawValue, root: root, socket: "unix:\(root)/\(profile.rawValue).sock",
                configuration: Self.configuration(for: profile, ports: ports, metricsPort: metricsPort, syslogPath: syslog.path))
        }
        milters[.packaged] = try Self.packagedMilter(root: root)
        self.milters = milters
        sink = SmtpSink(port: try Loopback.freePort(), directory: root + "/sink")
        postfix = PostfixInstance(
            root: root, relayPort: sink.port,
            listeners: Profile.allCases.map { profile in
                PostfixInstance.Listener(
                    port: ports[profile]!, milter: milters[profile]!.postfixSocket,
                    maxProcesses: profile.listenerOptions.maxProcesses, options: profile.listenerOptions.options)
            },
            // Room for the fault tests' 200 concurrent sessions and their cleanup processes.
            extraMainCF: "default_process_limit = 250")
    }

    func start() throws {
        if milters[.packaged]!.isListening {
            throw Command.Failure(description: "something already listens on \(milters[.packaged]!.socket), the packaged configuration's socket")
        }
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
        if ProcessInfo.processInfo.environment["MISDIRECT_KEEP_TEST_DIRS"] == nil {
            try? FileManager.default.removeItem(atPath: root)
        }
    }

    /// Sends through the smtpd filtered by `profile`'s milter.
    func send(via profile: Profile, to recipients: [String], subject: String, headers: [String] = []) throws -> Swaks.Transcript {
        try Swaks.send(port: ports[profile]!, to: recipients, subject: subject, headers: headers)
    }

    /// Runs a Postfix queue tool (`postqueue`, `postcat`, `postsuper`) on this instance.
    func postfixTool(_ tool: String, _ arguments: [String]) throws -> Command.Output {
        try Command.run(tool, ["-c", postfix.configDirectory] + arguments)
    }

    /// Runs `misdirect-milter held …` against this instance.
    func held(_ arguments: [String]) throws -> Command.Output {
        try Command.run(MilterProcess.binary, ["held"] + arguments + ["--postfix-config", postfix.configDirectory])
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

/// Gives the suite it is applied to the shared ``PostfixEnvironment``: suites run in parallel,
/// and the packaged profile's fixed port allows only one environment at a time.
struct PostfixEnvironmentTrait: SuiteTrait, TestScoping {
    var isRecursive: Bool { false }

    /// The running environment and how many suites use it.
    private static let shared = Locked<(environment: PostfixEnvironment?, users: Int)>((nil, 0))

    func provideScope(for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void) async throws {
        let environment = try Self.acquire()
        defer { Self.release() }
        try await PostfixEnvironment.$current.withValue(environment) { try await function() }
    }

    private static func acquire() throws -> PostfixEnvironment {
        try shared.withLock { state in
            if let environment = state.environment {
                state.users += 1
                return environment
            }
            let environment = try PostfixEnvironment()
            do {
                try environment.start()
            } catch {
                environment.stop()
                throw error
            }
            state = (environment, 1)
            return environment
        }
    }

    private static func release() {
        shared.withLock { state in
            state.users -= 1
            guard state.users == 0 else { return }
            state.environment?.stop()
            state.environment = nil
        }
    }
}

extension Trait where Self == PostfixEnvironmentTrait {
    /// Runs the suite against a private Postfix with misdirect-milter processes.
    static var postfixEnvironment: Self { Self() }
}

/// The environment of the running suite.
func environment() throws -> PostfixEnvironment {
    try #require(PostfixEnvironment.current, "the suite needs the .postfixEnvironment trait")
}
