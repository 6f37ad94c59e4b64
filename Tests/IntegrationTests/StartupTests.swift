import Foundation
import TestSupport
import PostgresHarness
import Testing

/// `serve`'s start-up with real signals and a real sd_notify socket; no MTA needed.
struct StartupTests {
    /// A fresh directory for one test, removed by the caller.
    static func directory(_ label: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.path + "/\(label)-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// Whether `pid` has a handler for `signal` (`SigCgt` in /proc/PID/status).
    static func catches(_ pid: Int32, _ signal: Int32) -> Bool {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("SigCgt:") }),
              let mask = UInt64(line.dropFirst("SigCgt:".count).trimmingCharacters(in: .whitespaces), radix: 16)
        else { return false }
        return mask & (1 << UInt64(signal - 1)) != 0
    }

    /// User and system CPU time of `pid` so far (/proc/PID/stat).
    static func cpuTime(_ pid: Int32) -> Duration {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")")
        else { return .zero }
        // After "pid (comm)": state is field 3, utime 14, stime 15.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let user = Int(fields[11]), let system = Int(fields[12]) else { return .zero }
        return .milliseconds((user + system) * 1000 / sysconf(Int32(_SC_CLK_TCK)))
    }

    @Test("serve handles SIGHUP from the start of its set-up: one sent before it listens neither kills it nor is lost")
    func hangupDuringSetUp() throws {
        let root = try Self.directory("startup-hup")
        defer { try? FileManager.default.removeItem(atPath: root) }
        // 20,000 protected domains: reading them and building the index takes a second or so.
        let socket = "\(root)/milter.sock"
        let config = "\(root)/milter.yml"
        let domains = (0..<20_000).map { "  - partner\($0).example.com\n" }.joined()
        try "socket: unix:\(socket)\nlog_target: stderr\nprotected:\n\(domains)".write(toFile: config, atomically: true, encoding: .utf8)
        let log = "\(root)/milter.log"
        // With no signal blocked, as systemd starts it (a Process inherits the test's mask).
        let process = try CleanProcess(MilterProcess.binary, ["serve", "--config", config], log: log)
        defer { process.stop() }
        let pid = process.pid
        // Deep in the set-up: 300 ms of CPU spent (the runtime and the argument parsing take a
        // few), and the socket not bound yet.
        let busy = Command.waitUntil(timeout: .seconds(20), interval: .milliseconds(5)) {
            Self.cpuTime(pid) >= .milliseconds(300) || Loopback.isListening(unixPath: socket) || !process.isRunning
        }
        try #require(busy && process.isRunning)
        try #require(!Loopback.isListening(unixPath: socket), "the set-up ended before the test could signal it")
        #expect(Self.catches(pid, SIGHUP), "SIGHUP has no handler during the set-up")
        kill(pid, SIGHUP)
        #expect(Command.waitUntil(timeout: .seconds(30)) { Loopback.isListening(unixPath: socket) || !process.isRunning })
        #expect(process.isRunning, "SIGHUP during set-up killed serve")
        let reloaded = Command.waitUntil(timeout: .seconds(20)) {
            ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").contains("configuration reloaded")
        }
        let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        #expect(reloaded, "the SIGHUP of the set-up was lost: \(text)")
        #expect(text.contains("config.generation=2"))
        #expect(process.isRunning)
    }

    /// A child started with posix_spawn, every signal unblocked and at its default action, as
    /// an init system starts a service, and none of the test process's descriptors.
    final class CleanProcess {
        let pid: pid_t
        private var status: Int32?

        init(_ path: String, _ arguments: [String], log: String) throws {
            var actions = posix_spawn_file_actions_t()
            posix_spawn_file_actions_init(&actions)
            defer { posix_spawn_file_actions_destroy(&actions) }
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
            posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_APPEND, 0o644)
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
            try SpawnActions.closeInherited(&actions)
            var attributes = posix_spawnattr_t()
            posix_spawnattr_init(&attributes)
            defer { posix_spawnattr_destroy(&attributes) }
            var none = sigset_t(), all = sigset_t()
            sigemptyset(&none)
            sigfillset(&all)
            posix_spawnattr_setsigmask(&attributes, &none)
            posix_spawnattr_setsigdefault(&attributes, &all)
            posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
            let argv = ([path] + arguments).map { strdup($0) } + [nil]
            defer { argv.forEach { free($0) } }
            var child: pid_t = 0
            let result = posix_spawn(&child, path, &actions, &attributes, argv, environ)
            guard result == 0 else { throw Command.Failure(description: "posix_spawn \(path): \(String(cString: strerror(result)))") }
            pid = child
        }

        var isRunning: Bool {
            guard status == nil else { return false }
            var raw: Int32 = 0
            if waitpid(pid, &raw, WNOHANG) == pid { status = raw }
            return status == nil
        }

        func stop() {
            guard isRunning else { return }
            kill(pid, SIGTERM)
            if !Command.waitUntil(timeout: .seconds(15), { !isRunning }) {
                kill(pid, SIGKILL)
                _ = Command.waitUntil(timeout: .seconds(5)) { !isRunning }
            }
        }
    }

    /// A datagram socket standing in for systemd's notify socket.
    final class NotifySocket {
        let path: String
        let fd: Int32

        init(path: String) throws {
            self.path = path
            fd = try SyslogReceiver.boundDatagramSocket(path: path)
            var timeout = timeval(tv_sec: 20, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        }

        deinit { close(fd) }

        /// The next notification, or nil after 20 s.
        func next() -> String? {
            var buffer = [UInt8](repeating: 0, count: 4096)
            let count = recv(fd, &buffer, buffer.count, 0)
            return count > 0 ? String(decoding: buffer.prefix(count), as: UTF8.self) : nil
        }
    }

    @Test("tells systemd READY=1 once listening, RELOADING=1 then READY=1 around a reload, STOPPING=1 on SIGTERM")
    func notifiesSystemd() throws {
        let root = try Self.directory("startup-notify")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let notify = try NotifySocket(path: "\(root)/notify.sock")
        let socket = "\(root)/milter.sock"
        let config = "\(root)/milter.yml"
        try "socket: unix:\(socket)\nlog_target: stderr\nprotected: [mil]\n".write(toFile: config, atomically: true, encoding: .utf8)
        let process = try Command.start(
            MilterProcess.binary, ["serve", "--config", config], log: "\(root)/milter.log", environment: ["NOTIFY_SOCKET": notify.path])
        defer { Command.stop(process) }

        let ready = try #require(notify.next(), "no notification")
        #expect(ready.split(separator: "\n").contains("READY=1"), "\(ready)")
        #expect(Loopback.isListening(unixPath: socket), "ready before listening")

        kill(process.processIdentifier, SIGHUP)
        let reloading = try #require(notify.next())
        #expect(reloading.split(separator: "\n").contains("RELOADING=1"), "\(reloading)")
        #expect(reloading.contains("MONOTONIC_USEC="))
        let readyAgain = try #require(notify.next())
        #expect(readyAgain.split(separator: "\n").contains("READY=1"), "\(readyAgain)")

        kill(process.processIdentifier, SIGTERM)
        let stopping = try #require(notify.next())
        #expect(stopping == "STOPPING=1")
        #expect(Command.waitUntil(timeout: .seconds(20)) { !process.isRunning })
        #expect(process.terminationStatus == 0)
    }
}
