/// Reads Postfix's mail log line by line and gives back each message with its envelope sender
/// and the recipients it was delivered (or attempted) to.
///
/// A message is identified by its queue id. `qmgr` logs `QUEUEID: from=<sender>, …`; each
/// delivery agent (`smtp`, `lmtp`, `local`, `virtual`, `pipe`, whatever the service is named,
/// as in `postfix/relay/smtp`) logs `QUEUEID: to=<recipient>, …, status=…` per attempt; the
/// queue manager's `QUEUEID: removed` ends the message. A recipient retried after a deferral
/// counts once. Lines of other programs, `NOQUEUE` rejections and anything unparsable are
/// skipped. Syslog's time format (`Nov 25 19:58:53`) and RFC 3339 (`2026-11-25T19:58:53.339+00:00`,
/// Postfix's own `maillog_file`) are both fine: only what follows `program[pid]: ` is read.
///
/// Memory stays bounded on logs of any size: only messages not yet `removed` are kept, and when
/// more than `maximumPending` are open (a log cut in the middle, lost `removed` lines) the oldest
/// half is given back early.
public struct PostfixLogParser {
    /// Lines given to ``consume(_:emit:)``.
    public private(set) var linesRead = 0
    /// Lines that carried a sender, a recipient or an end of message.
    public private(set) var linesUsed = 0

    private struct Pending {
        var sequence: Int
        var sender: String?
        var recipients: [String]
        /// The stamp of each recipient's first counted `to=<…>` line.
        var stamps: [Int]

        func replayed(id: String) -> ReplayedMessage {
            ReplayedMessage(id: id, sender: sender, recipients: recipients, stamps: stamps)
        }
    }

    private var pending: [String: Pending] = [:]
    private var sequence = 0
    private let maximumPending: Int
    private let deliveredOnly: Bool

    /// The delivery agents whose `to=<…>` lines count, by the last part of the program name.
    public static let deliveryAgents: Set<String> = ["smtp", "lmtp", "local", "virtual", "pipe"]

    /// - Parameter deliveredOnly: count only `status=sent` attempts (what really went out, for
    ///   `history import`), not bounces and deferrals.
    public init(maximumPending: Int = 100_000, deliveredOnly: Bool = false) {
        self.maximumPending = max(2, maximumPending)
        self.deliveredOnly = deliveredOnly
    }

    /// Reads one line (without its newline) and hands over any message it completes.
    /// - Parameter stamp: kept with a recipient this line delivers (``ReplayedMessage/stamps``):
    ///   the caller's mark of the line, such as its day, so that a message is dated by each of
    ///   its deliveries, not by the line that happens to complete it. Give one with every line
    ///   or with none.
    public mutating func consume(_ line: UnsafeBufferPointer<UInt8>, stamp: Int? = nil, emit: (ReplayedMessage) -> Void) {
        linesRead += 1
        guard let (program, queueID, rest) = Self.split(line) else { return }
        if Self.hasPrefix(rest, "to=<") {
            guard Self.deliveryAgents.contains(program), let address = Self.address(rest, after: 4),
                  !deliveredOnly || Self.contains(rest, ", status=sent ")
            else { return }
            linesUsed += 1
            update(queueID, emit: emit) { message in
                if !message.recipients.contains(address) {
                    message.recipients.append(address)
                    if let stamp { message.stamps.append(stamp) }
                }
            }
        } else if Self.hasPrefix(rest, "from=<") {
            guard let address = Self.address(rest, after: 6) else { return }
            linesUsed += 1
            update(queueID, emit: emit) { $0.sender = address }
        } else if rest.count == 7, Self.hasPrefix(rest, "removed") {
            linesUsed += 1
            if let message = pending.removeValue(forKey: queueID), !message.recipients.isEmpty {
                emit(message.replayed(id: queueID))
            }
        }
    }

    /// Hands over the messages still open at the end of the input (their `removed` line was not
    /// in it), oldest first.
    public mutating func finish(emit: (ReplayedMessage) -> Void) {
        for (id, message) in pending.sorted(by: { $0.value.sequence < $1.value.sequence }) where !message.recipients.isEmpty {
            emit(message.replayed(id: id))
        }
        pending.removeAll()
    }

