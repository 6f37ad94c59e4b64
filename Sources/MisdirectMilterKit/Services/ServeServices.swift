import Locking
import Logging
import ServiceLifecycle

/// The services `serve` runs beside libmilter (metrics, the correspondent history, the review
/// notifier) as one swift-service-lifecycle `ServiceGroup`: started together after the privilege
/// drop, and shut down gracefully in one place, the last started first, once libmilter's loop
/// has ended and no session can queue more work for them.
///
/// What libmilter forces stays outside the group. Its loop is a blocking C call that needs a
/// thread of its own, and it blocks SIGHUP, SIGTERM and SIGINT in every thread it starts, to wait
/// for them itself. A second handler for those signals, such as the group's own, then races the
/// first or never runs. So the group listens to no signal: `serve`'s ``SignalWatcher`` is the one
/// reader of signals (the Milter library's `SignalOwnership` keeps libmilter's sigwait off them),
/// and it ends the group through ``stop()``.
package final class ServeServices: Sendable {
    /// The longest a graceful stop may take before the services are cancelled: the history's
    /// last write has 10 seconds of it.
    package static let defaultShutdownLimit = Duration.seconds(20)

    private let group: ServiceGroup
    private let running = LockedValue<Task<Void, any Error>?>(nil)

    /// - Parameters:
    ///   - services: in the order they start; they stop in the reverse order.
    ///   - shutdownLimit: how long a stop waits before cancelling the services still running.
    package init(_ services: [any Service], logger: Logger, shutdownLimit: Duration = defaultShutdownLimit) {
        var configuration = ServiceGroupConfiguration(services: services, logger: logger)
        configuration.maximumGracefulShutdownDuration = shutdownLimit
        // No limit on the cancellation that follows: past it, ServiceGroup calls fatalError,
        // which would crash a milter stopping under load (seen under AddressSanitizer, with the
        // concurrency pool busy). Every service here ends promptly once cancelled.
        group = ServiceGroup(configuration: configuration)
    }

    /// Runs the services in the background; returns at once.
    package func start() {
        running.withLock { task in
            precondition(task == nil, "started twice")
            task = Task.detached { [group] in try await group.run() }
        }
    }

    /// Shuts the services down gracefully and waits until they have ended.
    package func stop() async throws {
        await group.triggerGracefulShutdown()
        try await running.withLock { $0 }?.value
    }
}
