import ArgumentParser
import Foundation
import MisdirectMilterKit
import Logging

/// `misdirect-milter held`: lists, releases and drops the messages the milter put on hold.
struct Held: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List, release or drop messages held for review.",
        discussion: """
            Works on the Postfix host through Postfix's own tools (postqueue, postcat, postsuper), \
            normally as root. Only messages the milter held (X-Misdirection-Risk header with \
            action=quarantine) are shown or touched. Each release or drop is logged to syslog \
            (the facility and socket of the configuration, mail and /dev/log by default) with the \
            real and login uid of whoever ran it.
            """,
        subcommands: [List.self, Show.self, Release.self, Drop.self],
        defaultSubcommand: List.self
    )

    /// Options shared by the held subcommands.
    struct Options: ParsableArguments {
        @Option(name: .customLong("postfix-config"), help: ArgumentHelp("A Postfix configuration directory other than the default (postfix -c).", valueName: "dir"))
        var postfixConfig: String?

        @Option(name: .customLong("config"), help: ArgumentHelp("The milter's configuration: its syslog_facility and syslog_socket receive the audit lines (default: \(Configuration.defaultPath) when it exists).", valueName: "file"))
        var config: String?

        var queue: PostfixQueue { PostfixQueue(configDirectory: postfixConfig) }

        /// Where the audit lines go: syslog, with the configuration's facility and socket.
        func auditDestination() throws -> LogSink.Destination {
            var configuration = Configuration.defaults
            let path = config ?? (FileManager.default.fileExists(atPath: Configuration.defaultPath) ? Configuration.defaultPath : nil)
            if let path {
                do {
                    configuration = try ConfigurationLoader.load(path: path)
                } catch {
                    printError("misdirect-milter: \(error)")
                    throw ExitCode(ExitStatus.config)
                }
            }
            return .syslog(facility: configuration.syslogFacility, socket: configuration.syslogSocket)
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List held messages (the default).")

        @OptionGroup var options: Options
        @Flag(help: "Print one JSON object per line.") var json = false

        func run() throws {
            let held = try Held.attempt { try options.queue.heldMessages() }
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
                encoder.dateEncodingStrategy = .iso8601
                for message in held { print(String(decoding: try encoder.encode(message), as: UTF8.self)) }
                return
            }
            guard !held.isEmpty else {
                print("no held messages")
                return
            }
            print(Self.row(["QUEUE ID", "AGE", "LEVEL", "SENDER", "RECIPIENTS", "SUSPECTED"]))
            for message in held {
                print(Self.row([
                    message.queueID, message.age, message.level, message.sender,
                    message.recipients.joined(separator: ","), message.suspected.joined(separator: ","),
                ]))
            }
        }

        static func row(_ columns: [String]) -> String {
            let widths = [12, 6, 7, 28, 36]
            return zip(columns, widths + [0]).map { column, width in
                width == 0 ? column : column.padding(toLength: max(width, column.count + 1), withPad: " ", startingAt: 0)
            }.joined()
        }

    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one held message: its verdict, headers, the start of its body and its attachments.")

        @OptionGroup var options: Options
        @Flag(help: "Print one JSON object.") var json = false
        @Argument(help: "The queue id, as `held` lists it.") var queueID: String

        func run() throws {
            let detail = try Held.attempt { try options.queue.heldMessage(queueID) }
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
                encoder.dateEncodingStrategy = .iso8601
                print(String(decoding: try encoder.encode(detail), as: UTF8.self))
                return
            }
            let message = detail.message
            print("Queue id:    \(message.queueID)")
            print("Held since:  \(message.arrival) (\(message.age))")
            print("Sender:      \(message.sender)")
            print("Recipients:  \(message.recipients.joined(separator: ", "))")
            print("Level:       \(message.level)")
            print("Suspected:   \(message.suspected.joined(separator: ", "))")
            for reason in message.reasons { print("Why:         \(reason)") }
            print("\n" + detail.headers.map { "\($0[0]): \($0[1])" }.joined(separator: "\n"))
            print("\n" + detail.bodyLines.joined(separator: "\n"))
            for attachment in detail.attachments { print("Attachment:  \(attachment.name) (\(attachment.size) bytes)") }
        }
    }

    struct Release: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Release a held message for delivery (postsuper -H).")

        @OptionGroup var options: Options
        @Argument(help: "The queue id, as `held` lists it.") var queueID: String

        func run() throws {
            try Held.act("released", queueID, options: options) { try options.queue.release(queueID) }
        }
    }

    struct Drop: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a held message (postsuper -d).")

        @OptionGroup var options: Options
        @Argument(help: "The queue id, as `held` lists it.") var queueID: String

        func run() throws {
            try Held.act("dropped", queueID, options: options) { try options.queue.drop(queueID) }
        }
    }

    /// Runs a queue operation, turning its failure into a message and exit status 1.
    static func attempt<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch {
            printError("misdirect-milter held: \(error)")
            throw ExitCode.failure
        }
    }

    /// Carries out a release or drop, logs who did it (to syslog and standard error) and
    /// confirms on standard output.
    static func act(_ done: String, _ queueID: String, options: Options, _ operation: () throws -> Void) throws {
        let destination = try options.auditDestination()
        try attempt(operation)
        let metadata = auditMetadata(queueID: queueID)
        let message = "\(done) held message"
        let line = LineLogHandler.format(.logfmt, level: .notice, label: "misdirect-milter", message: message, metadata: metadata, timestamp: false)
        var logged = false
        if case let .syslog(facility, socket) = destination, let syslog = try? SyslogConnection(path: socket, facility: facility, tag: "misdirect-milter") {
            logged = syslog.send(severity: SyslogConnection.severity(.notice), message: line)
        }
        let sink = LogSink.open(.standardError(.logfmt), tag: "misdirect-milter").sink
        sink.write(level: .notice, line: LineLogHandler.format(.logfmt, level: .notice, label: "misdirect-milter", message: message, metadata: metadata, timestamp: true))
        if !logged, case let .syslog(_, socket) = destination {
            printError("misdirect-milter held: warning: could not log this to syslog (\(socket)); only standard error has it")
        }
        print("\(done) \(queueID)")
    }

    /// Who did it: the name they claim (`SUDO_USER`, `USER`), which anyone can set, and what the
    /// kernel says: the real uid, its user, and the login uid (`/proc/self/loginuid`: the user
    /// who logged in, kept across sudo and su; `unset` outside a login session).
    static func auditMetadata(queueID: String) -> Logger.Metadata {
        let environment = ProcessInfo.processInfo.environment
        let claimed = environment["SUDO_USER"].map { "\($0) (via sudo)" } ?? environment["USER"] ?? "unknown"
        let uid = getuid()
        var metadata: Logger.Metadata = [
            "mail.queue_id": "\(queueID)", "operator": "\(claimed)",
            "operator.uid": "\(uid)", "operator.login_uid": "\(loginUID())",
        ]
        if let entry = getpwuid(uid) { metadata["operator.user"] = "\(String(cString: entry.pointee.pw_name))" }
        return metadata
    }

    /// `/proc/self/loginuid`, or `unset` (4294967295) / `unknown`.
    static func loginUID() -> String {
        guard let text = try? String(contentsOfFile: "/proc/self/loginuid", encoding: .utf8) else { return "unknown" }
        let value = text.trimmingCharacters(in: .whitespacesAndNewlines)
        return value == "4294967295" ? "unset" : value
    }
}
