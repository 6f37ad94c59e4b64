import Foundation
import Locking
import Logging
import ServiceLifecycle

/// Submits review notices by SMTP in the background (a service of `serve`'s group), so the
/// milter never waits on it.
///
/// A notice that cannot be delivered after a few tries is logged and dropped: the held message
/// itself stays in the hold queue, so nothing is lost, only the reviewer's copy. So are the
/// notices still waiting when the milter stops.
final package class ReviewNotifier: Service, Sendable {
    package static let attempts = 3

    /// Notices beyond its bounds (count and bytes) are dropped with an error: a stuck relay
    /// must not grow memory.
    private let queue: LockedValue<ReviewQueue>
    /// One element per notice queued: ``run()`` takes the notices in order.
    private let wakeups: AsyncStream<Void>
    private let wake: AsyncStream<Void>.Continuation
    private let logger: Logger
    private let hostname: String
    /// The signing of console links, set once the milter runs as its own user (the key file
    /// is then made as that user, readable by the console).
    private let linkMaker = LockedValue<NoticeLinks?>(nil)

    package var links: NoticeLinks? { linkMaker.withLock { $0 } }

    package func useLinks(_ links: NoticeLinks?) {
        linkMaker.withLock { $0 = links }
    }

    /// - Parameter maximumBytes: the most bytes of notices kept at once (`review.queue_size`).
    package init(logger: Logger, maximumBytes: Int) {
        self.logger = logger
        queue = LockedValue(ReviewQueue(maximumBytes: maximumBytes))
        var name = [CChar](repeating: 0, count: 256)
        gethostname(&name, name.count - 1)
        hostname = name.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        (wakeups, wake) = AsyncStream.makeStream(bufferingPolicy: .unbounded)
    }

    /// Queues a notice; returns at once.
    package func submit(_ notice: ReviewNotice) {
        let (accepted, waiting, bytes) = queue.withLock { queue in (queue.enqueue(notice), queue.waiting.count, queue.bytes) }
        if accepted {
            wake.yield()
        } else {
            logger.error("review notice dropped: too many waiting; the message stays held", metadata: [
                "mail.queue_id": "\(notice.queueID)", "review.waiting": "\(waiting)", "review.waiting_bytes": "\(bytes)",
                "review.notice_bytes": "\(notice.size)",
            ])
        }
    }

    /// Sends the notices as they come, one at a time, until a graceful shutdown.
    package func run() async {
        for await _ in wakeups.cancelOnGracefulShutdown() {
            guard let notice = queue.withLock({ $0.next() }) else { continue }
            await deliverOnOwnThread(notice)
            queue.withLock { $0.finished(notice) }
        }
        let left = queue.withLock { $0.waiting.count }
        if left > 0 {
            logger.warning("stopping with review notices unsent; their messages stay held", metadata: ["review.waiting": "\(left)"])
        }
    }

    /// Delivers on a thread of its own: the SMTP exchange blocks on its socket (30 s timeouts)
    /// and sleeps between attempts, which must not hold one of the few threads the history's
    /// store calls run on. A stop waits for the notice being sent only until the group gives up
    /// (``ServeServices/defaultShutdownLimit``) and cancels: the thread then finishes alone.
    private func deliverOnOwnThread(_ notice: ReviewNotice) async {
        // Resumed once, by whichever comes first: the delivery's end or a cancellation.
        let waiting = LockedValue<CheckedContinuation<Void, Never>?>(nil)
        let resume = { @Sendable in waiting.withLock { continuation in defer { continuation = nil }; return continuation }?.resume() }
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                waiting.withLock { $0 = continuation }
                let thread = Thread { [self] in
                    deliver(notice)
                    resume()
                }
                thread.name = "review-notice"
                thread.start()
            }
        } onCancel: {
            resume()
        }
    }

    private func deliver(_ notice: ReviewNotice) {
        let metadata: Logger.Metadata = [
            "mail.queue_id": "\(notice.queueID)", "review.mailbox": "\(notice.to)",
            "review.relay": "\(notice.review.relayHost):\(notice.review.relayPort)",
        ]
        var lastError = ""
        for attempt in 1...Self.attempts {
            do {
                let client = try SMTPClient(host: notice.review.relayHost, port: notice.review.relayPort)
                try client.send(from: "", to: notice.to.description, data: notice.message(hostname: hostname), helo: hostname)
                logger.info(notice.senderNotice == nil ? "sent review notice" : "sent held-mail notice to the sender", metadata: metadata)
                return
            } catch {
                lastError = "\(error)"
                if attempt < Self.attempts { sleep(UInt32(attempt * 2)) }
            }
        }
        logger.error("could not send review notice; the message stays held", metadata: metadata.merging(["error": "\(lastError)"]) { $1 })
    }
}
