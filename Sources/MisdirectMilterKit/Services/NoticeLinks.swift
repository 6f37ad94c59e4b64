import Foundation
import ReviewLinks

/// The signed Release and Drop links of a review notice, to the review console at
/// `console.base_url`, under the key in `console.link_key_file` (shared with the console).
package struct NoticeLinks: Sendable {
    package let signer: LinkSigner
    package let baseURL: String
    package let hours: Int

    /// Nil when the configuration has no console address; throws when the key cannot be read
    /// or made.
    package init?(_ console: ConsoleConfiguration?) throws {
        guard let console, let baseURL = console.baseURL else { return nil }
        signer = LinkSigner(key: try LinkKey.loadOrCreate(at: console.linkKeyFile))
        self.baseURL = baseURL
        hours = console.linkHours
    }

    package init(signer: LinkSigner, baseURL: String, hours: Int) {
        self.signer = signer
        self.baseURL = baseURL
        self.hours = hours
    }

    /// The two links for `recipient` (the review mailbox, or the sender), working for ``hours``.
    package func urls(queueID: String, recipient: String, now: Date = Date()) -> ReviewNotice.Links {
        let expiry = Int(now.timeIntervalSince1970) + hours * 3600
        let url = { (action: ReviewLink.Action) in
            "\(baseURL)/link?t=" + signer.token(for: ReviewLink(queueID: queueID, action: action, recipient: recipient, expiry: expiry))
        }
        return ReviewNotice.Links(release: url(.release), drop: url(.drop), hours: hours)
    }
}
