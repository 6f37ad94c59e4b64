import ArgumentParser
import Foundation
import Logging

/// `misdirect-milter held`: lists, releases and drops the messages the milter put on hold.
struct Held: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List, release or drop messages held for review.",
        discussion: """
            Works on the Postfix host through Postfix's own tools (postqueue, postcat, postsuper), \
            normally as root. Only messages that carry an X-Misdirection-Risk header are shown \
            or touched.
            """,
        subcommands: [List.self, Release.self, Drop.self],
        defaultSubcommand: List.self
    )

    /// Options shared by the held subcommands.
    struct Options: ParsableArguments {
        @Option(name: .customLong("postfix-config"), help: ArgumentHelp("A Postfix configuration directory other than the default (postfix -c).", valueName: "dir"))
        var postfixConfig: String?

        var queue: PostfixQueue { PostfixQueue(configDirectory: postfixConfig) }
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
                    message.queueID, Self.age(since: message.arrival), message.level, message.sender,
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

        static func age(since date: Date) -> String {
            let seconds = max(0, Int(Date().timeIntervalSince(date)))
            switch seconds {
            case ..<120: return "\(seconds)s"
            case ..<7200: return "\(seconds / 60)m"
            case ..<172_800: return "\(seconds / 3600)h"
            default: return "\(seconds / 86400)d"
            }
        }
    }

    struct Release: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Release a held message for delivery (postsuper -H).")

        @OptionGroup var options: Options
        @Argument(help: "The queue id, as `held` lists it.") var queueID: String

        func run() throws {
            try Held.act("released", queueID) { try options.queue.release(queueID) }
        }
    }

    struct Drop: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a held message (postsuper -d).")

        @OptionGroup var options: Options
        @Argument(help: "The queue id, as `held` lists it.") var queueID: String

        func run() throws {
            try Held.act("dropped", queueID) { try options.queue.drop(queueID) }
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

    /// Carries out a release or drop, logs who did it and confirms on standard output.
    static func act(_ done: String, _ queueID: String, _ operation: () throws -> Void) throws {
        try attempt(operation)
        audit("\(done) held message", queueID: queueID)
        print("\(done) \(queueID)")
    }

    /// Logs who did what to which message.
    private static func audit(_ what: Logger.Message, queueID: String) {
        let environment = ProcessInfo.processInfo.environment
        let user = environment["SUDO_USER"].map { "\($0) (via sudo)" } ?? environment["USER"] ?? "uid \(getuid())"
        let sink = LogSink.open(.standardError(.logfmt), tag: "misdirect-milter").sink
        var logger = Logger(label: "misdirect-milter") { LineLogHandler(label: $0, sink: sink) }
        logger.logLevel = .info
        logger.notice(what, metadata: ["mail.queue_id": "\(queueID)", "operator": "\(user)"])
    }
}
