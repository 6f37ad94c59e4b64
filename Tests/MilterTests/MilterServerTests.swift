import Foundation
import Milter
import MTADriver
import Testing

/// Drives the Milter library through real libmilter with the MTA side of the protocol.
@Suite(.serialized)
struct MilterServerTests {
    @Test("negotiates away unused stages, asks for skip with the body, and for the configured macros")
    func negotiation() throws {
        let connection = try MTAConnection(unixPath: ProbeMilter.socketPath)
        let negotiated = try connection.negotiate()
        #expect(negotiated.steps & 0x10 == 0, "the probe wants the body (no SMFIP_NOBODY)")
        #expect(negotiated.steps & 0x400 != 0, "SMFIP_SKIP with the body")
        #expect(negotiated.steps & 0x01 != 0, "SMFIP_NOCONNECT: the probe does not use connect")
        #expect(negotiated.steps & 0x08 == 0, "recipients are wanted")
        #expect(negotiated.steps & MTAConnection.noReplySteps == 0x80, "SMFIP_NR_HDR alone: headers go unanswered on a unix socket")
        #expect(negotiated.actions & 0x01 != 0, "SMFIF_ADDHDRS")
        #expect(negotiated.actions & 0x10 != 0, "SMFIF_CHGHDRS")
        #expect(negotiated.actions & 0x24 == 0x24, "SMFIF_QUARANTINE and SMFIF_ADDRCPT")
        #expect(negotiated.actions & 0x08 == 0, "SMFIF_DELRCPT was not asked for")
        #expect(negotiated.macros[5] == "i", "queue id requested at end of message")
        try connection.quit()
    }

    @Test("refuses one recipient with the SMTP reply, and carries on with the others")
    func perRecipientReply() throws {
        let connection = try ProbeMilter.connection()
        #expect(try connection.mail([Array("<a@example.org>".utf8)]) == .continue)
        let refused = try connection.rcpt([Array("<x-reject@example.net>".utf8)])
        #expect(refused == .text("550-5.7.1 no <x-reject@example.net>\r\n550 5.7.1 Injected: 100%%"))
        #expect(try connection.rcpt([Array("<ok@example.net>".utf8)]) == .continue)
        #expect(try connection.rcpt([Array("<x-tempfail@example.net>".utf8)]) == .text("450 4.7.1 later for <x-tempfail@example.net>"))
        #expect(try connection.rcpt([Array("<x-refuse@example.net>".utf8)]) == .reject)
        try connection.quit()
    }

