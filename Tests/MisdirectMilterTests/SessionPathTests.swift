import Logging
import Milter
import MilterTesting
import MisdirectMilterKit
import MisdirectionRisk
import Testing
import TestSupport

/// The session's paths, stage by stage, with a context that records what the MTA is asked for:
/// forged verdict headers, holds, the sender override, the body kept for review, and a change the
/// MTA refuses. No MTA and no socket: the integration tests run the same paths under Postfix.
struct SessionPathTests {
    /// What one message got: the answer to each RCPT, to end of message, and the changes asked.
    struct Outcome {
        var recipients: [MilterResponse] = []
        var body: [MilterResponse] = []
        var end: MilterResponse = .continue
        var changes: [RecordingContext.Change] = []

        /// The value of the verdict header inserted first, if any.
        var riskHeader: String? {
            for case let .insertHeader(name, value, 0) in changes where name == RiskHeader.name { return value }
            return nil
        }
    }

    static func session(_ yaml: String, logger: Logger = Logger(label: "test")) throws -> MisdirectionSession {
        let configuration = try ConfigurationLoader.parse(
            "protected: [mil, gov]\npublic_suffix_list: \(Repository.publicSuffixListPath)\n" + yaml, file: "test.yml")
        let engine = try Engine.load(configuration, file: "test.yml", generation: 1)
        let notifier = configuration.review.map { ReviewNotifier(logger: Logger(label: "test"), maximumBytes: $0.queueSize) }
        return MisdirectionSession(engine: engine, logger: logger, notifier: notifier)
    }

    /// MAIL, each RCPT, the headers, end of headers, the body chunks and end of message.
    static func send(
        _ session: MisdirectionSession, from sender: String = "<alice@army.mil>", to recipients: [String],
        headers: [(String, String)] = [("Subject", "plans")], body: [String] = [], context: RecordingContext
    ) -> Outcome {
        var outcome = Outcome()
        _ = session.envelopeSender([Array(sender.utf8)], context: context)
        outcome.recipients = recipients.map { session.envelopeRecipient([Array($0.utf8)], context: context) }
        for (name, value) in headers {
            _ = session.header(name: Array(name.utf8), value: Array(value.utf8), context: context)
        }
        _ = session.endOfHeaders(context: context)
        outcome.body = body.map { session.body(Array($0.utf8), context: context) }
        outcome.end = session.endOfMessage(context: context)
        outcome.changes = context.changes
        return outcome
    }

    static func replyCode(_ response: MilterResponse) -> String? {
        if case .reply(let reply) = response { return reply.code }
        return nil
    }

