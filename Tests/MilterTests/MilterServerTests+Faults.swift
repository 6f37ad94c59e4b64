import Foundation
import Milter
import MTADriver
import Testing

/// MTA-side faults against real libmilter in-process: whatever the MTA does, every session is
/// released exactly once and the server keeps serving. In the serialized suite, so the session
/// counts are this test's alone.
extension MilterServerTests {
    /// Runs `body`, then checks that every session it made was closed and none is left.
    static func expectNoLeak(_ body: () throws -> Void) throws {
        _ = ProbeMilter.socketPath
        #expect(MilterServer.waitForSessions(timeout: .seconds(10)))
        let madeBefore = ProbeSession.made.load(ordering: .relaxed)
        let closedBefore = ProbeSession.closed.load(ordering: .relaxed)
        try body()
        #expect(MilterServer.waitForSessions(timeout: .seconds(15)), "sessions left: \(MilterServer.liveSessions)")
        let made = ProbeSession.made.load(ordering: .relaxed) - madeBefore
        let closed = ProbeSession.closed.load(ordering: .relaxed) - closedBefore
        #expect(made == closed, "\(made) sessions made, \(closed) closed")
        // And it still serves.
        let connection = try ProbeMilter.connection()
        _ = try connection.mail([Array("<a@example.org>".utf8)])
        #expect(try connection.rcpt([Array("<after@example.net>".utf8)]) == .continue)
        try connection.quit()
    }

    @Test("an MTA that drops the connection at any stage, even inside a packet, leaves no session behind")
    func dropAtEveryStage() throws {
        try Self.expectNoLeak {
            for stage in 0..<7 {
                let connection = try MTAConnection(unixPath: ProbeMilter.socketPath)
                if stage == 0 { connection.drop(); continue }
                _ = try connection.negotiate()
                if stage >= 2 { _ = try connection.mail([Array("<a@example.org>".utf8)]) }
                if stage >= 3 { _ = try connection.rcpt([Array("<r@example.net>".utf8)]) }
                if stage >= 4 { _ = try connection.header("X-Probe", Array("forged".utf8)) }
                if stage == 5 {
                    // Half a packet: the length says 100 bytes, 3 arrive.
                    try connection.sendRaw(MTAConnection.uint32(100) + Array("L".utf8) + [0x41, 0x42])
                }
                if stage == 6 { try connection.send("E", []) }  // end of message, reply never read
                connection.drop()
            }
        }
    }

    @Test("abort (RSET) mid-message, many times on one connection, leaves one session, released once")
    func abortRepeatedly() throws {
        try Self.expectNoLeak {
            let connection = try ProbeMilter.connection()
            for round in 0..<50 {
                _ = try connection.mail([Array("<a@example.org>".utf8)])
                _ = try connection.rcpt([Array("<r\(round)@example.net>".utf8)])
                try connection.abort()
            }
            _ = try connection.mail([Array("<a@example.org>".utf8)])
            _ = try connection.rcpt([Array("<last@example.net>".utf8)])
            let (changes, _) = try connection.endOfMessage()
            #expect(changes.last == .addHeader(name: "X-Probe-Result", value: "rcpts=1; queue=none Injected: yes"))
            try connection.quit()
        }
    }

    @Test("a thousand recipients in one message")
    func thousandRecipients() throws {
        try Self.expectNoLeak {
            let connection = try ProbeMilter.connection()
            _ = try connection.mail([Array("<a@example.org>".utf8)])
            for index in 0..<1000 {
                #expect(try connection.rcpt([Array("<r\(index)@example.net>".utf8), Array("NOTIFY=NEVER".utf8)]) == .continue)
            }
            let (changes, reply) = try connection.endOfMessage()
            #expect(reply == .continue)
            #expect(changes.last == .addHeader(name: "X-Probe-Result", value: "rcpts=1000; queue=none Injected: yes"))
            try connection.quit()
        }
    }

    @Test("200 connections open at once, each with its own state")
    func twoHundredConnections() throws {
        try Self.expectNoLeak {
            var connections: [MTAConnection] = []
            for index in 0..<200 {
                let connection = try ProbeMilter.connection()
                _ = try connection.mail([Array("<a@example.org>".utf8)])
                for recipient in 0...(index % 3) {
                    _ = try connection.rcpt([Array("<r\(recipient)@example.net>".utf8)])
                }
                connections.append(connection)
            }
            #expect(MilterServer.liveSessions >= 200)
            for (index, connection) in connections.enumerated() {
                if index.isMultiple(of: 4) { connection.drop(); continue }
                let (changes, _) = try connection.endOfMessage()
                #expect(changes.last == .addHeader(name: "X-Probe-Result", value: "rcpts=\(index % 3 + 1); queue=none Injected: yes"))
                try connection.quit()
            }
        }
    }

    @Test("an MTA writing a byte at a time is served correctly")
    func slowWrites() throws {
        try Self.expectNoLeak {
            let connection = try ProbeMilter.connection()
            connection.slowWrites = (bytes: 1, pause: .milliseconds(2))
            _ = try connection.mail([Array("<a@example.org>".utf8)])
            _ = try connection.rcpt([Array("<slow@example.net>".utf8)])
            _ = try connection.header("Subject", Array("written slowly".utf8))
            let (changes, _) = try connection.endOfMessage()
            #expect(changes.last == .addHeader(name: "X-Probe-Result", value: "rcpts=1; queue=none Injected: yes"))
            try connection.quit()
        }
    }

    @Test("an MTA silent mid-message for longer than the timeout is served or cut off, never leaked")
    func silentMTA() throws {
        try Self.expectNoLeak {
            let connection = try MTAConnection(unixPath: ProbeMilter.socketPath)
            _ = try connection.negotiate()
            _ = try connection.mail([Array("<a@example.org>".utf8)])
            _ = try connection.rcpt([Array("<r@example.net>".utf8)])
            // Debian's pooled libmilter looks for connections idle past the timeout only every
            // 600 s, so the connection usually survives the pause; either way nothing leaks.
            Thread.sleep(forTimeInterval: TimeInterval(ProbeMilter.timeout + 1))
            if let (changes, _) = try? connection.endOfMessage() {
                #expect(changes.last == .addHeader(name: "X-Probe-Result", value: "rcpts=1; queue=none Injected: yes"))
                try? connection.quit()
            }
        }
    }
}
