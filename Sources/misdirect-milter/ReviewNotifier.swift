import Foundation
import Logging
import Synchronization

/// Submits review notices by SMTP on a thread of its own, so the milter never waits on it.
///
/// A notice that cannot be delivered after a few tries is logged and dropped: the held message
/// itself stays in the hold queue, so nothing is lost, only the reviewer's copy.
final class ReviewNotifier: Sendable {
    /// Notices waiting beyond this are dropped with an error (a stuck relay must not grow memory).
    static let maximumQueued = 200
    static let attempts = 3

    private let queue = Mutex<[ReviewNotice]>([])
    private let wakeup = DispatchSemaphore(value: 0)
    private let logger: Logger
    private let hostname: String

    init(logger: Logger) {
        self.logger = logger
        var name = [CChar](repeating: 0, count: 256)
        gethostname(&name, name.count - 1)
        hostname = name.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        let thread = Thread { [self] in run() }
        thread.name = "review-notifier"
        thread.start()
    }

    /// Queues a notice; returns at once.
    func submit(_ notice: ReviewNotice) {
        let accepted = queue.withLock { pending -> Bool in
            guard pending.count < Self.maximumQueued else { return false }
            pending.append(notice)
            return true
        }
        if accepted {
            wakeup.signal()
        } else {
            logger.error("review notice dropped: too many waiting", metadata: ["mail.queue_id": "\(notice.queueID)"])
        }
    }

    private func run() {
        while true {
            wakeup.wait()
            guard let notice = queue.withLock({ $0.isEmpty ? nil : $0.removeFirst() }) else { continue }
            deliver(notice)
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
