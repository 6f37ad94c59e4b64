import Foundation
import MisdirectionRisk

/// The notice a review mailbox gets when a message is held: what was held and why, how to
/// release or drop it, and the held message itself attached (`message/rfc822`).
package struct ReviewNotice: Sendable {
    package let queueID: String
    package let sender: String
    package let reason: String
    package let review: ReviewConfiguration
    /// Our verdict header's value, as the held copy carries it.
    package let riskHeader: String
    package let headers: [(name: [UInt8], value: [UInt8])]
    package let body: [UInt8]
    package let truncated: Bool
    /// Signed links to the review console, when `console.base_url` is set.
    package let links: Links?
    /// Nil: the notice for the review mailbox, with the held copy attached. Set: the notice
    /// for the authenticated sender of the held message (`console.notify_sender`), who gets
    /// "Send anyway" and "Don't send" links instead of a copy.
    package let senderNotice: EmailAddress?

    /// Where the notice goes.
    package var to: EmailAddress { senderNotice ?? review.mailbox }

    /// A notice's signed Release and Drop addresses.
    package struct Links: Sendable, Equatable {
        package let release: String
        package let drop: String
        package let hours: Int
    }

    package init(queueID: String, sender: String, reason: String, review: ReviewConfiguration, riskHeader: String,
                 headers: [(name: [UInt8], value: [UInt8])], body: [UInt8], truncated: Bool, links: Links? = nil,
                 senderNotice: EmailAddress? = nil) {
        self.links = links
        self.senderNotice = senderNotice
        self.queueID = queueID
        self.sender = sender
        self.reason = reason
        self.review = review
        self.riskHeader = riskHeader
        self.headers = headers
        self.body = body
        self.truncated = truncated
    }

    /// The notice as an RFC 5322 message with CRLF line ends, ready for SMTP DATA.
    package func message(hostname: String, date: Date = Date()) -> [UInt8] {
        if senderNotice != nil { return messageForSender(hostname: hostname, date: date) }
        let boundary = "misdirect-\(queueID)-\(UInt32.random(in: 0...UInt32.max))"
        var text = headerLines(subject: "Held for review: ", idPart: "", hostname: hostname, date: date) + """
            Content-Type: multipart/mixed; boundary="\(boundary)"

            --\(boundary)
            Content-Type: text/plain; charset=utf-8

            misdirect-milter held a message on \(hostname) for review.

            Queue id:  \(queueID)
            Sender:    \(oneLine(sender))
            Why:       \(oneLine(reason))

            The sender was told the message was accepted; it waits in Postfix's hold queue.
            \(links.map { "\nIn the review console (each link works once, for \($0.hours) hours, and asks you\nto confirm):\n  release it:  \($0.release)\n  drop it:     \($0.drop)\n\nOr on \(hostname), as root:" } ?? "On \(hostname), as root:")
              release it:  misdirect-milter held release \(queueID)
              drop it:     misdirect-milter held drop \(queueID)
              see all:     misdirect-milter held
            \(truncated ? "\nThe attached copy is cut at \(review.maxSize) bytes.\n" : "")
            --\(boundary)
            Content-Type: message/rfc822
            Content-Disposition: attachment; filename="held-\(queueID).eml"


            """
        text = text.replacingOccurrences(of: "\n", with: "\r\n")
        var bytes = Array(text.utf8)
        bytes += Array("\(RiskHeader.name): \(riskHeader)".utf8).crlfLines + [13, 10]
        for header in headers {
            bytes += (header.name + Array(": ".utf8) + header.value).crlfLines + [13, 10]
        }
        bytes += [13, 10]
        bytes += body.crlfLines
        if bytes.suffix(2) != [13, 10] { bytes += [13, 10] }
        bytes += Array("--\(boundary)--\r\n".utf8)
        return bytes
    }

    /// The sender's notice: what was held and why, and how to send it anyway or not at all.
    private func messageForSender(hostname: String, date: Date) -> [UInt8] {
        let why = reason.hasPrefix("misdirect-milter: ") ? String(reason.dropFirst("misdirect-milter: ".count)) : reason
        let choices = links.map {
            """
            If every address is right:  Send anyway   \($0.release)
            If it was a mistake:        Don't send    \($0.drop)

            Each link asks you to confirm, works once, and expires in \($0.hours) hours.
            """
        } ?? "Reply to \(review.mailbox) if every address is right."
        let text = headerLines(subject: "Not sent yet: ", idPart: ".sender", hostname: hostname, date: date) + """
            Content-Type: text/plain; charset=utf-8

            Your message "\(Self.ascii(subject))" has not been sent yet: an address in it looks
            like a misspelling of one you write to.

              \(oneLine(why))

            It waits on \(hostname) (queue id \(queueID)) until you or a reviewer (\(review.mailbox))
            decide.

            \(choices)

            """
        return Array(text.replacingOccurrences(of: "\n", with: "\r\n").utf8)
    }

    /// The notice's own header lines up to its Content-Type, each ending in a line feed: to
    /// ``to``, with the held message's subject after `subject`, and a Message-ID with `idPart`.
    private func headerLines(subject prefix: String, idPart: String, hostname: String, date: Date) -> String {
        """
        From: misdirect-milter <MAILER-DAEMON@\(hostname)>
        To: <\(to)>
        Subject: \(prefix)\(Self.ascii(subject))
        Date: \(Self.rfc5322Date(date))
        Message-ID: <held-\(queueID)\(idPart).\(Int(date.timeIntervalSince1970))@\(hostname)>
        Auto-Submitted: auto-generated
        MIME-Version: 1.0

        """
    }

    private var subject: String {
        headers.first { String(decoding: $0.name, as: UTF8.self).lowercased() == "subject" }
            .map { oneLine(String(decoding: $0.value, as: UTF8.self)) } ?? "(no subject)"
    }

    /// Non-ASCII replaced, so the notice's own Subject needs no encoding.
    private static func ascii(_ text: String) -> String {
        String(text.unicodeScalars.map { $0.isASCII ? Character($0) : "?" })
    }

    private static func rfc5322Date(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss '+0000'"
        return formatter.string(from: date)
    }
}

extension Array where Element == UInt8 {
    /// The bytes with every line end (LF, CR or CRLF) made CRLF; folded headers keep their fold.
    package var crlfLines: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(count + count / 40)
        var index = 0
        while index < count {
            let byte = self[index]
            if byte == 13 {
                out += [13, 10]
                if index + 1 < count, self[index + 1] == 10 { index += 1 }
            } else if byte == 10 {
                out += [13, 10]
            } else {
                out.append(byte)
            }
            index += 1
        }
        return out
    }
}
