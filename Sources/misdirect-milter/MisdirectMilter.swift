import ArgumentParser
import Foundation
import MisdirectMilterKit

/// The command-line entry point.
@main
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
        subcommands: [Serve.self, Check.self, Probe.self, Replay.self, ConfigCommand.self, Held.self, HistoryCommand.self]
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
