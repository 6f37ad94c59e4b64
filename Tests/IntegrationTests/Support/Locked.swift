import Foundation

/// A value behind an `NSLock`, for state the tests share between threads.
///
/// Not `Synchronization.Mutex`: with Swift 6.3.1 on Linux, ThreadSanitizer does not see the
/// ordering of Mutex's contended path (a futex in an uninstrumented library) and reports races
/// that are not there; NSLock is a pthread mutex, which it understands.
final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    init(_ value: Value) { self.value = value }

    func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
