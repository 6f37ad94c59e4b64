/// The review notices waiting to be sent, bounded by count and by bytes: a stuck relay must
/// not grow memory by more than `review.queue_size` (each notice carries up to
/// `review.max_size` of held message).
package struct ReviewQueue {
    /// Notices waiting beyond this are dropped.
    package static let maximumCount = 200

    /// The most bytes of notices kept at once, waiting or being sent (`review.queue_size`).
    package let maximumBytes: Int
    private(set) var waiting: [ReviewNotice] = []
    /// Bytes of the notices waiting and of the one being sent.
    package private(set) var bytes = 0

    package init(maximumBytes: Int) {
        self.maximumBytes = maximumBytes
    }

    /// Adds a notice unless that would pass either bound.
    /// - Returns: false when it was refused.
    package mutating func enqueue(_ notice: ReviewNotice) -> Bool {
        guard waiting.count < Self.maximumCount, notice.size <= maximumBytes - bytes else { return false }
        waiting.append(notice)
        bytes += notice.size
        return true
    }

    /// The oldest notice, which keeps its bytes counted until ``finished(_:)``.
    package mutating func next() -> ReviewNotice? {
        waiting.isEmpty ? nil : waiting.removeFirst()
    }

    /// A notice taken with ``next()`` was sent or given up.
    package mutating func finished(_ notice: ReviewNotice) {
        bytes -= notice.size
    }
}

package extension ReviewNotice {
    /// The bytes it holds: the held message's headers and body.
    var size: Int {
        body.count + headers.reduce(0) { $0 + $1.name.count + $1.value.count + 4 }
    }
}
