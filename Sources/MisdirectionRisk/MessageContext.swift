/// What a message's headers say that bears on misdirection: who else it goes to and comes
/// from, how it is marked, whether it carries attachments.
public struct MessageContext: Sendable, Hashable {
    /// The envelope sender or, without one, the first From address.
    public var sender: EmailAddress?
    /// From addresses.
    public var from: [HeaderAddress] = []
    /// Reply-To addresses.
    public var replyTo: [HeaderAddress] = []
    /// To, Cc and Bcc mailboxes with their display names.
    public var recipients: [HeaderAddress] = []
    /// Protective markings found, each with where (`OFFICIAL-SENSITIVE in Subject`).
    public var markings: [String] = []
    /// Why the message is taken to carry attachments, when it is.
    public var attachmentHint: String?
    /// True when header mailboxes were left out because ``maximumAddresses`` were read.
    public var addressesLimited = false

    /// At most this many mailboxes of From, Reply-To, To, Cc and Bcc are read, in header order:
    /// end of message compares every recipient with them, so a message naming 100,000 addresses
    /// must not cost 100 times one naming 1,000.
    public static let maximumAddresses = 1_000
    /// Of each header field, only the first this many bytes are read (Postfix itself keeps at
    /// most 100 KiB of a header field by default).
    public static let maximumFieldBytes = 64 * 1024

    public init(sender: EmailAddress? = nil) {
        self.sender = sender
    }

    /// Reads the headers that matter (others are ignored).
    /// - Parameters:
    ///   - headers: name and value pairs in order, values unfolded or not.
    ///   - envelopeSender: MAIL FROM, when known.
    public init(headers: [(name: String, value: String)], envelopeSender: EmailAddress?) {
        self.init(sender: envelopeSender)
        var room = Self.maximumAddresses
        /// The mailboxes of an address field, within what is left of the budget.
        func mailboxes(_ value: String) -> [HeaderAddress] {
            guard room > 0 else {
                addressesLimited = true
                return []
            }
            let all = HeaderAddress.parseList(value)
            if all.count > room { addressesLimited = true }
            let kept = all.prefix(room)
            room -= kept.count
            return Array(kept)
        }
        for (rawName, whole) in headers {
            let name = rawName.lowercased()
            if room == 0, ["to", "cc", "bcc", "from", "reply-to"].contains(name) {
                addressesLimited = true
                continue
            }
            let folded = whole.utf8.count > Self.maximumFieldBytes
                ? String(decoding: whole.utf8.prefix(Self.maximumFieldBytes), as: UTF8.self) : whole
            // Unfolded (RFC 5322 2.2.3): the MTA passes a folded value with its line breaks,
            // which must not reach an explanation, and from there a reply or a log line.
            let value = String(String.UnicodeScalarView(folded.unicodeScalars.filter { $0 != "\r" && $0 != "\n" }))
            switch name {
            case "to", "cc", "bcc":
                recipients += mailboxes(value)
            case "from":
                from += mailboxes(value)
            case "reply-to":
                replyTo += mailboxes(value)
            case "content-type":
                if value.lowercased().trimmingSpaces.hasPrefix("multipart/mixed") {
                    attachmentHint = "multipart/mixed"
                }
            case "x-ms-has-attach":
                if value.lowercased().trimmingSpaces == "yes" { attachmentHint = "X-MS-Has-Attach: yes" }
            default:
                break
            }
            if let marking = Sensitivity.marking(header: rawName, value: value) {
                markings.append(marking)
            }
        }
        if sender == nil { sender = from.lazy.compactMap(\.address).first }
    }
}

