import Foundation
import TestSupport
import Testing

/// A real Sendmail (Debian's, unpacked by `scripts/private-sendmail` into `.build/sendmail/root`,
/// never installed) with one daemon port per milter profile, relaying to an smtp-sink. Loopback
/// only; runs in a private UTS namespace with a qualified host name so Sendmail does not sleep
/// 60 s looking for its own name. Needs root.
final class SendmailEnvironment: Sendable {
    enum Profile: String, CaseIterable {
        /// Enforce; high → reject, medium → tempfail.
        case enforce
        /// The same policy in log-only mode.
        case logOnly = "log-only"
    }

    @TaskLocal static var current: SendmailEnvironment?

    let root: String
    let prefix: String
    nonisolated(unsafe) let sink: SmtpSink
    nonisolated(unsafe) let milters: [Profile: MilterProcess]
    let ports: [Profile: UInt16]

    /// Where `scripts/private-sendmail` unpacks Sendmail, or `MISDIRECT_SENDMAIL_ROOT`.
    static var prefix: String {
        if let path = ProcessInfo.processInfo.environment["MISDIRECT_SENDMAIL_ROOT"] { return path }
        return Repository.path(".build/sendmail/root")
    }

    init() throws {
        guard getuid() == 0 else { throw Command.Failure(description: "the Sendmail integration tests need root") }
        prefix = Self.prefix
        guard FileManager.default.isExecutableFile(atPath: prefix + "/sendmail") else {
            throw Command.Failure(description: "no Sendmail in \(prefix): run scripts/private-sendmail (scripts/install-deps does)")
        }
        root = "/tmp/misdirect-sm-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        for directory in ["log", "queue", "etc"] {
            try FileManager.default.createDirectory(atPath: "\(root)/\(directory)", withIntermediateDirectories: true)
        }
        chmod("\(root)/queue", 0o700)
        var milters: [Profile: MilterProcess] = [:]
        var ports: [Profile: UInt16] = [:]
        for profile in Profile.allCases {
            let policy = "log_target: stderr\nprotected: [mil, gov, gov.uk, example.org]\nactions: {medium: tempfail, high: reject}\n"
            milters[profile] = try MilterProcess(
                // TCP: Sendmail refuses a unix socket under a world-writable directory such as /tmp.
                name: "sendmail-\(profile.rawValue)", root: root, socket: "inet:\(try Loopback.freePort())@127.0.0.1",
                configuration: policy + (profile == .logOnly ? "mode: log-only\n" : ""))
            ports[profile] = try Loopback.freePort()
        }
        self.milters = milters
        self.ports = ports
        sink = SmtpSink(port: try Loopback.freePort(), directory: root + "/sink")
    }

    func start() throws {
        try sink.start(log: root + "/log/sink.log")
        for milter in milters.values { try milter.start() }
        try "hosts files\naliases files\n".write(toFile: "\(root)/etc/service.switch", atomically: true, encoding: .utf8)
        try "127.0.0.1 localhost mta.test.localdomain\n".write(toFile: "\(root)/etc/hosts", atomically: true, encoding: .utf8)
        try "".write(toFile: "\(root)/etc/aliases", atomically: true, encoding: .utf8)
        try mc.write(toFile: "\(root)/sendmail.mc", atomically: true, encoding: .utf8)
        let cf = try Command.run(
            "\(prefix)/usr/bin/m4", ["-D_CF_DIR_=\(prefix)/usr/share/sendmail/cf/", "\(prefix)/usr/share/sendmail/cf/m4/cf.m4", "\(root)/sendmail.mc"])
        guard cf.status == 0 else { throw Command.Failure(description: "m4 failed: \(cf.stderr)") }
        try cf.stdout.write(toFile: "\(root)/sendmail.cf", atomically: true, encoding: .utf8)
        // -bd: Sendmail puts itself in the background (not a child of the tests, like Postfix's
        // master), writes its pid file and logs nothing here (syslog only).
        let started = try Command.run(
            "unshare", ["--uts", "sh", "-c", "hostname \"$0\" && exec \"$@\"", "mta.test.localdomain",
                        "\(prefix)/sendmail", "-C", "\(root)/sendmail.cf", "-bd"],
            environment: ["LD_LIBRARY_PATH": "\(prefix)/usr/lib/x86_64-linux-gnu:\(prefix)/lib/x86_64-linux-gnu"])
        guard started.status == 0, Command.waitUntil(timeout: .seconds(20), { ports.values.allSatisfy { Loopback.isListening($0) } }) else {
            throw Command.Failure(description: "sendmail did not start: \(started.stdout)\(started.stderr)")
        }
    }

    /// The daemon's pid, from the first line of its pid file.
    private var daemonPID: Int32? {
        (try? String(contentsOfFile: "\(root)/sendmail.pid", encoding: .utf8))?.split(separator: "\n").first.flatMap { Int32($0) }
    }

    func stop() {
        if let pid = daemonPID, pid > 1 {
            kill(pid, SIGTERM)
            _ = Command.waitUntil(timeout: .seconds(10)) { !ports.values.contains { Loopback.isListening($0) } }
        }
        for milter in milters.values { milter.stop() }
        sink.stop()
        if ProcessInfo.processInfo.environment["MISDIRECT_KEEP_TEST_DIRS"] == nil {
            try? FileManager.default.removeItem(atPath: root)
        }
    }

    /// What is in the queue, for failure messages (Sendmail logs only through syslog).
    var log: String { "queue: " + ((try? FileManager.default.contentsOfDirectory(atPath: root + "/queue"))?.joined(separator: " ") ?? "") }

    func send(via profile: Profile, to recipients: [String], subject: String) throws -> Swaks.Transcript {
        try Swaks.send(port: ports[profile]!, to: recipients, subject: subject)
    }

    /// The configuration, built as a postmaster would: the milter as in packaging/sendmail.mc
    /// (S= in libmilter's syntax, F=T), one daemon per profile with its own filter.
    private var mc: String {
        var lines = [
            "divert(-1)", "divert(0)dnl", "OSTYPE(`linux')dnl",
            "define(`confDONT_PROBE_INTERFACES', `True')dnl",
            "define(`QUEUE_DIR', `\(root)/queue')dnl",
            "define(`STATUS_FILE', `\(root)/statistics')dnl",
            "define(`confPID_FILE', `\(root)/sendmail.pid')dnl",
            "define(`confSERVICE_SWITCH_FILE', `\(root)/etc/service.switch')dnl",
            "define(`confHOSTS_FILE', `\(root)/etc/hosts')dnl",
            "define(`ALIAS_FILE', `\(root)/etc/aliases')dnl",
            "define(`confDONT_BLAME_SENDMAIL', `GroupWritableDirPathSafe,GroupReadableKeyFile')dnl",
            "define(`confTO_IDENT', `0s')dnl",
            "define(`SMART_HOST', `esmtp:[127.0.0.1]')dnl",
            "define(`ESMTP_MAILER_ARGS', `TCP $h \(sink.port)')dnl",
            "define(`confDELIVERY_MODE', `background')dnl",
            "FEATURE(`accept_unresolvable_domains')dnl",
            "FEATURE(`promiscuous_relay')dnl",
        ]
        for profile in Profile.allCases {
            let name = "misdirect-\(profile.rawValue)"
            lines.append("MAIL_FILTER(`\(name)', `S=\(milters[profile]!.socket), F=T, T=C:5s;S:10s;R:10s;E:30s')dnl")
            lines.append("DAEMON_OPTIONS(`Port=\(ports[profile]!), Addr=127.0.0.1, Name=MTA-\(profile.rawValue), InputMailFilters=\(name)')dnl")
        }
        lines.append("MAILER(`smtp')dnl")
        return lines.joined(separator: "\n") + "\n"
    }
}

struct SendmailEnvironmentTrait: SuiteTrait, TestScoping {
    var isRecursive: Bool { false }

    func provideScope(for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void) async throws {
        let environment = try SendmailEnvironment()
        defer { environment.stop() }
        try environment.start()
        try await SendmailEnvironment.$current.withValue(environment) { try await function() }
    }
}

extension Trait where Self == SendmailEnvironmentTrait {
    /// Runs the suite against a private Sendmail with misdirect-milter processes.
    static var sendmailEnvironment: Self { Self() }
}
