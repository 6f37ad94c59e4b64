import CorrespondentHistory

/// The lock tests share state between threads with: the same NSLock-based value the history
/// uses (see `LockedValue` for why not `Synchronization.Mutex` under ThreadSanitizer).
public typealias Locked = LockedValue
