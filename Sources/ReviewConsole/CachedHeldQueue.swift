import Foundation

/// The hold queue with its list kept for a few seconds, so the list page does not run `held
/// list` (a postqueue and a postcat per 500 messages, through sudo) for every request: with
/// thousands held that is most of a second. Release and drop go through at once and take
/// their message out of the kept list; a message that is not in the kept list is looked for
/// again before the console says it is not held (a link to mail held a moment ago).
package actor CachedHeldQueue: HeldQueue {
    private let queue: any HeldQueue
    private let freshFor: Duration
    private var kept: (entries: [HeldEntry], at: ContinuousClock.Instant)?
    /// The refresh in flight, which every request that needs one waits for.
    private var refreshing: Task<[HeldEntry], any Error>?

    package init(_ queue: any HeldQueue, freshFor: Duration = .seconds(5)) {
        self.queue = queue
        self.freshFor = freshFor
    }

    package func list() async throws -> [HeldEntry] {
        if let kept, ContinuousClock.now - kept.at < freshFor { return kept.entries }
        return try await refresh()
    }

    /// The entry of `queueID`, read again when the kept list does not have it.
    package func entry(_ queueID: String) async throws -> HeldEntry? {
        if let found = try await list().first(where: { $0.queueID == queueID }) { return found }
        return try await refresh().first { $0.queueID == queueID }
    }

    package func show(_ queueID: String) async throws -> HeldDetail {
        try await queue.show(queueID)
    }

    package func release(_ queueID: String) async throws {
        try await queue.release(queueID)
        forget(queueID)
    }

    package func drop(_ queueID: String) async throws {
        try await queue.drop(queueID)
        forget(queueID)
    }

    private func forget(_ queueID: String) {
        kept?.entries.removeAll { $0.queueID == queueID }
    }

    private func refresh() async throws -> [HeldEntry] {
        if let refreshing { return try await refreshing.value }
        let task = Task { [queue] in try await queue.list() }
        refreshing = task
        defer { refreshing = nil }
        let entries = try await task.value
        kept = (entries, .now)
        return entries
    }
}
