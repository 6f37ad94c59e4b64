import ArgumentParser
import Foundation
import Logging
import Milter
import MisdirectionRisk

/// `misdirect-milter serve`: runs the milter until SIGTERM or SIGINT; SIGHUP or SIGUSR1 reloads.
struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the milter.",
        discussion: """
            Listens on the configured socket for the MTA. SIGHUP or SIGUSR1 reload the \
            configuration and the public suffix list (a bad new configuration is logged and the \
            old one kept); SIGTERM or SIGINT stop after connections in flight finish (at most \
            \(Int(Serve.shutdownGrace.components.seconds)) seconds).
            """
    )

    /// How long a stop waits for connections in flight.
    static let shutdownGrace = Duration.seconds(30)

    @OptionGroup var options: ConfigOptions

    func run() throws {
        let engine = try options.loadEngine()
        let level = engine.configuration.logLevel
        LoggingSystem.bootstrap { label in LineLogHandler(label: label, level: level) }
        let logger = Logger(label: "misdirect-milter")
        if engine.configuration.protectedDomains.isEmpty {
            logger.warning("no protected domains configured: nothing will be flagged", metadata: ["config.file": "\(options.path)"])
        }

        let store = EngineStore(engine)
        let milterConfiguration = MilterConfiguration(
            name: "misdirect-milter",
            socket: engine.configuration.socket,
            stages: MisdirectionSession.stages(reviewing: engine.configuration.review != nil),
            actions: MisdirectionSession.actions,
            macros: MisdirectionSession.macros,
            unixSocketPermissions: UnixSocketPermissions(
                mode: engine.configuration.socketMode, group: engine.configuration.socketGroupID),
            tcpFrontEnd: engine.configuration.tcpFrontEnd)
        // Held mail is copied to reviewers only if a review mailbox was configured at start:
        // the body stage is negotiated once, with the MTA.
        let notifier = engine.configuration.review.map { _ in ReviewNotifier(logger: logger) }
        let server = MilterServer(configuration: milterConfiguration) {
            MisdirectionSession(engine: store.current, logger: logger, notifier: notifier)
        }
        let signals = SignalWatcher()
        do {
            try server.open()
        } catch {
            logger.critical("cannot listen", metadata: ["socket": "\(milterConfiguration.socket)", "error": "\(error)"])
            throw ExitCode(ExitStatus.unavailable)
        }
        logger.notice("started", metadata: Self.summary(engine, path: options.path))

        let loop = Thread {
            do {
                try server.run()
            } catch {
                logger.critical("milter loop failed", metadata: ["error": "\(error)"])
            }
            signals.notifyLoopEnded()
        }
        loop.start()

        var stopping = false
        while true {
            switch signals.next() {
            case .reload:
                reload(store, logger: logger)
            case .stop where !stopping:
                stopping = true
                logger.notice("stopping", metadata: ["sessions.live": "\(MilterServer.liveSessions)"])
                MilterServer.stop()
            case .stop:
                continue
            case .loopEnded:
                let drained = MilterServer.waitForSessions(timeout: Self.shutdownGrace)
                logger.notice("stopped", metadata: ["sessions.left": "\(drained ? 0 : MilterServer.liveSessions)"])
                if !stopping { throw ExitCode(ExitStatus.software) }
                return
            }
        }
    }

    private func reload(_ store: EngineStore, logger: Logger) {
        let old = store.current
        do {
            let new = try Engine.load(path: options.path, generation: old.generation + 1)
            if (new.configuration.review == nil) != (old.configuration.review == nil) {
                logger.warning("adding or removing the review section takes effect at the next restart", metadata: [
                    "review.mailbox": "\(new.configuration.review?.mailbox.description ?? "none")",
                ])
            }
            if new.configuration.socket != old.configuration.socket {
                logger.warning("socket changes need a restart; still listening on the old one", metadata: [
                    "socket.old": "\(old.configuration.socket)", "socket.new": "\(new.configuration.socket)",
                ])
            }
            store.replace(with: new)
            logger.notice("configuration reloaded", metadata: Self.summary(new, path: options.path))
        } catch {
            logger.error("reload failed; keeping the previous configuration", metadata: [
                "error": "\(error)", "config.generation": "\(old.generation)",
            ])
        }
    }

    static func summary(_ engine: Engine, path: String) -> Logger.Metadata {
        let configuration = engine.configuration
        return [
            "config.file": "\(path)",
            "config.generation": "\(engine.generation)",
            "socket": "\(configuration.socket)",
            "risk.mode": "\(configuration.mode)",
            "protected.count": "\(configuration.protectedDomains.count)",
            "trusted.count": "\(configuration.trustedDomains.count)",
        ]
    }
}
