import Foundation
import Locking

/// Signed-in reviewers: a random session id (the cookie) per sign-in, with its user, its CSRF
/// token and when it was last used. In memory: a restart signs everyone out.
package final class Sessions: Sendable {
    package struct Session: Sendable, Equatable {
        package let user: String
        package let csrf: String
        package let created: ContinuousClock.Instant
        package var lastUsed: ContinuousClock.Instant
    }

    package static let cookieName = "misdirect_session"
    /// However active, a session ends after this long.
    package static let maximumAge: Duration = .seconds(12 * 3600)
    /// Live sessions kept at most (by default 10,000); beyond, the longest unused goes (a
    /// client of the proxy that keeps no cookie makes one per request).
    private let maximumCount: Int

    private let idleTimeout: Duration
    private let sessions = LockedValue([String: Session]())

    package init(idleTimeout: Duration, maximumCount: Int = 10_000) {
        self.idleTimeout = idleTimeout
        self.maximumCount = maximumCount
    }

    /// A new session for `user`: its id, for the cookie.
    package func start(user: String, now: ContinuousClock.Instant = .now) -> String {
        let id = randomToken()
        let session = Session(user: user, csrf: randomToken(), created: now, lastUsed: now)
        sessions.withLock { sessions in
            sessions = sessions.filter { isLive($0.value, now: now) }
            if sessions.count >= maximumCount, let oldest = sessions.min(by: { $0.value.lastUsed < $1.value.lastUsed })?.key {
                sessions[oldest] = nil
            }
            sessions[id] = session
        }
        return id
    }

    /// The session `id` names, if it is live; marks it used.
    package func session(_ id: String?, now: ContinuousClock.Instant = .now) -> Session? {
        guard let id else { return nil }
        return sessions.withLock { sessions in
            guard var session = sessions[id] else { return nil }
            guard isLive(session, now: now) else {
                sessions[id] = nil
                return nil
            }
            session.lastUsed = now
            sessions[id] = session
            return session
        }
    }

    package func end(_ id: String?) {
        guard let id else { return }
        sessions.withLock { $0[id] = nil }
    }

    private func isLive(_ session: Session, now: ContinuousClock.Instant) -> Bool {
        now - session.lastUsed < idleTimeout && now - session.created < Self.maximumAge
    }
}

/// 32 random bytes as 64 hex digits, from the system's generator.
package func randomToken() -> String {
    var generator = SystemRandomNumberGenerator()
    return (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
}

/// Bytes compared in a time that does not depend on where they first differ.
package func constantTimeEqual(_ a: String, _ b: String) -> Bool {
    let x = Array(a.utf8), y = Array(b.utf8)
    guard x.count == y.count else { return false }
    var difference: UInt8 = 0
    for index in x.indices { difference |= x[index] ^ y[index] }
    return difference == 0
}

/// Failed sign-ins per remote address: after ``limit`` failures within ``window``, the address
/// is refused until the oldest failure leaves the window.
package final class LoginThrottle: Sendable {
    package static let limit = 5
    package static let window: Duration = .seconds(300)
    private let failures = LockedValue([String: [ContinuousClock.Instant]]())

    package init() {}

    package func isBlocked(_ address: String, now: ContinuousClock.Instant = .now) -> Bool {
        failures.withLock { failures in
            let recent = (failures[address] ?? []).filter { now - $0 < Self.window }
            failures[address] = recent.isEmpty ? nil : recent
            return recent.count >= Self.limit
        }
    }

    package func recordFailure(_ address: String, now: ContinuousClock.Instant = .now) {
        failures.withLock { $0[address, default: []].append(now) }
    }

    package func recordSuccess(_ address: String) {
        failures.withLock { $0[address] = nil }
    }
}