    private mutating func update(_ queueID: String, emit: (ReplayedMessage) -> Void, _ change: (inout Pending) -> Void) {
        if pending[queueID] == nil {
            if pending.count >= maximumPending { evictOldestHalf(emit: emit) }
            sequence += 1
            pending[queueID] = Pending(sequence: sequence, sender: nil, recipients: [], stamps: [])
        }
        change(&pending[queueID]!)
    }

    private mutating func evictOldestHalf(emit: (ReplayedMessage) -> Void) {
        let oldest = pending.sorted { $0.value.sequence < $1.value.sequence }.prefix(pending.count / 2)
        for (id, message) in oldest {
            pending[id] = nil
            if !message.recipients.isEmpty { emit(message.replayed(id: id)) }
        }
    }

    // MARK: Line anatomy

    /// True when `line` is a log line of a program with a queue id (`… postfix/qmgr[880]:
    /// 4Xk9Lq1Zb2z9tJ: …`), in either time format: what tells a mail log from a message whose
    /// first line is a header field (`2026-11-25T19:58:53…` would pass for a field name).
    public static func isLogLine(_ line: [UInt8]) -> Bool {
        line.withUnsafeBufferPointer { split($0) != nil }
    }

    /// `… program[pid]: QUEUEID: rest` → (last part of program, queue id, rest).
    static func split(_ line: UnsafeBufferPointer<UInt8>) -> (String, String, UnsafeBufferPointer<UInt8>)? {
        // The first "]: " ends the syslog header.
        var index = 0
        let count = line.count
        var close = -1
        while index + 2 < count {
            if line[index] == UInt8(ascii: "]"), line[index + 1] == UInt8(ascii: ":"), line[index + 2] == UInt8(ascii: " ") {
                close = index
                break
            }
            index += 1
        }
        guard close > 0 else { return nil }
        var open = close - 1
        while open >= 0, line[open] != UInt8(ascii: "[") { open -= 1 }
        guard open > 0 else { return nil }
        var start = open - 1
        while start >= 0, line[start] != UInt8(ascii: " "), line[start] != UInt8(ascii: "/") { start -= 1 }
        let program = String(decoding: UnsafeBufferPointer(rebasing: line[(start + 1)..<open]), as: UTF8.self)
        // The queue id: letters and digits, then ": ".
        let idStart = close + 3
        var idEnd = idStart
        while idEnd < count, Self.isQueueIDByte(line[idEnd]) { idEnd += 1 }
        guard idEnd - idStart >= 5, idEnd + 1 < count, line[idEnd] == UInt8(ascii: ":"), line[idEnd + 1] == UInt8(ascii: " ") else { return nil }
        let queueID = String(decoding: UnsafeBufferPointer(rebasing: line[idStart..<idEnd]), as: UTF8.self)
        guard queueID != "NOQUEUE" else { return nil }
        return (program, queueID, UnsafeBufferPointer(rebasing: line[(idEnd + 2)...]))
    }

    private static func isQueueIDByte(_ byte: UInt8) -> Bool {
        (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
    }

    static func hasPrefix(_ bytes: UnsafeBufferPointer<UInt8>, _ prefix: StaticString) -> Bool {
        let length = prefix.utf8CodeUnitCount
        guard bytes.count >= length else { return false }
        return prefix.withUTF8Buffer { expected in
            var index = 0
            while index < length {
                if bytes[index] != expected[index] { return false }
                index += 1
            }
            return true
        }
    }

    static func contains(_ bytes: UnsafeBufferPointer<UInt8>, _ needle: StaticString) -> Bool {
        let length = needle.utf8CodeUnitCount
        guard bytes.count >= length else { return false }
        return needle.withUTF8Buffer { expected in
            var start = 0
            while start + length <= bytes.count {
                if hasPrefix(UnsafeBufferPointer(rebasing: bytes[start...]), needle) { return true }
                start += 1
            }
            return false
        }
    }

    /// The address between `<` (at `offset`) and the `>` that ends it: the one followed by `,`
    /// or the end of the line, so a `>` inside a quoted local part does not cut it short.
    static func address(_ rest: UnsafeBufferPointer<UInt8>, after offset: Int) -> String? {
        var end = -1
        var index = offset
        while index < rest.count {
            if rest[index] == UInt8(ascii: ">"), index + 1 == rest.count || rest[index + 1] == UInt8(ascii: ",") {
                end = index
                break
            }
            index += 1
        }
        guard end > offset else { return nil }
        return String(decoding: UnsafeBufferPointer(rebasing: rest[offset..<end]), as: UTF8.self)
    }
}
