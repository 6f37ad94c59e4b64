import Foundation
import Logging
import Synchronization

/// Submits review notices by SMTP on a thread of its own, so the milter never waits on it.
///
/// A notice that cannot be delivered after a few tries is logged and dropped: the held message
/// itself stays in the hold queue, so nothing is lost, only the reviewer's copy.
final package class ReviewNotifier: Sendable {
    package static let attempts = 3

    /// Notices beyond its bounds (count and bytes) are dropped with an error: a stuck relay
    /// must not grow memory.
    private let queue: Mutex<ReviewQueue>
    private let wakeup = DispatchSemaphore(value: 0)
    private let logger: Logger
    private let hostname: String

    /// - Parameter maximumBytes: the most bytes of notices kept at once (`review.queue_size`).
    package init(logger: Logger, maximumBytes: Int) {
        self.logger = logger
        queue = Mutex(ReviewQueue(maximumBytes: maximumBytes))
        var name = [CChar](repeating: 0, count: 256)
        gethostname(&name, name.count - 1)
        hostname = name.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        let thread = Thread { [self] in run() }
        thread.name = "review-notifier"
        thread.start()
    }

    /// Queues a notice; returns at once.
    package func submit(_ notice: ReviewNotice) {
        let (accepted, waiting, bytes) = queue.withLock { queue in (queue.enqueue(notice), queue.waiting.count, queue.bytes) }
        if accepted {
            wakeup.signal()
        } else {
            logger.error("review notice dropped: too many waiting; the message stays held", metadata: [
                "mail.queue_id": "\(notice.queueID)", "review.waiting": "\(waiting)", "review.waiting_bytes": "\(bytes)",
                "review.notice_bytes": "\(notice.size)",
            ])
        }
    }

    private func run() {
        while true {
            wakeup.wait()
            guard let notice = queue.withLock({ $0.next() }) else { continue }
            deliver(notice)
            queue.withLock { $0.finished(notice) }
        }
    }

    private func deliver(_ notice: ReviewNotice) {
        let metadata: Logger.Metadata = [
            "mail.queue_id": "\(notice.queueID)", "review.mailbox": "\(notice.review.mailbox)",
            "review.relay": "\(notice.review.relayHost):\(notice.review.relayPort)",
        ]
        var lastError = ""
        for attempt in 1...Self.attempts {
            do {
                let client = try SMTPClient(host: notice.review.relayHost, port: notice.review.relayPort)
                try client.send(from: "", to: notice.review.mailbox.description, data: notice.message(hostname: hostname), helo: hostname)
                logger.info("sent review notice", metadata: metadata)
                return
            } catch {
                lastError = "\(error)"
                if attempt < Self.attempts { sleep(UInt32(attempt * 2)) }
            }
        }
        logger.error("could not send review notice; the message stays held", metadata: metadata.merging(["error": "\(lastError)"]) { $1 })
    }
}