/// Protective markings: the classification a sender gave a message.
public enum Sensitivity {
    /// Markings looked for in the Subject, in capitals as governments write them, longest first.
    public static let subjectMarkings = [
        "OFFICIAL-SENSITIVE", "OFFICIAL SENSITIVE", "OFFICIAL: SENSITIVE", "COSMIC TOP SECRET", "TOP SECRET",
        "NATO SECRET", "NATO CONFIDENTIAL", "NATO RESTRICTED", "SECRET", "CONFIDENTIAL", "RESTRICTED",
        "FOR OFFICIAL USE ONLY", "FOUO", "CUI", "NOFORN", "PROTECTED B", "PROTECTED C",
    ]
    /// Headers that carry a marking (`X-Protective-Marking: VER=2018.1, SEC=OFFICIAL:Sensitive`).
    public static let markingHeaders = ["x-protective-marking", "x-security-classification", "x-classification", "classification"]
    /// Words in those headers or in a Microsoft Purview (`msip_labels`) label name that make a
    /// message sensitive; `OFFICIAL`, `UNCLASSIFIED`, `PUBLIC` or `General` alone do not.
    static let sensitiveWords = ["SENSITIVE", "SECRET", "CONFIDENTIAL", "RESTRICTED", "PROTECTED", "CUI", "FOUO", "HIGHLY"]

    /// The marking a header carries, described with where it was found; nil for none.
    public static func marking(header: String, value: String) -> String? {
        let name = header.lowercased()
        guard name == "subject" || name == "msip_labels" || name == "sensitivity" || markingHeaders.contains(name) else { return nil }
        let upper = value.uppercased()
        if name == "subject" {
            return subjectMarking(value).map { "\($0) in Subject" }
        }
        if markingHeaders.contains(name) {
            guard sensitiveWords.contains(where: { upper.contains($0) }) else { return nil }
            return "\(value.trimmingSpaces) in \(header)"
        }
        if name == "msip_labels" {
            // `MSIP_Label_<guid>_Name=Confidential; MSIP_Label_<guid>_Enabled=true; …`
            for part in upper.split(separator: ";") where part.contains("_NAME=") {
                let labelName = part.split(separator: "=", maxSplits: 1).last.map(String.init)?.trimmingSpaces ?? ""
                if sensitiveWords.contains(where: { labelName.contains($0) }) {
                    return "label \(labelName) in msip_labels"
                }
            }
            return nil
        }
        if name == "sensitivity", upper.trimmingSpaces == "COMPANY-CONFIDENTIAL" {
            return "Company-Confidential in Sensitivity"
        }
        return nil
    }

    /// The first marking in a Subject, as a whole word in capitals.
    static func subjectMarking(_ subject: String) -> String? {
        let bytes = Array(subject.utf8)
        for marking in subjectMarkings {
            let needle = Array(marking.utf8)
            var start = 0
            while start + needle.count <= bytes.count {
                if bytes[start..<(start + needle.count)].elementsEqual(needle),
                   start == 0 || !isWordByte(bytes[start - 1]),
                   start + needle.count == bytes.count || !isWordByte(bytes[start + needle.count]) {
                    return marking
                }
                start += 1
            }
        }
        return nil
    }

    private static func isWordByte(_ byte: UInt8) -> Bool {
        (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x30 && byte <= 0x39)
    }
}

extension MessageContext {
    /// The header fields of an RFC 5322 message (up to the first empty line), unfolded.
    public static func headerFields(ofMessage text: String) -> [(name: String, value: String)] {
        var fields: [(name: String, value: String)] = []
        for line in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline) {
            if line.isEmpty { break }
            if line.first == " " || line.first == "\t" {
                let continuation = line.drop { $0 == " " || $0 == "\t" }
                if !fields.isEmpty { fields[fields.count - 1].value += " " + continuation.trimmingSpaces }
                continue
            }
            guard let colon = line.firstIndex(of: ":") else { continue }
            fields.append((String(line[..<colon]).trimmingSpaces, String(line[line.index(after: colon)...]).trimmingSpaces))
        }
        return fields
    }
}

extension Substring {
    var trimmingSpaces: String { String(self).trimmingSpaces }
}