    @Test("forged verdict headers, in any case, are removed last first and ours is inserted first")
    func forgedHeaders() throws {
        let context = RecordingContext(macros: ["i": "4ABC"])
        let outcome = Self.send(try Self.session(""), to: ["<bob@army.mil>"], headers: [
            ("X-Misdirection-Risk", "level=none; action=accept"), ("Subject", "plans"),
            ("x-misdirection-RISK", "level=none"),
        ], context: context)
        #expect(outcome.end == .continue)
        #expect(Array(outcome.changes.prefix(2)) == [
            .changeHeader(name: RiskHeader.name, occurrence: 2, value: nil),
            .changeHeader(name: RiskHeader.name, occurrence: 1, value: nil),
        ])
        #expect(outcome.changes.count == 3)
        #expect(outcome.riskHeader?.hasPrefix("none; ") == true, "\(outcome.changes)")
    }

    @Test("console.notify_sender: only an authenticated sender of a message held for a listed rule is told", arguments: [
        ("console: {notify_sender: [suffix-confusion]}\n", "alice", "alice@army.mil"),
        ("console: {notify_sender: [suffix-confusion, typo]}\n", "alice", "alice@army.mil"),
        ("console: {notify_sender: [suffix-confusion]}\n", nil, nil),
        ("console: {notify_sender: [homoglyph]}\n", "alice", nil),
        ("console: {notify_sender: []}\n", "alice", nil),
        ("", "alice", nil),
    ] as [(String, String?, String?)])
    func senderToNotify(console: String, login: String?, expected: String?) throws {
        let session = try Self.session("actions: {high: quarantine}\nreview: {mailbox: review@example.org, relay: 127.0.0.1:25}\n" + console)
        let context = RecordingContext(macros: ["i": "4HELD"].merging(login.map { ["{auth_authen}": $0] } ?? [:]) { $1 })
        _ = session.envelopeSender([Array("<alice@army.mil>".utf8)], context: context)
        _ = session.envelopeRecipient([Array("<j.smith@army.ml>".utf8)], context: context)
        _ = session.envelopeRecipient([Array("<bob@army.mil>".utf8)], context: context)
        #expect(session.senderToNotify?.description == expected)
    }

    @Test("a message to a look-alike the policy holds is quarantined, with the recipient and rules as the reason")
    func held() throws {
        let context = RecordingContext(macros: ["i": "4HELD"])
        let outcome = Self.send(try Self.session("actions: {high: quarantine}\n"), to: ["<j.smith@army.ml>", "<bob@army.mil>"], context: context)
        #expect(outcome.recipients == [.continue, .continue])
        #expect(outcome.end == .continue)
        let reasons = outcome.changes.compactMap { change -> String? in
            if case .quarantine(let reason) = change { return reason }
            return nil
        }
        #expect(reasons.count == 1)
        #expect(reasons.first?.hasPrefix("misdirect-milter: j.smith@army.ml: ") == true)
        #expect(reasons.first?.contains("[suffix-confusion,odd-one-out]") == true, "\(reasons)")
        #expect(outcome.riskHeader?.contains("action=quarantine") == true)
    }

    @Test("a tagged message gets the review mailbox as an extra recipient")
    func taggedCopy() throws {
        let session = try Self.session("actions: {high: tag}\nreview: {mailbox: review@example.org, relay: 127.0.0.1:1}\n")
        let outcome = Self.send(session, to: ["<j.smith@army.ml>"], context: RecordingContext())
        #expect(outcome.changes.contains(.addRecipient("<review@example.org>")))
        #expect(outcome.riskHeader?.contains("action=tag") == true)
    }

    @Test("an authenticated sender's override delivers the refused recipient it names, tagged, and the header goes")
    func senderOverride() throws {
        let session = try Self.session("sender_override: {header: X-Misdirection-Override}\n")
        let context = RecordingContext(macros: ["i": "4OVR", "auth_authen": "alice"])
        let outcome = Self.send(session, to: ["<j.smith@army.ml>"], headers: [
            ("Subject", "plans"), ("X-Misdirection-Override", "J.Smith@army.ml"),
        ], context: context)
        #expect(outcome.recipients == [.continue], "the refusal waits for the header at end of message")
        #expect(outcome.end == .continue)
        #expect(outcome.changes.contains(.changeHeader(name: "X-Misdirection-Override", occurrence: 1, value: nil)))
        #expect(outcome.riskHeader?.contains("override=sender") == true)
    }

    @Test("without SMTP AUTH the override header changes nothing: the look-alike is refused at RCPT, the header still goes")
    func overrideNeedsAuthentication() throws {
        let session = try Self.session("sender_override: {header: X-Misdirection-Override}\n")
        let outcome = Self.send(session, to: ["<j.smith@army.ml>", "<bob@army.mil>"], headers: [
            ("X-Misdirection-Override", "j.smith@army.ml"),
        ], context: RecordingContext(macros: ["i": "4NOAUTH"]))
        #expect(Self.replyCode(outcome.recipients[0]) == "550")
        #expect(outcome.recipients[1] == .continue)
        #expect(outcome.changes.contains(.changeHeader(name: "X-Misdirection-Override", occurrence: 1, value: nil)))
        #expect(outcome.riskHeader?.contains("override=sender") == false)
    }

    @Test("an override naming another address leaves the refusal standing, for the whole message")
    func overrideOfAnotherRecipient() throws {
        let session = try Self.session("sender_override: {header: X-Misdirection-Override}\n")
        let outcome = Self.send(session, to: ["<j.smith@army.ml>"], headers: [
            ("X-Misdirection-Override", "someone.else@army.ml"),
        ], context: RecordingContext(macros: ["auth_authen": "alice"]))
        #expect(outcome.recipients == [.continue])
        #expect(Self.replyCode(outcome.end) == "550")
        #expect(outcome.changes.isEmpty, "a refused message is not changed")
    }

    @Test("the body is kept for the review notice only when the message is held, and only up to review.max_size")
    func bodyForReview() throws {
        let yaml = "actions: {high: quarantine}\nreview: {mailbox: review@example.org, relay: 127.0.0.1:1, max_size: 1000}\n"
        let chunk = String(repeating: "x", count: 600)

        let held = try Self.session(yaml)
        let outcome = Self.send(held, to: ["<j.smith@army.ml>"], body: [chunk], context: RecordingContext())
        #expect(outcome.body == [.continue])
        let second = try Self.session(yaml)
        _ = second.envelopeSender([Array("<alice@army.mil>".utf8)], context: RecordingContext())
        _ = second.envelopeRecipient([Array("<j.smith@army.ml>".utf8)], context: RecordingContext())
        #expect(second.body(Array(chunk.utf8), context: RecordingContext()) == .continue)
        #expect(second.body(Array(chunk.utf8), context: RecordingContext()) == .continue)
        #expect(second.message.body.count == 1000)
        #expect(second.message.bodyTruncated)

        let clean = Self.send(try Self.session(yaml), to: ["<bob@army.mil>"], body: [chunk], context: RecordingContext())
        #expect(clean.body == [.skip], "nothing held: the MTA is told to skip the body")
    }

    @Test("a change the MTA refuses makes the message a temporary failure, never a pass unchecked")
    func refusedChange() throws {
        for yaml in ["", "actions: {high: quarantine}\n"] {
            let outcome = Self.send(try Self.session(yaml), to: ["<j.smith@army.ml>", "<bob@army.mil>"].suffix(yaml.isEmpty ? 1 : 2),
                                    context: RecordingContext(refusesChanges: true))
            #expect(outcome.end == .tempfail)
            #expect(outcome.changes.isEmpty)
        }
    }

    @Test("at info a flagged recipient has a line and the message one more naming the clean ones; at debug every recipient has one")
    func decisionLines() throws {
        for level in [Logger.Level.info, .debug] {
            let lines = CapturedLines()
            var logger = Logger(label: "test") { _ in CapturingHandler(lines: lines) }
            logger.logLevel = level
            let clean = (1...23).map { "<p\($0)@army.mil>" }
            let outcome = Self.send(try Self.session("actions: {high: tag}\n", logger: logger),
                                    to: ["<j.smith@army.ml>"] + clean, context: RecordingContext(macros: ["i": "4LOG"]))
            #expect(outcome.end == .continue)
            let messages = lines.all.map(\.message)
            #expect(messages.filter { $0 == "tagged recipient" }.count == 1)
            #expect(messages.filter { $0 == "accepted recipient" }.count == (level == .debug ? 23 : 0))
            let checked = try #require(lines.all.first { $0.message == "checked message" })
            #expect(checked.metadata["rcpt.count"] == "24" && checked.metadata["rcpt.flagged"] == "1")
            #expect(checked.metadata["risk.action"] == "tag" && checked.metadata["mail.queue_id"] == "4LOG")
            let listed = try #require(checked.metadata["rcpt.clean"])
            #expect(listed.hasPrefix("<p1@army.mil>,<p2@army.mil>,") && listed.hasSuffix(",<p20@army.mil>,+3 more"), "\(listed)")
            #expect(!listed.contains("army.ml>"))
        }
    }

    @Test("headers the session writes are cleaned as libmilter's context cleans them")
    func recordingContextCleans() throws {
        let context = RecordingContext()
        try context.addHeader("X-Test", value: "a\r\nb\n c\u{0}d")
        #expect(context.changes == [.addHeader(name: "X-Test", value: "a b\n c d")])
        #expect(throws: MilterError.invalidHeaderName) { try context.addHeader("Bad: name", value: "x") }
        #expect(RecordingContext(macros: ["auth_authen": "alice"]).macro("{auth_authen}") == "alice")
    }
}

/// Log lines a test reads back: message and metadata as text.
final class CapturedLines: Sendable {
    struct Line: Sendable {
        let message: String
        let metadata: [String: String]
    }
    private let lines = Locked<[Line]>([])
    var all: [Line] { lines.withLock { $0 } }
    func append(_ line: Line) { lines.withLock { $0.append(line) } }
}

struct CapturingHandler: LogHandler {
    let lines: CapturedLines
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .info

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let merged = metadata.merging(event.metadata ?? [:]) { $1 }
        lines.append(.init(message: event.message.description, metadata: merged.mapValues { "\($0)" }))
    }
}
