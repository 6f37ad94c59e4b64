import Foundation
import TestSupport
import Milter
import MTADriver
import Synchronization

/// A milter with a small, fixed behaviour, served once per test process on a unix socket, so
/// the tests can drive real libmilter through ``MTAConnection``.
///
/// - A recipient containing `reject` gets a 550 reply (whose text tries to inject a line),
///   `tempfail` a 450, `refuse` a bare reject.
/// - Headers named `X-Probe` are counted and removed at end of message; `X-Probe-Result` is added
///   with the recipient count and the queue id macro.
/// - Body bytes are counted (`X-Probe-Body`); a recipient containing `skipbody` makes the first
///   chunk answer skip. A recipient containing `hold` quarantines the message, `copy` adds
///   `<review@example.org>`.
final class ProbeSession: MilterSession {
    static let made = Atomic<Int>(0)
    static let closed = Atomic<Int>(0)

    private var recipients = 0
    private var probes = 0
    private var bodyBytes = 0
    private var skipBody = false
    private var hold = false
    private var copy = false

    init() { Self.made.add(1, ordering: .relaxed) }

    func envelopeSender(_ arguments: [[UInt8]], context: any MilterContext) -> MilterResponse {
        recipients = 0
        probes = 0
        bodyBytes = 0
        (skipBody, hold, copy) = (false, false, false)
        return .continue
    }

    func envelopeRecipient(_ arguments: [[UInt8]], context: any MilterContext) -> MilterResponse {
        let address = String(decoding: arguments.first ?? [], as: UTF8.self)
        if address.contains("tempfail") {
            return .reply(SMTPReply(code: "450", enhancedCode: "4.7.1", text: "later for \(address)")!)
        }
        if address.contains("refuse") { return .reject }
        if address.contains("reject") {
            return .reply(SMTPReply(code: "550", enhancedCode: "5.7.1", text: "no \(address)\r\nInjected: 100%")!)
        }
        recipients += 1
        skipBody = skipBody || address.contains("skipbody")
        hold = hold || address.contains("hold")
        copy = copy || address.contains("copy")
        return .continue
    }

    func header(name: [UInt8], value: [UInt8], context: any MilterContext) -> MilterResponse {
        if String(decoding: name, as: UTF8.self).lowercased() == "x-probe" { probes += 1 }
        return .continue
    }

    func body(_ chunk: [UInt8], context: any MilterContext) -> MilterResponse {
        bodyBytes += chunk.count
        return skipBody ? .skip : .continue
    }

    func endOfMessage(context: any MilterContext) -> MilterResponse {
        do {
            if bodyBytes > 0 { try context.addHeader("X-Probe-Body", value: "\(bodyBytes)") }
            if hold { try context.quarantine(reason: "probe hold\r\nInjected: yes") }
            if copy { try context.addRecipient("<review@example.org>") }
            for index in stride(from: probes, to: 0, by: -1) {
                try context.changeHeader("X-Probe", occurrence: index, value: nil)
            }
            try context.addHeader("X-Probe-Result", value: "rcpts=\(recipients); queue=\(context.macro("i") ?? "none")\r\nInjected: yes")
        } catch {
            return .tempfail
        }
        return .continue
    }

    func close() { Self.closed.add(1, ordering: .relaxed) }
}

/// Counts the callbacks the server reports, by stage.
struct ProbeObserver: MilterStageObserver {
    static let counts = Counts([:])

    /// Behind TestSupport's NSLock-based `Locked` rather than Mutex: libmilter's threads call
    /// the observer, and ThreadSanitizer follows NSLock but reported Mutex's accesses as a race.
    typealias Counts = Locked<[MilterStage: Int]>

    func stage(_ stage: MilterStage, took duration: Duration) {
        precondition(duration >= .zero)
        Self.counts.withLock { $0[stage, default: 0] += 1 }
    }
}

enum ProbeMilter {
    /// The socket path of the one probe milter of this process, started on first use.
    static let socketPath: String = {
        let path = FileManager.default.temporaryDirectory.path + "/probe-milter-\(getpid()).sock"
        let configuration = MilterConfiguration(
            name: "probe", socket: .unix(path: path),
            stages: [.envelopeSender, .envelopeRecipient, .headers, .body],
            unansweredStages: [.headers],
            actions: [.addHeaders, .changeHeaders, .quarantine, .addRecipients],
            macros: [.endOfMessage: ["i"]],
            // Short, so a test can pause an MTA for longer than the timeout.
            timeout: ProbeMilter.timeout)
        let server = MilterServer(configuration: configuration, stageObserver: ProbeObserver()) { ProbeSession() }
        try! server.open()
        Thread.detachNewThread { try? server.run() }
        return path
    }()

    /// Seconds of silence after which libmilter drops a connection.
    static let timeout = 3

    /// A negotiated connection to the probe milter, as Postfix would open it.
    static func connection() throws -> MTAConnection {
        let connection = try MTAConnection(unixPath: socketPath)
        _ = try connection.negotiate()
        return connection
    }
}
