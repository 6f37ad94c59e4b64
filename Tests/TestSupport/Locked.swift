import Locking

/// The lock tests share state between threads with: the project's one lock type (see
/// `LockedValue` for why not `Synchronization.Mutex` under ThreadSanitizer).
public typealias Locked = LockedValue
