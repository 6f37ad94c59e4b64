import ArgumentParser
import Foundation
import MisdirectMilterKit

/// The root command.
struct MisdirectMilter: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "misdirect-milter",
        abstract: "A milter that catches mail addressed to look-alikes of the domains you write to.",
        discussion: """
            Plug it into Postfix with smtpd_milters (or Sendmail with INPUT_MAIL_FILTER). Each \
            recipient is classified at RCPT time; a typo or look-alike of a protected domain \
            (army.ml for army.mil) is refused, tagged or logged as the policy says, and every \
            accepted message gets an X-Misdirection-Risk header.
            """,
        version: Version.current,
        subcommands: [Serve.self, Check.self, Probe.self, Replay.self, ConfigCommand.self, Held.self, HistoryCommand.self, Console.self]
    )
}

/// Options every command shares.
struct ConfigOptions: ParsableArguments {
    @Option(name: .customLong("config"), help: ArgumentHelp("The configuration file.", valueName: "file"))
    var path: String = Configuration.defaultPath

    /// Loads the engine, or ends the process with EX_CONFIG (78) and the located problem.
    func loadEngine(generation: Int = 1) throws -> Engine {
        do {
            return try Engine.load(path: path, generation: generation)
        } catch {
            printError("misdirect-milter: \(error)")
            throw ExitCode(ExitStatus.config)
        }
    }
}

/// sysexits(3) values the commands use.
enum ExitStatus {
    /// EX_SOFTWARE: an internal error.
    static let software: Int32 = 70
    /// EX_UNAVAILABLE: a service the command needs is unavailable (the socket cannot be bound).
    static let unavailable: Int32 = 69
    /// EX_NOINPUT: an input file cannot be read.
    static let noInput: Int32 = 66
    /// EX_PROTOCOL: the peer broke the protocol (`probe`: the milter's answers).
    static let protocolError: Int32 = 76
    /// EX_NOPERM: the process cannot become the configured user.
    static let noPermission: Int32 = 77
    /// EX_CONFIG: the configuration is wrong.
    static let config: Int32 = 78
}

/// The process's entry point: parses the command line and runs the command on the main thread,
/// an asynchronous one (`check`, `history`) as a task the main thread waits for.
///
/// Not `AsyncParsableCommand.main()`: Swift's asynchronous main ends the main thread on Linux
/// (libdispatch's `dispatch_main`), and a thread that has ended keeps the credentials it had, so
/// after `serve` drops root, `ps` and /proc/PID/status (which show the main thread's) would go on
/// saying root. The main thread has to live and take part in the `setuid`.
@main
enum Entry {
    static func main() {
        let command: any ParsableCommand
        do {
            command = try MisdirectMilter.parseAsRoot()
        } catch {
            MisdirectMilter.exit(withError: error)
        }
        guard let asynchronous = command as? any AsyncParsableCommand else {
            var command = command
            do {
                try command.run()
                MisdirectMilter.exit()
            } catch {
                MisdirectMilter.exit(withError: error)
            }
        }
        let box = UncheckedCommand(command: asynchronous)
        do {
            try runBlocking {
                var command = box.command
                try await command.run()
            }
            MisdirectMilter.exit()
        } catch {
            MisdirectMilter.exit(withError: error)
        }
    }

    /// The parsed command, handed once from the main thread to the task that runs it.
    private struct UncheckedCommand: @unchecked Sendable {
        let command: any AsyncParsableCommand
    }
}
