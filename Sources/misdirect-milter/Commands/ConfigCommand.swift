import ArgumentParser
import Foundation
import MisdirectMilterKit

/// `misdirect-milter config`: commands about the configuration file.
struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Work with the configuration file.",
        subcommands: [ConfigCheck.self]
    )
}

/// `misdirect-milter config check`: validates the file (and the public suffix list it names)
/// without starting anything. Exit 0, or 78 (EX_CONFIG) with file, line and key.
struct ConfigCheck: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Check the configuration without starting the milter.",
        discussion: "Exits 0 when serve would accept it, or 78 (EX_CONFIG) naming the file, line and key of the problem. Run it before a reload."
    )

    @OptionGroup var options: ConfigOptions

    func run() throws {
        let engine = try options.loadEngine()
        print(Self.summary(engine, path: options.path))
    }

    /// `FILE: OK; …` with what a postmaster would want to confirm.
    static func summary(_ engine: Engine, path: String) -> String {
        let configuration = engine.configuration
        var parts = [
            "socket \(configuration.socket) (Postfix: \(configuration.socket.postfixSyntax))",
            "mode \(configuration.mode)",
            "\(configuration.protectedDomains.count) protected, \(configuration.trustedDomains.count) trusted",
            "log \(configuration.logTarget)",
        ]
        if let metrics = configuration.metricsListen { parts.append("metrics http://\(metrics)/metrics") }
        if let user = configuration.user { parts.append("user \(user)") }
        if let history = configuration.history { parts.append("history \(history.location)") }
        return "\(path): OK; " + parts.joined(separator: ", ")
    }
}
