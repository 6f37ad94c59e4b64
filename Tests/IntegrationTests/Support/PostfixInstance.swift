import Foundation
import TestSupport

/// A private Postfix instance on loopback, in its own configuration directory and queue, next
/// to (and never touching) the system's `/etc/postfix`. Needs root.
final class PostfixInstance {
    /// One smtpd listener and the milter it uses.
    struct Listener {
        let port: UInt16
        /// The milter in Postfix's syntax (`unix:/path`, `inet:127.0.0.1:8897`).
        let milter: String
        /// master.cf's maxproc column: `-` for default_process_limit.
        var maxProcesses = "-"
        /// More `-o name=value` for this smtpd.
        var options: [String] = []
    }

    let root: String
    let listeners: [Listener]
    private let relayPort: UInt16
    private let extraMainCF: String
    var configDirectory: String { root + "/postfix" }
    var logPath: String { root + "/log/postfix.log" }

    init(root: String, relayPort: UInt16, listeners: [Listener], extraMainCF: String = "") {
        self.root = root
        self.relayPort = relayPort
        self.listeners = listeners
        self.extraMainCF = extraMainCF
    }

    func start() throws {
        _ = try Command.resolve("postfix")
        let fileManager = FileManager.default
        for directory in ["postfix", "queue", "data", "log"] {
            try fileManager.createDirectory(atPath: "\(root)/\(directory)", withIntermediateDirectories: true)
        }
        try Command.run("chown", ["postfix", "\(root)/data"])
        try mainCF.write(toFile: "\(configDirectory)/main.cf", atomically: true, encoding: .utf8)
        try masterCF.write(toFile: "\(configDirectory)/master.cf", atomically: true, encoding: .utf8)
        for listener in listeners where Loopback.isListening(listener.port) {
            throw Command.Failure(description: "port \(listener.port) is already in use")
        }
        let started = try Command.run("postfix", ["-c", configDirectory, "start"])
        guard started.status == 0 else {
            throw Command.Failure(description: "postfix start failed: \(started.stderr)\n\(log)")
        }
        let ready = Command.waitUntil(timeout: .seconds(20)) { listeners.allSatisfy { Loopback.isListening($0.port) } }
        guard ready else { throw Command.Failure(description: "postfix did not open its ports\n\(log)") }
    }

    func stop() {
        _ = try? Command.run("postfix", ["-c", configDirectory, "stop"])
    }

    /// Postfix's own log of this instance.
    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    private var mainCF: String {
        """
        compatibility_level = 3.6
        queue_directory = \(root)/queue
        data_directory = \(root)/data
        maillog_file = \(logPath)
        maillog_file_prefixes = \(root)/log
        inet_interfaces = 127.0.0.1
        inet_protocols = ipv4
        myhostname = mta.test.localdomain
        mydomain = test.localdomain
        myorigin = $myhostname
        mydestination =
        mynetworks = 127.0.0.0/8
        relayhost = [127.0.0.1]:\(relayPort)
        smtp_dns_support_level = disabled
        smtpd_milters =
        non_smtpd_milters =
        milter_default_action = tempfail
        smtputf8_enable = yes
        \(extraMainCF)
        """
    }

    /// Every service chroot-free (no copies of /etc needed), one smtpd per listener.
    private var masterCF: String {
        var lines = listeners.map { listener in
            "127.0.0.1:\(listener.port) inet n - n - \(listener.maxProcesses) smtpd -o smtpd_milters=\(listener.milter)"
                + listener.options.map { " -o \($0)" }.joined()
        }
        lines += [
            "pickup    unix  n       -       n       60      1       pickup",
            "cleanup   unix  n       -       n       -       0       cleanup",
            "qmgr      unix  n       -       n       300     1       qmgr",
            "rewrite   unix  -       -       n       -       -       trivial-rewrite",
            "bounce    unix  -       -       n       -       0       bounce",
            "defer     unix  -       -       n       -       0       bounce",
            "trace     unix  -       -       n       -       0       bounce",
            "verify    unix  -       -       n       -       1       verify",
            "flush     unix  n       -       n       1000?   0       flush",
            "proxymap  unix  -       -       n       -       -       proxymap",
            "proxywrite unix -       -       n       -       1       proxymap",
            "smtp      unix  -       -       n       -       -       smtp",
            "relay     unix  -       -       n       -       -       smtp",
            "showq     unix  n       -       n       -       -       showq",
            "error     unix  -       -       n       -       -       error",
            "retry     unix  -       -       n       -       -       error",
            "discard   unix  -       -       n       -       -       discard",
            "local     unix  -       n       n       -       -       local",
            "lmtp      unix  -       -       n       -       -       lmtp",
            "anvil     unix  -       -       n       -       1       anvil",
            "scache    unix  -       -       n       -       1       scache",
            "postlog   unix-dgram n  -       n       -       1       postlogd",
        ]
        return lines.joined(separator: "\n") + "\n"
    }
}
