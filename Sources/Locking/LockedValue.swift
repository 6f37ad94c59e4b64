#if canImport(Glibc)
import Glibc
#endif

/// A value behind a lock: the one lock type of the project, from the registration libmilter's
/// callbacks read to the history's state and the test helpers.
///
/// A pthread mutex rather than `Synchronization.Mutex`: with Swift 6.3.1 on Linux,
/// ThreadSanitizer does not see the ordering of Mutex's contended path (a futex in an
/// uninstrumented library) and reports races that are not there, which `scripts/sanitize` would
/// fail on; it understands pthread mutexes. No Foundation, so the Milter library can use it.
public final class LockedValue<Value>: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private var value: Value

    public init(_ value: Value) {
        self.value = value
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        precondition(pthread_mutex_init(mutex, nil) == 0, "pthread_mutex_init failed")
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    public func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&value)
    }
}
