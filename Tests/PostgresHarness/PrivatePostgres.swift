import Foundation
import TestSupport

/// A throwaway PostgreSQL server for tests: `initdb` into a temporary directory as the
/// `postgres` user, started with `pg_ctl` on a free loopback port with its unix socket in that
/// directory, trust authentication, no fsync. No system service is touched. Needs root (to
/// run the server as `postgres`) and Debian's `postgresql` package (`scripts/install-deps`).
public final class PrivatePostgres: @unchecked Sendable {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    public let directory: String
    public let port: UInt16
    private let bin: String
    /// `-c` settings beyond the usual ones (TLS).
    private var extraOptions = ""
    private var data: String { directory + "/data" }

    /// Creates and starts the server; with `tls`, a PEM certificate and key, it also offers TLS
    /// (`ssl = on`) on its TCP port; with `clientCA` too, TCP clients must use TLS and show a
    /// certificate that CA signed (`hostssl … clientcert=verify-ca`).
    public init(tls: (certificate: String, key: String)? = nil, clientCA: String? = nil) throws {
        guard getuid() == 0 else { throw Failure(description: "the PostgreSQL tests run a private server as user postgres and need root") }
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []
        guard let version = versions.compactMap(Int.init).max() else {
            throw Failure(description: "PostgreSQL is not installed (apt-get install postgresql; scripts/install-deps does)")
        }
        bin = "/usr/lib/postgresql/\(version)/bin"
        directory = "/tmp/misdirect-pg-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        port = try Loopback.freePort()
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try Self.run("/bin/chown", ["postgres:postgres", directory])
        try asPostgres("initdb", ["-D", data, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync", "--no-instructions"])
        if let tls {
            // The server refuses a key its group or others can read.
            let files = [("server.pem", tls.certificate), ("server.key", tls.key)] + (clientCA.map { [("client-ca.pem", $0)] } ?? [])
            for (name, text) in files {
                let path = "\(directory)/\(name)"
                guard FileManager.default.createFile(atPath: path, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600]) else {
                    throw Failure(description: "cannot write \(path)")
                }
                try Self.run("/bin/chown", ["postgres:postgres", path])
            }
            extraOptions = " -c ssl=on -c ssl_cert_file=\(directory)/server.pem -c ssl_key_file=\(directory)/server.key"
            if clientCA != nil {
                extraOptions += " -c ssl_ca_file=\(directory)/client-ca.pem"
                let hba = "local all all trust\nhostssl all all 127.0.0.1/32 trust clientcert=verify-ca\n"
                try hba.write(toFile: "\(data)/pg_hba.conf", atomically: false, encoding: .utf8)
            }
        }
        try start()
    }

    /// Starts (or restarts) the server and waits until it accepts connections.
    public func start() throws {
        // fsync=off is safe for what the tests do (a process crash, never a machine crash):
        // WAL written to the kernel survives SIGKILL. synchronous_commit stays on: with it off
        // the server acknowledges a commit before writing its WAL, and kill9() would then lose
        // a write the client was told had succeeded.
        let options = "-p \(port) -k \(directory) -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off" + extraOptions
        try asPostgres("pg_ctl", ["-D", data, "-l", directory + "/server.log", "-o", options, "-w", "-t", "60", "start"])
    }

    /// Stops the server (fast shutdown), if it runs.
    public func stop() {
        _ = try? asPostgres("pg_ctl", ["-D", data, "-m", "fast", "-w", "stop"])
    }

    /// Stops the server and removes its files.
    public func destroy() {
        resume()
        _ = try? asPostgres("pg_ctl", ["-D", data, "-m", "immediate", "-w", "stop"])
        if ProcessInfo.processInfo.environment["MISDIRECT_KEEP_TEST_DIRS"] == nil {
            try? FileManager.default.removeItem(atPath: directory)
        }
    }

    /// Creates a database for one test.
    public func createDatabase(_ name: String) throws {
        try asPostgres("psql", ["-h", directory, "-p", "\(port)", "-U", "postgres", "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-q", "-c", "CREATE DATABASE \"\(name)\""])
    }

    /// Runs SQL in a database and returns what psql printed (unaligned, tuples only).
    @discardableResult
    public func sql(_ statement: String, database: String) throws -> String {
        try asPostgres("psql", ["-h", directory, "-p", "\(port)", "-U", "postgres", "-d", database, "-v", "ON_ERROR_STOP=1", "-A", "-t", "-q", "-c", statement])
    }

    /// The server process and its backends.
    public var processes: [Int32] {
        guard let text = try? String(contentsOfFile: data + "/postmaster.pid", encoding: .utf8),
              let line = text.split(separator: "\n").first, let postmaster = Int32(line) else { return [] }
        var found = [postmaster]
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = Int32(entry), let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { continue }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            if fields.count > 1, Int32(fields[1]) == postmaster { found.append(pid) }
        }
        return found
    }

    /// Freezes the server and its backends (SIGSTOP): connections stay open and nothing answers,
    /// the harshest kind of outage for a client.
    public func freeze() {
        for pid in processes { kill(pid, SIGSTOP) }
    }

    /// Undoes ``freeze()``.
    public func resume() {
        for pid in processes { kill(pid, SIGCONT) }
    }

    /// Kills the server and its backends at once (SIGKILL), as a crash would.
    public func kill9() {
        // SIGKILL ends a stopped process too; no SIGCONT first, which would let a frozen
        // backend finish its statement in the instant before the kill.
        let pids = processes
        for pid in pids { kill(pid, SIGKILL) }
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline, pids.contains(where: { kill($0, 0) == 0 && !Self.isZombie($0) }) { usleep(50_000) }
        // The postmaster leaves its pid file behind, and in a container whose first process
        // reaps nothing its pid lives on as a zombie, which the next start would take for a
        // running server.
        unlink(data + "/postmaster.pid")
        unlink(directory + "/.s.PGSQL.\(port).lock")
    }

    private static func isZombie(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") else { return true }
        return stat[stat.index(after: close)...].split(separator: " ").first == "Z"
    }

    @discardableResult
    private func asPostgres(_ tool: String, _ arguments: [String]) throws -> String {
        // From /tmp: the postgres user may not be able to enter the current directory.
        try Self.run("/usr/bin/env", ["-C", "/tmp", "/usr/sbin/runuser", "-u", "postgres", "--", "\(bin)/\(tool)"] + arguments)
    }

    /// Runs a program to its end with posix_spawn and waitpid. Not Foundation's Process: it
    /// watches its child through a descriptor the child inherits, and the server `pg_ctl start`
    /// leaves running keeps that open, so the wait would never end. For the same reason the
    /// child gets none of the test process's other descriptors (``SpawnActions``).
    @discardableResult
    private static func run(_ executable: String, _ arguments: [String]) throws -> String {
        let outputPath = "/tmp/pg-tool-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { unlink(outputPath) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        try SpawnActions.closeInherited(&actions)
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, executable, &actions, nil, argv, environ)
        guard spawned == 0 else { throw Failure(description: "cannot run \(executable): \(String(cString: strerror(spawned)))") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let text = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        let exited = status & 0x7F == 0
        guard exited, (status >> 8) & 0xFF == 0 else {
            throw Failure(description: "\(executable) \(arguments.joined(separator: " ")) failed (status \(status)): \(text)")
        }
        return text
    }
}
