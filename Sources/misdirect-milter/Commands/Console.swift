import ArgumentParser
import CorrespondentHistory
import Foundation
import Hummingbird
import Logging
import MisdirectMilterKit
import ReviewConsole
import ReviewLinks

/// `misdirect-milter console`: the review console, and `console passwd` for its users file.
struct Console: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the review console, or manage its users.",
        discussion: """
            A web page for reviewers without a shell: held mail with Release and Drop, and the \
            confirmation pages of the signed links in review notices. Configured by the console \
            section of the milter's configuration; meant to sit behind the site's reverse proxy \
            (see docs/console.md). It runs unprivileged and changes the hold queue only through \
            held_command (sudo misdirect-milter held, allowed by the package's sudoers drop-in).
            """,
        subcommands: [Run.self, Passwd.self],
        defaultSubcommand: Run.self
    )

    /// Loads the configuration's console section, or ends with EX_CONFIG.
    static func settings(_ options: ConfigOptions) throws -> (Configuration, ConsoleConfiguration) {
        let configuration: Configuration
        do {
            configuration = try ConfigurationLoader.load(path: options.path)
        } catch {
            printError("misdirect-milter: \(error)")
            throw ExitCode(ExitStatus.config)
        }
        guard let console = configuration.console else {
            printError("misdirect-milter: \(options.path): the console is not configured (add a console: section; see misdirect-milter.yml(5))")
            throw ExitCode(ExitStatus.config)
        }
        return (configuration, console)
    }

    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Run the console (the default).")

        @OptionGroup var options: ConfigOptions

        func run() async throws {
            let (configuration, settings) = try Console.settings(options)
            LineLogHandler.level.value = configuration.logLevel
            let (sink, fallback) = LogSink.open(configuration.logDestination, tag: "misdirect-milter-console")
            LoggingSystem.bootstrap { label in LineLogHandler(label: label, sink: sink) }
            let logger = {
                var logger = Logger(label: "misdirect-milter-console")
                logger.logLevel = configuration.logLevel
                return logger
            }()
            if let fallback { logger.warning("\(fallback)") }

            let audit = AuditLog(path: settings.auditLog, logger: logger)
            var signer: LinkSigner?
            var ledger: LinkLedger?
            do {
                try audit.check()
                signer = LinkSigner(key: try LinkKey.loadOrCreate(at: settings.linkKeyFile))
                ledger = try LinkLedger(path: settings.usedLinksFile, now: Int(Date().timeIntervalSince1970))
            } catch {
                logger.critical("cannot start the console", metadata: ["error": "\(error)"])
                throw ExitCode(ExitStatus.unavailable)
            }
            if !FileManager.default.isReadableFile(atPath: settings.usersFile) && settings.proxyUserHeader == nil {
                logger.warning("no users file: nobody can sign in; add one with: misdirect-milter console passwd NAME",
                               metadata: ["file": "\(settings.usersFile)"])
            }
            // The decisions the milter records in its history store, for the decisions page and
            // the report; the schema is brought up to date here too, so a console started before
            // the upgraded milter still finds the tables.
            let store = configuration.history.map { history in
                history.openStore(logger: Logger(label: "misdirect-milter-console") { _ in MinimumLevelHandler(.warning, forwardingTo: logger) })
            }
            if let store, let history = configuration.history {
                do {
                    try await withDeadline(.seconds(10)) { try await store.prepare() }
                } catch {
                    logger.error("history store unavailable: the decisions page will say so until it is back",
                                 metadata: ["history": "\(history.location)", "error": "\(error)"])
                }
            }
            let console = ReviewConsole(settings: settings, queue: HeldCommand(command: settings.heldCommand),
                                        signer: signer, ledger: ledger, audit: audit, decisions: store,
                                        retentionDays: configuration.history?.service.retentionDays ?? 400)
            let address: BindAddress
            switch settings.listen {
            case let .tcp(host, port): address = .hostname(host, port: Int(port))
            case let .unix(path):
                unlink(path)
                address = .unixDomainSocket(path: path)
            }
            let listen = settings.listen
            let application = Application(
                router: console.router(),
                configuration: .init(address: address, serverName: nil),
                onServerRunning: { _ in
                    logger.notice("console listening", metadata: ["listen": "\(listen)", "config.file": "\(options.path)"])
                },
                logger: logger)
            do {
                try await application.runService()
            } catch {
                logger.critical("console stopped", metadata: ["listen": "\(listen)", "error": "\(error)"])
                throw ExitCode(ExitStatus.unavailable)
            }
        }
    }

    struct Passwd: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a reviewer to the console's users file, change their password, or remove them.",
            discussion: "The file holds bcrypt hashes (cost \(ConsoleUsers.cost)), one name:hash line per reviewer; the console reads it at each sign-in."
        )

        @OptionGroup var options: ConfigOptions
        @Option(name: .customLong("users-file"), help: ArgumentHelp("The users file (default: the configuration's console.users_file).", valueName: "file"))
        var usersFile: String?
        @Flag(name: .customLong("password-stdin"), help: "Read the password from the first line of standard input instead of asking twice.")
        var passwordFromStandardInput = false
        @Flag(help: "Remove the reviewer.") var delete = false
        @Argument(help: "The reviewer's name.") var name: String

        func run() throws {
            let path = try usersFile ?? Console.settings(options).1.usersFile
            let users = ConsoleUsers(path: path)
            var password: String?
            if !delete {
                password = try readPassword()
                guard let chosen = password, chosen.count >= 10 else {
                    printError("misdirect-milter console passwd: a password has at least 10 characters")
                    throw ExitCode.failure
                }
            }
            do {
                try users.set(name: name, password: password)
            } catch {
                printError("misdirect-milter console passwd: \(error)")
                throw ExitCode.failure
            }
            // Run as root on a packaged install: the console (user misdirect-milter) must read it.
            if getuid() == 0, let group = getgrnam("misdirect-milter") {
                _ = chown(path, 0, group.pointee.gr_gid)
            }
            print(delete ? "removed \(name) from \(path)" : "set the password of \(name) in \(path)")
        }

        private func readPassword() throws -> String? {
            if passwordFromStandardInput || isatty(0) == 0 {
                return readLine(strippingNewline: true)
            }
            guard let first = getpass("Password for \(name): ").map({ String(cString: $0) }),
                  let second = getpass("Again: ").map({ String(cString: $0) })
            else { return nil }
            guard first == second else {
                printError("misdirect-milter console passwd: the two passwords differ; nothing changed")
                throw ExitCode.failure
            }
            return first
        }
    }
}
