import Foundation
import Locking

/// Runs async work from synchronous code and waits for it: the entry point running an
/// asynchronous command, and `serve`'s signal loop, which owns the main thread, flushing the
/// history. The work runs on the global executor, never on the waiting thread: detached, so a
/// caller on the main actor (the entry point) cannot make it wait for the thread it blocks.
package func runBlocking<T: Sendable>(_ work: @escaping @Sendable () async -> T) -> T {
    let result = LockedValue<T?>(nil)
    let done = DispatchSemaphore(value: 0)
    Task.detached {
        let value = await work()
        result.withLock { $0 = value }
        done.signal()
    }
    done.wait()
    return result.withLock { $0! }
}

/// The same, for work that throws.
package func runBlocking<T: Sendable>(_ work: @escaping @Sendable () async throws -> T) throws -> T {
    let outcome: Result<T, any Error> = runBlocking {
        do { return .success(try await work()) } catch { return .failure(error) }
    }
    return try outcome.get()
}
