import Locking

/// The store did not answer in time.
public struct DeadlineExceeded: Error, CustomStringConvertible, Sendable {
    public let timeout: Duration
    public var description: String { "no answer within \(timeout)" }
}

/// Runs `operation` and gives up after `timeout`: the caller gets ``DeadlineExceeded`` at once
/// and the operation is cancelled, without waiting for it to notice (a store behind a stopped
/// server may never answer, and a task group would wait for it).
///
/// An operation given up on stays in `unanswered` until it ends.
public func withDeadline<T: Sendable>(
    _ timeout: Duration, unanswered: UnansweredCalls = .shared, _ operation: @escaping @Sendable () async throws -> T
) async throws -> T {
    let gate = Gate<T>()
    let call = unanswered.newID()
    return try await withCheckedThrowingContinuation { continuation in
        gate.arm(continuation)
        let work = Task {
            let answered: Bool
            do {
                answered = gate.finish(.success(try await operation()))
            } catch {
                answered = gate.finish(.failure(error))
            }
            // Too late: the caller was already given DeadlineExceeded.
            if !answered { unanswered.ended(call) }
        }
        let timer = Task {
            try? await Task.sleep(for: timeout)
            // Cancelled only once the operation has answered.
            guard !Task.isCancelled else { return }
            // Kept before the caller is let go, so that a late end always finds it.
            unanswered.abandoned(call, work)
            if gate.finish(.failure(DeadlineExceeded(timeout: timeout))) {
                work.cancel()
            } else {
                unanswered.ended(call)
            }
        }
        gate.onFinish { timer.cancel() }
    }
}

/// Store calls that ``withDeadline`` gave up on and that have not ended yet.
///
/// Most end later with an error, when the connection to the stopped server is closed. Some
/// never end: postgres-nio 1.33 writes a query to its channel without a promise, so a query
/// sent on a connection that has just been closed is never answered, and the task waiting for
/// it waits forever (seen when the server is killed while frozen, HistoryTests/databaseOutage).
/// Keeping their tasks here bounds what they hold and lets ``count`` say how many there are,
/// instead of leaving them unreachable. Only the newest ``limit`` are kept.
public final class UnansweredCalls: Sendable {
    public static let shared = UnansweredCalls()
    /// How many abandoned calls are kept.
    public static let limit = 256

    private struct State {
        var next: UInt64 = 0
        var tasks: [UInt64: Task<Void, Never>] = [:]
    }

    private let state = LockedValue(State())

    public init() {}

    /// Abandoned calls still waiting for an answer.
    public var count: Int { state.withLock { $0.tasks.count } }

    func newID() -> UInt64 {
        state.withLock { state in
            state.next &+= 1
            return state.next
        }
    }

    /// The deadline passed: `task` is kept until ``ended(_:)``.
    func abandoned(_ id: UInt64, _ task: Task<Void, Never>) {
        state.withLock { state in
            if state.tasks.count >= Self.limit, let oldest = state.tasks.keys.min() {
                state.tasks[oldest] = nil
            }
            state.tasks[id] = task
        }
    }

    /// A call recorded by ``abandoned(_:_:)`` ended, or answered before its deadline won.
    func ended(_ id: UInt64) {
        _ = state.withLock { $0.tasks.removeValue(forKey: id) }
    }
}

/// Resumes a continuation exactly once, whoever comes first.
private final class Gate<T: Sendable>: Sendable {
    private struct State {
        var continuation: CheckedContinuation<T, any Error>?
        var result: Result<T, any Error>?
        var cleanup: (@Sendable () -> Void)?
    }

    private let state = LockedValue(State())

    func arm(_ continuation: CheckedContinuation<T, any Error>) {
        state.withLock { $0.continuation = continuation }
    }

    /// Runs `cleanup` once finished (at once if already so).
    func onFinish(_ cleanup: @escaping @Sendable () -> Void) {
        let done = state.withLock { state -> Bool in
            if state.result != nil { return true }
            state.cleanup = cleanup
            return false
        }
        if done { cleanup() }
    }

    /// - Returns: true for the call that resumed the caller.
    @discardableResult
    func finish(_ result: Result<T, any Error>) -> Bool {
        let (continuation, cleanup) = state.withLock { state -> (CheckedContinuation<T, any Error>?, (@Sendable () -> Void)?) in
            guard state.result == nil else { return (nil, nil) }
            state.result = result
            defer { state.continuation = nil; state.cleanup = nil }
            return (state.continuation, state.cleanup)
        }
        guard let continuation else { return false }
        continuation.resume(with: result)
        cleanup?()
        return true
    }
}
