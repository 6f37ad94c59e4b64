import Dispatch
import Logging
import MisdirectMilterKit
import ServiceLifecycle
import Testing
import TestSupport

/// `serve`'s services as one group: what `serve` relies on when it stops them after libmilter.
struct ServeServicesTests {
    /// Records its start and its end, and ends at a graceful shutdown (or never, if told to).
    final class Recorder: Service, Sendable {
        let name: String
        let events: Locked<[String]>
        let ignoresShutdown: Bool

        init(_ name: String, events: Locked<[String]>, ignoresShutdown: Bool = false) {
            self.name = name
            self.events = events
            self.ignoresShutdown = ignoresShutdown
        }

        func run() async {
            events.withLock { $0.append("start \(name)") }
            if ignoresShutdown {
                try? await Task.sleep(for: .seconds(3600))
                // Cleaning up after the cancellation takes a while too, as writing the
                // history's queue can: ServiceGroup must not call that a fatal error.
                await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
                    DispatchQueue.global().asyncAfter(deadline: .now() + 3) { done.resume() }
                }
                events.withLock { $0.append("cancelled \(name)") }
            } else {
                try? await gracefulShutdown()
                events.withLock { $0.append("stop \(name)") }
            }
        }
    }

    /// Generous: in the whole suite, tests that block the concurrency pool's few threads can
    /// hold back the group's start by tens of seconds.
    static func waitFor(_ condition: () -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(300)
        while !condition() {
            guard ContinuousClock.now < deadline else { throw CancellationError() }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    @Test("the services all start, and a stop ends them the last first and returns when they have ended")
    func stopsInReverse() async throws {
        let events = Locked<[String]>([])
        let services = ServeServices(["metrics", "history", "notifier"].map { Recorder($0, events: events) }, logger: Logger(label: "test"))
        services.start()
        try await Self.waitFor { events.withLock { $0.count } == 3 }
        #expect(Set(events.withLock { $0 }) == ["start metrics", "start history", "start notifier"])
        try await services.stop()
        #expect(Array(events.withLock { $0 }.suffix(3)) == ["stop notifier", "stop history", "stop metrics"])
    }

    @Test("a service that does not end at a stop is cancelled after the limit, and may take its time to end: the stop never hangs or crashes")
    func stuckServiceIsCancelled() async throws {
        let events = Locked<[String]>([])
        let services = ServeServices(
            [Recorder("metrics", events: events), Recorder("stuck", events: events, ignoresShutdown: true)],
            logger: Logger(label: "test"), shutdownLimit: .milliseconds(300))
        services.start()
        try await Self.waitFor { events.withLock { $0.count } == 2 }
        let started = ContinuousClock.now
        try? await services.stop()
        // Without the limit it would wait for the stuck service's hour; the margin is for a
        // busy pool, as above.
        #expect(ContinuousClock.now - started < .seconds(120))
        #expect(events.withLock { $0 }.contains("cancelled stuck"))
    }
}
