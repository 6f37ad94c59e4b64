import ArgumentParser
import Foundation
import MisdirectMilterKit
import Logging
import Milter
import MisdirectionRisk
import ServiceLifecycle

/// `misdirect-milter serve`: runs the milter until SIGTERM or SIGINT; SIGHUP or SIGUSR1 reloads.
struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the milter.",
        discussion: """
            Listens on the configured socket for the MTA. SIGHUP or SIGUSR1 reload the \
            configuration and the public suffix list (a bad new configuration is logged and the \
            old one kept); SIGTERM or SIGINT stop after connections in flight finish (at most \
            \(Int(Serve.shutdownGrace.components.seconds)) seconds). Logs go to syslog's mail \
            facility unless log_target says otherwise.
            """
    )

    /// How long a stop waits for connections in flight.
    static let shutdownGrace = Duration.seconds(30)

    @OptionGroup var options: ConfigOptions

    func run() throws {
        // First of all: a SIGHUP (a reload, logrotate) or SIGTERM during the set-up below would
        // otherwise kill the process with the default action. Until the loop below reads them,
        // they wait in the watcher's pipe.
        let signals = SignalWatcher()
        let systemd = SystemdNotifier()
        let engine = try options.loadEngine()
        let configuration = engine.configuration
        LineLogHandler.level.value = configuration.logLevel
        let (sink, fallback) = LogSink.open(configuration.logDestination, tag: "misdirect-milter")
        LoggingSystem.bootstrap { label in LineLogHandler(label: label, sink: sink) }
        let logger = Logger(label: "misdirect-milter")
        if let fallback { logger.warning("\(fallback)") }
        if configuration.protectedDomains.isEmpty {
            logger.warning("no protected domains configured: nothing will be flagged", metadata: ["config.file": "\(options.path)"])
        }

        let store = EngineStore(engine)
        let history = Self.openHistory(configuration, engines: store, logger: logger)
        var metricsServer: MetricsServer?
        if let address = configuration.metricsListen {
            let registry = MilterMetrics.bootstrapPrometheus()
            MilterMetrics.publishGeneration(engine.generation)
            do {
                metricsServer = try MetricsServer(address: address) { MilterMetrics.exposition(registry, history: history) }
            } catch {
                logger.critical("cannot serve metrics", metadata: ["metrics.listen": "\(address)", "error": "\(error)"])
                throw ExitCode(ExitStatus.unavailable)
            }
        }

        let milterConfiguration = MilterConfiguration(
            name: "misdirect-milter",
            socket: configuration.socket,
            stages: MisdirectionSession.stages(reviewing: configuration.review != nil),
            unansweredStages: MisdirectionSession.unansweredStages,
            actions: MisdirectionSession.actions,
            macros: MisdirectionSession.macros,
            unixSocketPermissions: UnixSocketPermissions(mode: configuration.socketMode, group: configuration.socketGroupID))
        // Held mail is copied to reviewers only if a review mailbox was configured at start:
        // the body stage is negotiated once, with the MTA.
        let notifier = configuration.review.map { ReviewNotifier(logger: logger, maximumBytes: $0.queueSize) }
        let server = MilterServer(configuration: milterConfiguration, stageObserver: metricsServer.map { _ in StageTimings() }) {
            MisdirectionSession(engine: store.current, logger: logger, notifier: notifier, history: history)
        }
        do {
            try server.open()
        } catch {
            logger.critical("cannot listen", metadata: ["socket": "\(milterConfiguration.socket)", "error": "\(error)"])
            throw ExitCode(ExitStatus.unavailable)
        }
        var started = Self.summary(engine, path: options.path)
        do {
            if let outcome = try Privileges.drop(configuration) {
                started["process.user"] = "\(outcome.user)"
            }
        } catch {
            logger.critical("cannot drop privileges", metadata: ["error": "\(error)"])
            throw ExitCode(ExitStatus.noPermission)
        }
        if geteuid() == 0 {
            logger.warning("running as root: set user: in the configuration (or User= in the systemd unit)")
        }
        // After the privilege drop: the SQLite file belongs to the user the milter runs as, and
        // so does the link key the review console shares.
        if let notifier {
            do {
                notifier.useLinks(try NoticeLinks(configuration.console))
            } catch {
                logger.critical("cannot sign review console links", metadata: ["error": "\(error)"])
                throw ExitCode(ExitStatus.unavailable)
            }
            if let links = notifier.links { started["review.links"] = "\(links.baseURL)" }
        }
        var services: [any Service] = []
        if let metricsServer {
            services.append(metricsServer)
            started["metrics.listen"] = "\(metricsServer.address)"
        }
        if let history {
            services.append(history)
            started["history.store"] = "\(history.configuration.location)"
        }
        if let notifier { services.append(notifier) }
        let background = ServeServices(services, logger: logger)
        background.start()
        logger.notice("started", metadata: started)

        let loop = Thread {
            do {
                try server.run()
            } catch {
                logger.critical("milter loop failed", metadata: ["error": "\(error)"])
            }
            signals.notifyLoopEnded()
        }
        loop.start()
        systemd.ready(status: "serving on \(configuration.socket)")

        var stopping = false
        while true {
            switch signals.next() {
            case .reload:
                systemd.reloading()
                reload(store, logger: logger)
                history?.rebuild()
                systemd.ready(status: "serving on \(configuration.socket), configuration generation \(store.current.generation)")
            case .stop where !stopping:
                // Stop accepting, let the connections in flight finish (libmilter serves them
                // only while its loop runs), then end the loop.
                stopping = true
                systemd.stopping()
                logger.notice("stopping", metadata: ["sessions.live": "\(MilterServer.liveSessions)"])
                if MilterServer.stopAccepting() {
                    _ = MilterServer.waitForSessions(timeout: Self.shutdownGrace)
                } else {
                    logger.warning("cannot stop accepting alone; stopping at once")
                }
                MilterServer.stop()
            case .stop:
                continue
            case .loopEnded:
                logger.notice("stopped", metadata: ["sessions.left": "\(MilterServer.liveSessions)"])
                // Every session is done, so nothing more reaches the services: stop them, the
                // history last but metrics (it writes what the sessions delivered). This thread
                // is the signal loop's, not the concurrency pool's, so it waits here.
                do {
                    try runBlocking { try await background.stop() }
                } catch {
                    logger.error("services did not stop cleanly", metadata: ["error": "\(error)"])
                }
                if !stopping { throw ExitCode(ExitStatus.software) }
                return
            }
        }
    }

    private func reload(_ store: EngineStore, logger: Logger) {
        let old = store.current
        do {
            let (new, kept) = Reload.keepingRestartOnlySettings(
                of: old, in: try Engine.load(path: options.path, generation: old.generation + 1))
            for change in kept {
                logger.warning("\(change) changes need a restart; keeping the old setting", metadata: ["config.key": "\(change)"])
            }
            store.replace(with: new)
            LineLogHandler.level.value = new.configuration.logLevel
            MilterMetrics.recordReload(succeeded: true, generation: new.generation)
            logger.notice("configuration reloaded", metadata: Self.summary(new, path: options.path))
        } catch {
            MilterMetrics.recordReload(succeeded: false, generation: old.generation)
            logger.error("reload failed; keeping the previous configuration", metadata: [
                "error": "\(error)", "config.generation": "\(old.generation)",
            ])
        }
    }

    /// The correspondent history, when configured. A history that cannot be set up (its address
    /// key unreadable) is logged and left out: mail never waits for it.
    static func openHistory(_ configuration: Configuration, engines: EngineStore, logger: Logger) -> HistoryRuntime? {
        guard let history = configuration.history else { return nil }
        do {
            return try HistoryRuntime(configuration: history, engines: engines, logger: logger)
        } catch {
            logger.error("history unavailable; running without it", metadata: ["error": "\(error)"])
            return nil
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
