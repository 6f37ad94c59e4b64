import Foundation

/// A value behind an `NSLock`: the history's state, which its background tasks and the
/// milter's threads share.
///
/// Not `Synchronization.Mutex`: with Swift 6.3.1 on Linux, ThreadSanitizer does not see the
/// ordering of Mutex's contended path (a futex in an uninstrumented library) and reports races
/// that are not there, which `scripts/sanitize` would fail on; NSLock is a pthread mutex, which
/// it understands. The cost is the same at this rate of use.
public final class LockedValue<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    public init(_ value: Value) { self.value = value }

    public func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