    @Test("changes headers at end of message, with the queue id macro and no injected line")
    func endOfMessageChanges() throws {
        let connection = try ProbeMilter.connection()
        _ = try connection.mail([Array("<a@example.org>".utf8)])
        _ = try connection.rcpt([Array("<one@example.net>".utf8)])
        _ = try connection.rcpt([Array("<two@example.net>".utf8)])
        _ = try connection.header("X-Probe", Array("forged 1".utf8))
        _ = try connection.header("Subject", Array("hello".utf8))
        _ = try connection.header("x-probe", Array("forged 2".utf8))
        try connection.macros("E", [("i", "4ABCDEF")])
        let (changes, reply) = try connection.endOfMessage()
        #expect(reply == .continue)
        #expect(changes == [
            .changeHeader(index: 2, name: "X-Probe", value: ""),
            .changeHeader(index: 1, name: "X-Probe", value: ""),
            .addHeader(name: "X-Probe-Result", value: "rcpts=2; queue=4ABCDEF Injected: yes"),
        ])
        try connection.quit()
    }

    @Test("an MTA that does not offer unanswered stages gets an answer to every header, and the same changes")
    func headersAnsweredWhenNotOffered() throws {
        let connection = try MTAConnection(unixPath: ProbeMilter.socketPath)
        let negotiated = try connection.negotiate(steps: 0x1F_FFFF & ~MTAConnection.noReplySteps)
        #expect(negotiated.steps & MTAConnection.noReplySteps == 0)
        _ = try connection.mail([Array("<a@example.org>".utf8)])
        _ = try connection.rcpt([Array("<one@example.net>".utf8)])
        #expect(try connection.header("X-Probe", Array("forged".utf8)) == .continue)
        #expect(try connection.header("Subject", Array("hello".utf8)) == .continue)
        let (changes, reply) = try connection.endOfMessage()
        #expect(reply == .continue)
        #expect(changes.first == .changeHeader(index: 1, name: "X-Probe", value: ""))
        try connection.quit()
    }

    @Test("sees the body until it answers skip")
    func bodyAndSkip() throws {
        let connection = try ProbeMilter.connection()
        _ = try connection.mail([Array("<a@example.org>".utf8)])
        _ = try connection.rcpt([Array("<one@example.net>".utf8)])
        #expect(try connection.body(Array(repeating: 0x41, count: 1000)) == .continue)
        #expect(try connection.body(Array(repeating: 0x42, count: 500)) == .continue)
        var (changes, _) = try connection.endOfMessage()
        #expect(changes.contains(.addHeader(name: "X-Probe-Body", value: "1500")))
        _ = try connection.mail([Array("<a@example.org>".utf8)])
        _ = try connection.rcpt([Array("<skipbody@example.net>".utf8)])
        #expect(try connection.body(Array(repeating: 0x41, count: 10)) == .skip)
        (changes, _) = try connection.endOfMessage()
        #expect(changes.contains(.addHeader(name: "X-Probe-Body", value: "10")))
        try connection.quit()
    }

    @Test("the stage observer is told of every callback the session gets, the body included")
    func stageObserver() throws {
        _ = ProbeMilter.socketPath
        #expect(MilterServer.waitForSessions(timeout: .seconds(5)))
        let before = ProbeObserver.counts.withLock { $0 }
        let connection = try ProbeMilter.connection()
        _ = try connection.mail([Array("<a@example.org>".utf8)])
        _ = try connection.rcpt([Array("<one@example.net>".utf8)])
        _ = try connection.rcpt([Array("<two@example.net>".utf8)])
        _ = try connection.header("Subject", Array("hello".utf8))
        _ = try connection.body(Array(repeating: 0x41, count: 100))
        _ = try connection.body(Array(repeating: 0x42, count: 100))
        _ = try connection.endOfMessage()
        try connection.quit()
        #expect(MilterServer.waitForSessions(timeout: .seconds(5)))
        let after = ProbeObserver.counts.withLock { $0 }
        let seen = Dictionary(uniqueKeysWithValues: MilterStage.allCases.map { ($0, after[$0, default: 0] - before[$0, default: 0]) })
        #expect(seen[.envelopeSender] == 1)
        #expect(seen[.envelopeRecipient] == 2)
        #expect(seen[.header] == 1)
        #expect(seen[.body] == 2)
        #expect(seen[.endOfMessage] == 1)
        #expect(seen[.close] == 1)
    }

    @Test("quarantines and adds a recipient at end of message, with the reason kept on one line")
    func quarantineAndAddRecipient() throws {
        let connection = try ProbeMilter.connection()
        _ = try connection.mail([Array("<a@example.org>".utf8)])
        _ = try connection.rcpt([Array("<hold-copy@example.net>".utf8)])
        let (changes, reply) = try connection.endOfMessage()
        #expect(reply == .continue)
        #expect(changes.contains(.quarantine(reason: "probe hold  Injected: yes")))
        #expect(changes.contains(.addRecipient("<review@example.org>")))
        try connection.quit()
    }

    @Test("a second message on the same connection starts clean, after an abort")
    func abortThenAnotherMessage() throws {
        let connection = try ProbeMilter.connection()
        _ = try connection.mail([Array("<a@example.org>".utf8)])
        _ = try connection.rcpt([Array("<one@example.net>".utf8)])
        try connection.abort()
        _ = try connection.mail([Array("<b@example.org>".utf8)])
        _ = try connection.rcpt([Array("<only@example.net>".utf8)])
        let (changes, _) = try connection.endOfMessage()
        #expect(changes.last == .addHeader(name: "X-Probe-Result", value: "rcpts=1; queue=none Injected: yes"))
        try connection.quit()
    }

    @Test("every session is released exactly once, also when the MTA drops the connection")
    func sessionsReleased() throws {
        _ = ProbeMilter.socketPath
        #expect(MilterServer.waitForSessions(timeout: .seconds(5)))
        let madeBefore = ProbeSession.made.load(ordering: .relaxed)
        let closedBefore = ProbeSession.closed.load(ordering: .relaxed)
        for index in 0..<20 {
            let connection = try ProbeMilter.connection()
            _ = try connection.mail([Array("<a@example.org>".utf8)])
            _ = try connection.rcpt([Array("<r\(index)@example.net>".utf8)])
            if index.isMultiple(of: 2) { connection.drop() } else { try connection.quit() }
        }
        #expect(MilterServer.waitForSessions(timeout: .seconds(10)))
        #expect(ProbeSession.made.load(ordering: .relaxed) - madeBefore == 20)
        #expect(ProbeSession.closed.load(ordering: .relaxed) - closedBefore == 20)
    }

    @Test("serves many connections at once, each with its own state")
    func concurrentConnections() async throws {
        _ = ProbeMilter.socketPath
        let results = try await withThrowingTaskGroup(of: Bool.self) { group in
            for worker in 0..<32 {
                group.addTask {
                    let connection = try ProbeMilter.connection()
                    _ = try connection.mail([Array("<w\(worker)@example.org>".utf8)])
                    for index in 0...(worker % 5) {
                        _ = try connection.rcpt([Array("<r\(index)@example.net>".utf8)])
                    }
                    let (changes, _) = try connection.endOfMessage()
                    try connection.quit()
                    return changes.last == .addHeader(name: "X-Probe-Result", value: "rcpts=\(worker % 5 + 1); queue=none Injected: yes")
                }
            }
            return try await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(results.count == 32)
        #expect(results.allSatisfy { $0 })
        #expect(MilterServer.waitForSessions(timeout: .seconds(10)))
    }
}
