import Synchronization

/// The store did not answer in time.
public struct DeadlineExceeded: Error, CustomStringConvertible, Sendable {
    public let timeout: Duration
    public var description: String { "no answer within \(timeout)" }
}

/// Runs `operation` and gives up after `timeout`: the caller gets ``DeadlineExceeded`` at once
/// and the operation is cancelled, without waiting for it to notice (a store behind a stopped
/// server may never answer, and a task group would wait for it).
public func withDeadline<T: Sendable>(_ timeout: Duration, _ operation: @escaping @Sendable () async throws -> T) async throws -> T {
    let gate = Gate<T>()
    return try await withCheckedThrowingContinuation { continuation in
        gate.arm(continuation)
        let work = Task {
            do {
                gate.finish(.success(try await operation()))
            } catch {
                gate.finish(.failure(error))
            }
        }
        let timer = Task {
            try? await Task.sleep(for: timeout)
            if gate.finish(.failure(DeadlineExceeded(timeout: timeout))) { work.cancel() }
        }
        gate.onFinish { timer.cancel() }
    }
}

/// Resumes a continuation exactly once, whoever comes first.
private final class Gate<T: Sendable>: Sendable {
    private struct State {
        var continuation: CheckedContinuation<T, any Error>?
        var result: Result<T, any Error>?
        var cleanup: (@Sendable () -> Void)?
    }

    private let state = Mutex(State())

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
