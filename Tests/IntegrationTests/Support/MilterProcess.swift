import Foundation
import TestSupport

/// The real `misdirect-milter` binary, serving one configuration.
final class MilterProcess {
    let name: String
    let configPath: String
    let logPath: String
    let socket: String
    private var process: Process?

    /// The binary under test: `MISDIRECT_MILTER_BINARY`, or the one built next to the tests.
    static var binary: String {
        if let path = ProcessInfo.processInfo.environment["MISDIRECT_MILTER_BINARY"] { return path }
        let tests = URL(fileURLWithPath: (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0])
        return tests.deletingLastPathComponent().appendingPathComponent("misdirect-milter").path
    }

    /// - Parameters:
    ///   - socket: the libmilter socket it listens on, also written into the configuration.
    ///   - configuration: YAML for everything but the socket, or nil to use `configPath` as is;
    ///     without a `public_suffix_list:` of its own it gets the pinned one.
    init(name: String, root: String, socket: String, configuration: String?, configPath: String? = nil) throws {
        self.name = name
        self.socket = socket
        self.logPath = "\(root)/log/\(name).log"
        self.configPath = configPath ?? "\(root)/\(name).yml"
        if let configuration {
            let suffixList = configuration.contains("public_suffix_list:") ? "" : PostfixEnvironment.pinnedSuffixList
            try "socket: \(socket)\n\(suffixList)\(configuration)".write(toFile: self.configPath, atomically: true, encoding: .utf8)
        }
    }

    /// The socket as Postfix's `smtpd_milters` writes it.
    var postfixSocket: String {
        if socket.hasPrefix("unix:") { return socket }
        let parts = socket.dropFirst("inet:".count).split(separator: "@")
        return "inet:\(parts[1]):\(parts[0])"
    }

    func start() throws {
        guard FileManager.default.isExecutableFile(atPath: Self.binary) else {
            throw Command.Failure(description: "\(Self.binary) is missing: run swift build first (the README's test command does)")
        }
        try FileManager.default.createDirectory(atPath: URL(fileURLWithPath: logPath).deletingLastPathComponent().path, withIntermediateDirectories: true)
        process = try Command.start(Self.binary, ["serve", "--config", configPath], log: logPath)
        let ready = Command.waitUntil(timeout: .seconds(20)) { isListening || !(process?.isRunning ?? false) }
        guard ready, process?.isRunning == true else {
            throw Command.Failure(description: "\(name) milter did not start:\n\(log)")
        }
    }

    var isListening: Bool {
        if socket.hasPrefix("unix:") { return Loopback.isListening(unixPath: String(socket.dropFirst(5))) }
        let port = socket.dropFirst("inet:".count).split(separator: "@")[0]
        return Loopback.isListening(UInt16(port)!)
    }

    var pid: Int32 { process?.processIdentifier ?? 0 }

    func signal(_ number: Int32) { kill(pid, number) }

    var isRunning: Bool { process?.isRunning ?? false }

    /// The exit status, once it has exited.
    var terminationStatus: Int32 { process?.terminationStatus ?? -1 }

    func stop() {
        if let process { Command.stop(process) }
    }

    /// Kills it with SIGKILL, as the OOM killer or a crash would, and waits until it is gone.
    func killHard() throws {
        signal(SIGKILL)
        guard Command.waitUntil(timeout: .seconds(10), { !isRunning }) else {
            throw Command.Failure(description: "\(name) milter survived SIGKILL")
        }
    }

    /// What a graceful stop reported.
    struct StopReport {
        /// Sessions open when SIGTERM came (`stopping sessions.live=N`).
        let live: Int?
        /// Sessions still open after the drain (`stopped sessions.left=N`).
        let left: Int?
        /// The exit status, nil if it had to be killed.
        let status: Int32?
        /// What it logged from the signal on.
        let log: String
    }

    /// Stops it with SIGTERM and reads how many sessions were open and left: the real binary's
    /// count of per-connection state.
    func stopGracefully() -> StopReport {
        let before = log.utf8.count
        signal(SIGTERM)
        let exited = Command.waitUntil(timeout: .seconds(45)) { !isRunning }
        if !exited { stop() }
        let tail = String(decoding: Array(log.utf8.dropFirst(before)), as: UTF8.self)
        func count(_ key: String) -> Int? {
            tail.split(whereSeparator: \.isWhitespace).first { $0.hasPrefix(key + "=") }.flatMap { Int($0.dropFirst(key.count + 1)) }
        }
        return StopReport(
            live: count("sessions.live"), left: count("sessions.left"),
            status: exited ? process?.terminationStatus : nil, log: tail)
    }

    /// Everything the milter has logged.
    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// JSON log lines (`log_target: json`) as string dictionaries, waiting up to `timeout` for one
    /// that `matches`.
    func jsonLogLines(timeout: Duration = .seconds(10), where matches: ([String: String]) -> Bool) -> [[String: String]] {
        var found: [[String: String]] = []
        _ = Command.waitUntil(timeout: timeout) {
            found = log.split(separator: "\n").compactMap { line in
                (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: String]
            }.filter(matches)
            return !found.isEmpty
        }
        return found
    }

    /// Log lines containing every one of `fragments`, waiting up to `timeout` for one.
    func logLines(containing fragments: [String], timeout: Duration = .seconds(10)) -> [String] {
        var lines: [String] = []
        _ = Command.waitUntil(timeout: timeout) {
            lines = log.split(separator: "\n").map(String.init).filter { line in fragments.allSatisfy { line.contains($0) } }
            return !lines.isEmpty
        }
        return lines
    }
}
