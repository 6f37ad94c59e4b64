import MisdirectionRisk

/// Reads stored messages line by line: one message (`.eml`, a Maildir file) or an mbox of many,
/// keeping only the header block of the message in progress (at most ``maximumHeaderBytes``)
/// and skipping bodies, so an mbox of any size is read in bounded memory.
///
/// The sender is the `From` header's first address (or `Return-Path` when there is no From);
/// the recipients are the addresses of `To`, `Cc` and `Bcc` (a copy in a Sent folder keeps
/// Bcc), each once.
public struct StoredMessageParser {
    /// How the input is framed.
    public enum Framing: Sendable {
        /// One message: the header block is read, the rest ignored.
        case single
        /// mbox: a line starting `From ` at the start or after an empty line begins a message.
        case mbox
    }

    /// Header bytes kept per message; the rest of an oversized header block is ignored.
    public static let maximumHeaderBytes = 1 << 20

    private let framing: Framing
    private let name: String
    private var inHeaders: Bool
    private var previousLineEmpty = true
    private var fields: [(name: String, value: String)] = []
    private var headerBytes = 0
    private var messageCount = 0
    private var started: Bool

    /// - Parameter name: the file, used in message ids (`name` or `name#3` in an mbox).
    public init(framing: Framing, name: String) {
        self.framing = framing
        self.name = name
        self.inHeaders = framing == .single
        self.started = framing == .single
    }

    /// False once nothing more can change the result: a single message's header block has ended.
    public var wantsMoreLines: Bool { framing == .mbox || inHeaders }

    /// Reads one line (without its newline; a trailing CR is ignored).
    public mutating func consume(_ line: UnsafeBufferPointer<UInt8>, emit: (ReplayedMessage) -> Void) {
        var line = line
        if line.last == UInt8(ascii: "\r") { line = UnsafeBufferPointer(rebasing: line.dropLast()) }
        if framing == .mbox, previousLineEmpty, Self.isSeparator(line) {
            finishMessage(emit: emit)
            started = true
            inHeaders = true
            previousLineEmpty = false
            return
        }
        previousLineEmpty = line.isEmpty
        guard started, inHeaders else { return }
        if line.isEmpty {
            inHeaders = false
            return
        }
        headerBytes += line.count
        guard headerBytes <= Self.maximumHeaderBytes else { return }
        if line[0] == UInt8(ascii: " ") || line[0] == UInt8(ascii: "\t") {
            if !fields.isEmpty { fields[fields.count - 1].value += " " + String(decoding: line, as: UTF8.self).trimmingSpaces }
        } else if let colon = line.firstIndex(of: UInt8(ascii: ":")) {
            let name = String(decoding: UnsafeBufferPointer(rebasing: line[..<colon]), as: UTF8.self).lowercased()
            let value = String(decoding: UnsafeBufferPointer(rebasing: line[(colon + 1)...]), as: UTF8.self).trimmingSpaces
            if Self.wanted.contains(name) { fields.append((name, value)) }
        }
    }

    /// Hands over the last message.
    public mutating func finish(emit: (ReplayedMessage) -> Void) {
        finishMessage(emit: emit)
    }

    /// An mbox separator: `From ` at the start of the line and a time (`08:00`) in it, as in
    /// `From alice@example.org Mon Nov 23 08:00:00 2026`, so a body line that a careless writer
    /// did not escape as `>From ` ("From tomorrow on, ...") does not split a message.
    static func isSeparator(_ line: UnsafeBufferPointer<UInt8>) -> Bool {
        guard PostfixLogParser.hasPrefix(line, "From "), line.count >= 12 else { return false }
        let digit = { (byte: UInt8) in byte >= 0x30 && byte <= 0x39 }
        for index in 6..<(line.count - 2) where line[index] == UInt8(ascii: ":") && digit(line[index - 1]) && digit(line[index + 1]) && digit(line[index + 2]) {
            return true
        }
        return false
    }

    /// The parsed addresses of an address-list header value (display names, comments and
    /// groups dropped), by ``HeaderAddress/parseList(_:)``.
    static func addresses(in value: String) -> [String] {
        HeaderAddress.parseList(value).compactMap { $0.address?.description }
    }

    private static let wanted: Set<String> = ["from", "return-path", "to", "cc", "bcc"]

    private mutating func finishMessage(emit: (ReplayedMessage) -> Void) {
        defer {
            fields.removeAll(keepingCapacity: true)
            headerBytes = 0
        }
        guard started else { return }
        messageCount += 1
        var recipients: [String] = []
        for field in fields where ["to", "cc", "bcc"].contains(field.name) {
            for address in Self.addresses(in: field.value) where !recipients.contains(address) {
                recipients.append(address)
            }
        }
        let sender = fields.first { $0.name == "from" }.flatMap { Self.addresses(in: $0.value).first }
            ?? fields.first { $0.name == "return-path" }.flatMap { Self.addresses(in: $0.value).first }
        let id = framing == .single ? name : "\(name)#\(messageCount)"
        emit(ReplayedMessage(id: id, sender: sender, recipients: recipients))
    }
}

extension String {
    /// Without leading and trailing spaces and tabs.
    var trimmingSpaces: String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { $0 != " " && $0 != "\t" }) else { return "" }
        let last = scalars.lastIndex(where: { $0 != " " && $0 != "\t" })!
        return String(scalars[first...last])
    }
}
