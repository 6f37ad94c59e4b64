import Synchronization
#if canImport(Glibc)
internal import Glibc
#endif

/// Runs a milter through libmilter: registers it, binds its socket and serves MTA connections,
/// making one ``MilterSession`` per connection.
///
/// libmilter keeps one filter per process, so only one server can be opened.
///
/// - Important: Call ``open()`` first (while still privileged: it binds the socket and removes a
///   stale unix socket file), then ``run()``. libmilter's loop blocks SIGHUP, SIGTERM and SIGINT
///   in the thread that calls ``run()`` and in its workers, and its own signal thread stops the
///   milter on any of them. A process that wants to own those signals (to reload on SIGHUP)
///   calls ``run()`` on a thread of its own and handles them in its main thread, which Linux
///   prefers for process-directed signals.
public struct MilterServer: Sendable {
    public let configuration: MilterConfiguration
    private let stageObserver: (any MilterStageObserver)?
    private let makeSession: @Sendable () -> any MilterSession

    /// - Parameters:
    ///   - configuration: registration and negotiation settings.
    ///   - stageObserver: told how long every session callback took (metrics), or nil.
    ///   - makeSession: makes the session of a new connection; called on libmilter's threads.
    public init(
        configuration: MilterConfiguration, stageObserver: (any MilterStageObserver)? = nil,
        makeSession: @escaping @Sendable () -> any MilterSession
    ) {
        self.configuration = configuration
        self.stageObserver = stageObserver
        self.makeSession = makeSession
    }

    /// Registers the filter with libmilter and binds its socket.
    /// - Throws: ``MilterError/alreadyRunning`` if a server was opened before in this process,
    ///   ``MilterError/libmilterFailed`` when the socket cannot be bound.
    public func open() throws(MilterError) {
        let fresh = registration.withLock { current -> Bool in
            guard current == nil else { return false }
            current = Registration(configuration: configuration, stageObserver: stageObserver, makeSession: makeSession)
            return true
        }
        guard fresh else { throw .alreadyRunning }
        try LibMilter.register(name: configuration.name)
        try LibMilter.configure(configuration)
        try LibMilter.openSocket(configuration.socket, permissions: configuration.unixSocketPermissions)
    }

    /// Serves connections until ``stop()`` is called or libmilter's signal thread stops it.
    /// Returns when libmilter's accept loop ends; connections may still be finishing then (see
    /// ``waitForSessions(timeout:)``).
    public func run() throws(MilterError) {
        try LibMilter.check(LibMilter.main(), "smfi_main")
    }

    /// Asks the accept loop to end (`smfi_stop`). Safe from any thread but a signal handler.
    ///
    /// - Important: libmilter stops serving the connections still open at the same time (its
    ///   workers end with the loop), so a graceful stop calls ``stopAccepting()``, waits with
    ///   ``waitForSessions(timeout:)``, and only then calls this.
    public static func stop() {
        LibMilter.stop()
    }

    /// Closes the listening socket while libmilter goes on serving the connections already
    /// open: the MTA's new connections are refused (Postfix then applies
    /// `milter_default_action`), those in flight finish normally.
    /// - Returns: false when the listening socket could not be found or replaced; the caller
    ///   then stops at once with ``stop()``.
    @discardableResult
    public static func stopAccepting() -> Bool {
        guard let socket = registration.withLock({ $0?.configuration.socket }),
              let fd = LibMilter.listeningDescriptor(for: socket)
        else { return false }
        return LibMilter.replaceWithQuietListener(fd)
    }

    /// Sessions made and not yet closed: the connections in flight.
    public static var liveSessions: Int {
        liveSessionCount.load(ordering: .relaxed)
    }

    /// Waits until every session has been closed, or the timeout passes.
    /// - Returns: true when no session is left.
    public static func waitForSessions(timeout: Duration) -> Bool {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        while liveSessions > 0 {
            if clock.now >= deadline { return false }
            usleep(20_000)
        }
        return true
    }
}
