import CorrespondentHistory
import Foundation
import HTTPTypes
import HummingbirdBcrypt
import HummingbirdTesting
import Hummingbird
import Logging
import MisdirectMilterKit
@testable import ReviewConsole
import ReviewLinks
import Testing

/// A hold queue in memory: what the console asked for is recorded, so a test can tell a refused
/// request changed nothing.
final class MemoryQueue: HeldQueue, @unchecked Sendable {
    private let lock = NSLock()
    private var held: [HeldEntry]
    private(set) var actions: [String] = []

    init(_ ids: [String]) {
        held = ids.map {
            HeldEntry(queueID: $0, arrival: Date(timeIntervalSinceNow: -600), sender: "alice@example.org",
                      recipients: ["bob@army.ml"], level: "high", suspected: ["army.mil"],
                      reasons: ["army.ml is one letter from army.mil"])
        }
    }

    private(set) var listed = 0

    var done: [String] { lock.withLock { actions } }
    var lists: Int { lock.withLock { listed } }

    /// Holds one more, newer than the rest.
    func hold(_ id: String) {
        lock.withLock {
            held.append(HeldEntry(queueID: id, arrival: Date(), sender: "bob@example.org", recipients: ["carol@arny.mil"],
                                  level: "high", suspected: ["army.mil"], reasons: ["typo"]))
        }
    }

    func list() async throws -> [HeldEntry] { lock.withLock { listed += 1; return held } }

    func show(_ queueID: String) async throws -> HeldDetail {
        guard let entry = lock.withLock({ held.first { $0.queueID == queueID } }) else {
            throw HeldCommandFailure(description: "\(queueID) is not held")
        }
        return HeldDetail(message: entry, headers: [["Subject", "Travel plans <b>"]], bodyLines: ["Hello Bob,"],
                          attachments: [.init(name: "itinerary.pdf", size: 20480)])
    }

    func release(_ queueID: String) async throws { try take("release", queueID) }
    func drop(_ queueID: String) async throws { try take("drop", queueID) }

    private func take(_ action: String, _ queueID: String) throws {
        try lock.withLock {
            guard let index = held.firstIndex(where: { $0.queueID == queueID }) else {
                throw HeldCommandFailure(description: "\(queueID) is not held")
            }
            held.remove(at: index)
            actions.append("\(action) \(queueID)")
        }
    }
}

/// One console over a temporary directory: a users file with one reviewer, an audit log, a
/// ledger and a fixed link key.
struct Fixture {
    static let user = "reviewer"
    static let password = "correct horse battery"
    static let key = [UInt8](repeating: 7, count: 32)

    let directory: String
    let queue: MemoryQueue
    let console: ReviewConsole
    let signer = LinkSigner(key: Fixture.key)
    /// The clock of link expiry, which a test moves.
    let clock: LockedClock

    final class LockedClock: @unchecked Sendable {
        private let lock = NSLock()
        private var value = 1_800_000_000
        var now: Int { lock.withLock { value } }
        func advance(_ seconds: Int) { lock.withLock { value += seconds } }
    }

    init(held: [String] = ["4BC2D1F0A3", "5CD3E2A1B4", "6DE4F3B2C5"], decisions: (any CorrespondentStore)? = nil,
         configure: (inout ConsoleConfiguration) -> Void = { _ in }) throws {
        directory = NSTemporaryDirectory() + "console-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try "\(Self.user):\(Bcrypt.hash(Self.password, cost: 4))\n".write(toFile: directory + "/users", atomically: true, encoding: .utf8)
        var settings = ConsoleConfiguration()
        settings.usersFile = directory + "/users"
        settings.auditLog = directory + "/audit.log"
        settings.linkKeyFile = directory + "/link-key"
        configure(&settings)
        queue = MemoryQueue(held)
        let clock = LockedClock()
        self.clock = clock
        let logger = Logger(label: "console-test")
        console = ReviewConsole(settings: settings, queue: queue, signer: LinkSigner(key: Self.key),
                                ledger: try LinkLedger(path: settings.usedLinksFile, now: clock.now),
                                audit: AuditLog(path: settings.auditLog, logger: logger), decisions: decisions, now: { clock.now })
    }

    var application: some ApplicationProtocol { Application(router: console.router()) }

    var auditLines: [String] {
        ((try? String(contentsOfFile: directory + "/audit.log", encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    func link(_ id: String, _ action: ReviewLink.Action, to recipient: String = "review@example.org", hours: Int = 72) -> String {
        signer.token(for: ReviewLink(queueID: id, action: action, recipient: recipient, expiry: clock.now + hours * 3600))
    }
}

/// A client's side of a conversation: the cookies it holds.
struct Browser {
    var cookies: [String: String] = [:]

    var cookieHeader: HTTPFields {
        cookies.isEmpty ? [:] : [.cookie: cookies.map { "\($0.key)=\($0.value)" }.sorted().joined(separator: "; ")]
    }

    mutating func keep(_ response: TestResponse) {
        for field in response.headers[values: .setCookie] {
            let pair = field.split(separator: ";")[0].split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let value = pair.count == 2 ? String(pair[1]) : ""
            if value.isEmpty || field.contains("Max-Age=0") { cookies[String(pair[0])] = nil } else { cookies[String(pair[0])] = value }
        }
    }

    mutating func get(_ client: some TestClientProtocol, _ uri: String, headers: HTTPFields = [:]) async throws -> TestResponse {
        var all = cookieHeader
        all.append(contentsOf: headers)
        let response = try await client.execute(uri: uri, method: .get, headers: all, body: nil)
        keep(response)
        return response
    }

    mutating func post(_ client: some TestClientProtocol, _ uri: String, _ form: [String: String], headers: HTTPFields = [:]) async throws -> TestResponse {
        var all = cookieHeader
        all[.contentType] = "application/x-www-form-urlencoded"
        all.append(contentsOf: headers)
        let allowed = CharacterSet.alphanumerics
        let body = form.map { "\($0.key)=\($0.value.addingPercentEncoding(withAllowedCharacters: allowed) ?? "")" }.joined(separator: "&")
        let response = try await client.execute(uri: uri, method: .post, headers: all, body: ByteBuffer(string: body))
        keep(response)
        return response
    }

    /// Signs in through the form; returns the session's CSRF token, read off the page.
    mutating func signIn(_ client: some TestClientProtocol, password: String = Fixture.password) async throws -> String? {
        let form = try await get(client, "/login")
        let token = Self.field("csrf", in: String(buffer: form.body))
        let response = try await post(client, "/login", ["csrf": token ?? "", "user": Fixture.user, "password": password])
        guard response.status == .seeOther else { return nil }
        let page = try await get(client, "/held")
        return Self.field("csrf", in: String(buffer: page.body))
    }

    /// The value of the first hidden field `name` on a page.
    static func field(_ name: String, in page: String) -> String? {
        guard let start = page.range(of: "name=\"\(name)\" value=\"") else { return nil }
        return String(page[start.upperBound...].prefix { $0 != "\"" })
    }
}

@Suite("review console")
struct ConsoleTests {
    @Test("a request without a session is sent to sign in and sees no held mail")
    func noSession() async throws {
        let fixture = try Fixture()
        try await fixture.application.test(.live) { client in
            var browser = Browser()
            for path in ["/held", "/held/4BC2D1F0A3"] {
                let response = try await browser.get(client, path)
                #expect(response.status == .seeOther)
                #expect(response.headers[.location] == "/login")
                #expect(!String(buffer: response.body).contains("4BC2D1F0A3"))
            }
            let forged = try await browser.get(client, "/held", headers: [.cookie: "misdirect_session=made-up"])
            #expect(forged.status == .seeOther)
        }
    }

    @Test("every page forbids scripts, frames, sniffing, referrers and caching")
    func securityHeaders() async throws {
        let fixture = try Fixture()
        try await fixture.application.test(.live) { client in
            var browser = Browser()
            for path in ["/login", "/held", "/link?t=nonsense"] {
                let response = try await browser.get(client, path)
                let policy = response.headers[HTTPField.Name("Content-Security-Policy")!] ?? ""
                #expect(policy.contains("default-src 'none'") && policy.contains("frame-ancestors 'none'") && !policy.contains("script-src"))
                #expect(response.headers[HTTPField.Name("X-Frame-Options")!] == "DENY")
                #expect(response.headers[HTTPField.Name("X-Content-Type-Options")!] == "nosniff")
                #expect(response.headers[HTTPField.Name("Referrer-Policy")!] == "no-referrer")
                #expect(response.headers[.cacheControl] == "no-store")
            }
        }
    }

    @Test("signing in sets an HttpOnly, SameSite=Strict, Secure session cookie and shows the held mail with its reasons")
    func signIn() async throws {
        let fixture = try Fixture()
        try await fixture.application.test(.live) { client in
            var browser = Browser()
            let form = try await browser.get(client, "/login")
            let token = try #require(Browser.field("csrf", in: String(buffer: form.body)))
            let response = try await browser.post(client, "/login", ["csrf": token, "user": Fixture.user, "password": Fixture.password])
            #expect(response.status == .seeOther)
            #expect(response.headers[.location] == "/held")
            let session = response.headers[values: .setCookie].first { $0.hasPrefix(Sessions.cookieName + "=") } ?? ""
            #expect(session.contains("HttpOnly") && session.contains("SameSite=Strict") && session.contains("Secure") && session.contains("Path=/"))
            let list = String(buffer: try await browser.get(client, "/held").body)
            for id in ["4BC2D1F0A3", "5CD3E2A1B4", "6DE4F3B2C5"] { #expect(list.contains(id)) }
            #expect(list.contains("army.ml is one letter from army.mil"))
            let message = try await browser.get(client, "/held/4BC2D1F0A3")
            let page = String(buffer: message.body)
            #expect(message.status == .ok)
            #expect(page.contains("itinerary.pdf") && page.contains("20 KiB") && page.contains("Hello Bob,"))
            #expect(page.contains("Travel plans &lt;b&gt;"), "header values are escaped")
            #expect(fixture.auditLines.contains { $0.contains("signed in") && $0.contains("reviewer=reviewer") })
        }
    }

    @Test("without secure_cookies the session cookie has no Secure attribute (plain http on loopback)")
    func insecureCookies() async throws {
        let fixture = try Fixture { $0.secureCookies = false }
        try await fixture.application.test(.live) { client in
            var browser = Browser()
            let form = try await browser.get(client, "/login")
            let token = Browser.field("csrf", in: String(buffer: form.body)) ?? ""
            let response = try await browser.post(client, "/login", ["csrf": token, "user": Fixture.user, "password": Fixture.password])
            let session = response.headers[values: .setCookie].first { $0.hasPrefix(Sessions.cookieName + "=") } ?? ""
            #expect(session.contains("HttpOnly") && !session.contains("Secure"))
        }
    }

    @Test("a sign-in without the form's token is refused, even with the right password")
    func loginCSRF() async throws {
        let fixture = try Fixture()
        try await fixture.application.test(.live) { client in
            var browser = Browser()
            let missing = try await browser.post(client, "/login", ["user": Fixture.user, "password": Fixture.password])
            #expect(missing.status == .forbidden)
            _ = try await browser.get(client, "/login")
            let wrong = try await browser.post(client, "/login", ["csrf": "guessed", "user": Fixture.user, "password": Fixture.password])
            #expect(wrong.status == .forbidden)
            #expect(browser.cookies[Sessions.cookieName] == nil)
        }
    }

    @Test("a wrong password is refused, and after five failures even the right one waits")
    func throttle() async throws {
        let fixture = try Fixture()
        try await fixture.application.test(.live) { client in
            var browser = Browser()
            for _ in 0..<LoginThrottle.limit {
                #expect(try await browser.signIn(client, password: "wrong password") == nil)
            }
            let form = try await browser.get(client, "/login")
            let token = Browser.field("csrf", in: String(buffer: form.body)) ?? ""
            let throttled = try await browser.post(client, "/login", ["csrf": token, "user": Fixture.user, "password": Fixture.password])
            #expect(throttled.status == .tooManyRequests)
            #expect(browser.cookies[Sessions.cookieName] == nil)
            #expect(fixture.auditLines.filter { $0.contains("sign-in failed") }.count == LoginThrottle.limit)
        }
    }

    @Test("the wrong password's answer is 401 with a message")
    func wrongPassword() async throws {
        let fixture = try Fixture()
        try await fixture.application.test(.live) { client in
            var browser = Browser()
            let form = try await browser.get(client, "/login")
            let token = Browser.field("csrf", in: String(buffer: form.body)) ?? ""
            let response = try await browser.post(client, "/login", ["csrf": token, "user": Fixture.user, "password": "not it at all"])
            #expect(response.status == .unauthorized)
            #expect(String(buffer: response.body).contains("Wrong name or password."))
        }
    }

    @Test("release and drop from the message page act once and are audited with the reviewer")
    func releaseAndDrop() async throws {
        let fixture = try Fixture()
        try await fixture.application.test(.live) { client in
            var browser = Browser()
            let csrf = try #require(try await browser.signIn(client))
            let released = try await browser.post(client, "/held/4BC2D1F0A3/release", ["csrf": csrf])
            #expect(released.status == .ok)
            #expect(String(buffer: released.body).contains("Released 4BC2D1F0A3: it is on its way"))
            let dropped = try await browser.post(client, "/held/5CD3E2A1B4/drop", ["csrf": csrf])
            #expect(String(buffer: dropped.body).contains("Dropped 5CD3E2A1B4: it was deleted"))
            let again = try await browser.post(client, "/held/4BC2D1F0A3/release", ["csrf": csrf])
            #expect(again.status == .conflict)
            #expect(fixture.queue.done == ["release 4BC2D1F0A3", "drop 5CD3E2A1B4"])
            let audit = fixture.auditLines
            #expect(audit.contains { $0.contains("released held message") && $0.contains("4BC2D1F0A3") && $0.contains("reviewer=reviewer") && $0.contains("via=console") })
            #expect(audit.contains { $0.contains("dropped held message") && $0.contains("5CD3E2A1B4") })
        }
    }

    @Test("a POST without the session's CSRF token changes nothing")
    func actionCSRF() async throws {
        let fixture = try Fixture()
        try await fixture.application.test(.live) { client in
            var browser = Browser()
            _ = try #require(try await browser.signIn(client))
            #expect(try await browser.post(client, "/held/4BC2D1F0A3/release", [:]).status == .forbidden)
            #expect(try await browser.post(client, "/held/4BC2D1F0A3/drop", ["csrf": "someone else's"]).status == .forbidden)
            var stranger = Browser()
            let other = try await stranger.post(client, "/held/4BC2D1F0A3/drop", ["csrf": ""])
            #expect(other.status == .forbidden)
            #expect(fixture.queue.done.isEmpty)
        }
    }

    @Test("an id that is not a queue id, or not held, is never passed on")
    func badIDs() async throws {
        let fixture = try Fixture()
        try await fixture.application.test(.live) { client in
            var browser = Browser()
            let csrf = try #require(try await browser.signIn(client))
            for id in ["ABC", "4BC2D1F0A3%20-d%20ALL", "..%2F..%2Fetc"] {
                let response = try await browser.post(client, "/held/\(id)/drop", ["csrf": csrf])
                #expect(response.status == .notFound || response.status == .conflict, "\(id)")
            }
            #expect(try await browser.get(client, "/held/FFFFFFFFFF").status == .notFound)
            #expect(fixture.queue.done.isEmpty)
        }
    }

    @Test("the list is read once for many pages, newest first, 200 a page; a release shows at once")
    func pagingAndCache() async throws {
        let ids = (0..<450).map { String(format: "AB%08X", $0) }
        let fixture = try Fixture(held: ids)
        try await fixture.application.test(.live) { client in
            var browser = Browser()
            let csrf = try #require(try await browser.signIn(client))
            let first = String(buffer: try await browser.get(client, "/held").body)
            #expect(first.contains("450 held, newest first: 1 to 200 (page 1 of 3)"))
            #expect(first.contains(ids[449]) && first.contains(ids[250]) && !first.contains(ids[249]))
            #expect(first.contains("href=\"/held?page=2\"") && !first.contains("rel=\"prev\""))
            let last = String(buffer: try await browser.get(client, "/held?page=3").body)
            #expect(last.contains("401 to 450 (page 3 of 3)") && last.contains(ids[0]) && last.contains("href=\"/held?page=2\""))
            #expect(String(buffer: try await browser.get(client, "/held?page=99").body).contains("page 3 of 3"))
            let listsBefore = fixture.queue.lists
            #expect(try await browser.post(client, "/held/\(ids[449])/release", ["csrf": csrf]).status == .ok)
            let after = String(buffer: try await browser.get(client, "/held").body)
            #expect(after.contains("449 held") && !after.contains(ids[449]), "the released one is gone without a new listing")
            #expect(fixture.queue.lists == listsBefore, "pages within a few seconds share one listing")
            // Held after the listing was kept: its link still finds it.
            fixture.queue.hold("CD12345678")
            let page = try await browser.get(client, "/link?t=\(fixture.link("CD12345678", .release))")
            #expect(page.status == .ok)
        }
    }

    @Test("signing out ends the session")
    func signOut() async throws {
        let fixture = try Fixture()
        try await fixture.application.test(.live) { client in
            var browser = Browser()
            let csrf = try #require(try await browser.signIn(client))
            let cookie = try #require(browser.cookies[Sessions.cookieName])
            #expect(try await browser.post(client, "/logout", ["csrf": csrf]).headers[.location] == "/login")
            let reused = try await browser.get(client, "/held", headers: [.cookie: "\(Sessions.cookieName)=\(cookie)"])
            #expect(reused.status == .seeOther)
        }
    }

    @Test("a signed link opens a confirmation page; only its POST acts, once")
    func linkOnce() async throws {
        let fixture = try Fixture()
        try await fixture.application.test(.live) { client in
            var browser = Browser()
            let token = fixture.link("6DE4F3B2C5", .release, to: "alice@example.org")
            let page = try await browser.get(client, "/link?t=\(token)")
            #expect(page.status == .ok)
            #expect(String(buffer: page.body).contains("Send anyway"), "the sender's link says what it does in their words")
            #expect(fixture.queue.done.isEmpty, "a GET changes nothing")
            let used = try await browser.post(client, "/link", ["t": token])
            #expect(used.status == .ok)
            #expect(fixture.queue.done == ["release 6DE4F3B2C5"])
            let again = try await browser.post(client, "/link", ["t": token])
            #expect(again.status == .forbidden)
            #expect(String(buffer: again.body).contains("This link has already been used.") || String(buffer: again.body).contains("no longer held"))
            #expect(fixture.auditLines.contains { $0.contains("released held message") && $0.contains("via=link") && $0.contains("alice@example.org") })
        }
    }

    @Test("a used link stays used after a restart, even while the message is still held")
    func ledgerSurvivesRestart() async throws {
        let directory = NSTemporaryDirectory() + "ledger-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let ledger = try LinkLedger(path: directory + "/used", now: 1000)
        #expect(try ledger.claim("aa01", expiry: 5000))
        #expect(try !ledger.claim("aa01", expiry: 5000))
        #expect(try ledger.claim("bb02", expiry: 1500))
        let reopened = try LinkLedger(path: directory + "/used", now: 2000)
        #expect(reopened.isUsed("aa01"))
        #expect(!reopened.isUsed("bb02"), "expired entries are forgotten: the signature check refuses those links anyway")
    }

    @Test("forged, expired, reused, cut and no-longer-held links are each refused and change nothing")
    func linkRefusals() async throws {
        let fixture = try Fixture()
        try await fixture.application.test(.live) { client in
            var browser = Browser()
            let good = fixture.link("4BC2D1F0A3", .drop)
            let other = LinkSigner(key: [UInt8](repeating: 9, count: 32))
            let foreign = other.token(for: ReviewLink(queueID: "4BC2D1F0A3", action: .drop, recipient: "x@example.org", expiry: fixture.clock.now + 60))
            // Change the action in the payload but keep the MAC.
            let parts = good.split(separator: ".")
            let payload = String(decoding: Data(base64Encoded: Self.padded(String(parts[0])))!, as: UTF8.self)
            let changed = Self.base64url(Array(payload.replacingOccurrences(of: "|drop|", with: "|release|").utf8)) + "." + parts[1]
            let cases: [(String, String)] = [
                (foreign, "signature does not match"),
                (changed, "signature does not match"),
                (String(good.dropLast(4)), "not one misdirect-milter wrote"),
                ("nonsense", "not one misdirect-milter wrote"),
                (fixture.link("FFFFFFFFFF", .release), "no longer held"),
            ]
            for (token, reason) in cases {
                for response in [try await browser.get(client, "/link?t=\(token)"), try await browser.post(client, "/link", ["t": token])] {
                    #expect(response.status == .forbidden, "\(reason)")
                    #expect(String(buffer: response.body).contains(reason), "\(String(buffer: response.body))")
                }
            }
            let expiring = fixture.link("4BC2D1F0A3", .release, hours: 1)
            fixture.clock.advance(3601)
            let expired = try await browser.post(client, "/link", ["t": expiring])
            #expect(expired.status == .forbidden)
            #expect(String(buffer: expired.body).contains("This link has expired."))
            #expect(fixture.queue.done.isEmpty)
        }
    }

    @Test("the proxy's user header signs in only from the proxy's address")
    func proxyHeader() async throws {
        let trusted = try Fixture { $0.proxyUserHeader = "X-Remote-User"; $0.proxyAddress = "127.0.0.1" }
        try await trusted.application.test(.live) { client in
            var browser = Browser()
            let response = try await browser.get(client, "/held", headers: [HTTPField.Name("X-Remote-User")!: "carol"])
            #expect(response.status == .ok)
            #expect(String(buffer: response.body).contains("carol"))
        }
        // Opening a message first (from a link, say) and releasing it from there works too.
        let direct = try Fixture { $0.proxyUserHeader = "X-Remote-User"; $0.proxyAddress = "127.0.0.1" }
        try await direct.application.test(.live) { client in
            var browser = Browser()
            let user: HTTPFields = [HTTPField.Name("X-Remote-User")!: "carol"]
            let page = try await browser.get(client, "/held/4BC2D1F0A3", headers: user)
            let csrf = try #require(Browser.field("csrf", in: String(buffer: page.body)))
            let released = try await browser.post(client, "/held/4BC2D1F0A3/release", ["csrf": csrf], headers: user)
            #expect(released.status == .ok)
            #expect(direct.queue.done == ["release 4BC2D1F0A3"])
            #expect(direct.auditLines.contains { $0.contains("released held message") && $0.contains("reviewer=carol") })
        }
        let elsewhere = try Fixture { $0.proxyUserHeader = "X-Remote-User"; $0.proxyAddress = "192.0.2.1" }
        try await elsewhere.application.test(.live) { client in
            var browser = Browser()
            let response = try await browser.get(client, "/held", headers: [HTTPField.Name("X-Remote-User")!: "carol"])
            #expect(response.status == .seeOther)
        }
    }

    @Test("sessions are bounded: beyond the most kept, the longest unused ends")
    func sessionBound() {
        let sessions = Sessions(idleTimeout: .seconds(3600), maximumCount: 50)
        let start = ContinuousClock.now
        let first = sessions.start(user: "first", now: start)
        let second = sessions.start(user: "second", now: start + .seconds(1))
        _ = sessions.session(first, now: start + .seconds(2))
        for index in 0..<49 { _ = sessions.start(user: "u\(index)", now: start + .seconds(3)) }
        #expect(sessions.session(second, now: start + .seconds(4)) == nil, "the longest unused went")
        #expect(sessions.session(first, now: start + .seconds(4))?.user == "first")
    }

    @Test("sessions end after the idle timeout and at most twelve hours after sign-in")
    func sessionLifetime() {
        let sessions = Sessions(idleTimeout: .seconds(60))
        let start = ContinuousClock.now
        let id = sessions.start(user: "dave", now: start)
        #expect(sessions.session(id, now: start + .seconds(59))?.user == "dave")
        #expect(sessions.session(id, now: start + .seconds(59 + 61)) == nil)
        let long = sessions.start(user: "erin", now: start)
        var when = start
        while when < start + Sessions.maximumAge - .seconds(60) {
            when += .seconds(50)
            #expect(sessions.session(long, now: when) != nil)
        }
        #expect(sessions.session(long, now: start + Sessions.maximumAge + .seconds(1)) == nil)
    }

    @Test("the users file: set, change, remove; names are checked")
    func users() throws {
        let path = NSTemporaryDirectory() + "users-\(UUID().uuidString)"
        let users = ConsoleUsers(path: path)
        try users.set(name: "frank", password: "first password")
        #expect(users.verify(name: "frank", password: "first password"))
        try users.set(name: "frank", password: "second password")
        #expect(!users.verify(name: "frank", password: "first password"))
        #expect(users.verify(name: "frank", password: "second password"))
        try users.set(name: "frank", password: nil)
        #expect(!users.verify(name: "frank", password: "second password"))
        #expect(throws: ConsoleUsersError.self) { try users.set(name: "a:b", password: "whatever it is") }
        #expect(!ConsoleUsers.isValidName("x\ny"))
    }

    static func base64url(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func padded(_ text: String) -> String {
        let standard = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        return standard + String(repeating: "=", count: (4 - standard.count % 4) % 4)
    }
}

@Suite("link signing")
struct LinkSignerTests {
    @Test("a token round-trips every field, for both actions")
    func roundTrip() {
        let signer = LinkSigner(key: Array("sixteen byte key plus".utf8))
        for action in ReviewLink.Action.allCases {
            let link = ReviewLink(queueID: "4BC2D1F0A3", action: action, recipient: "o'brien+x@example.org", expiry: 2_000_000_000)
            #expect(signer.verify(signer.token(for: link), now: 1_999_999_999) == .success(link))
            #expect(signer.verify(signer.token(for: link), now: 2_000_000_001) == .failure(.expired))
        }
    }

    @Test("every changed byte of a token is refused")
    func tamper() {
        let signer = LinkSigner(key: Array("sixteen byte key plus".utf8))
        let token = signer.token(for: ReviewLink(queueID: "4BC2D1F0A3", action: .release, recipient: "r@example.org", expiry: 2_000_000_000))
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        var characters = Array(token)
        for index in characters.indices where characters[index] != "." {
            let original = characters[index]
            characters[index] = alphabet.first { $0 != original }!
            if case .success = signer.verify(String(characters), now: 0) { Issue.record("changed at \(index) and accepted") }
            characters[index] = original
        }
    }
}

@Suite("console configuration")
struct ConsoleConfigurationTests {
    @Test("reads every console key")
    func full() throws {
        let configuration = try ConfigurationLoader.parse("""
            console:
              listen: unix:/run/misdirect-milter/console.sock
              users_file: /etc/misdirect-milter/reviewers
              proxy_user_header: X-Remote-User
              proxy_address: 127.0.0.1
              secure_cookies: false
              idle_timeout: 10m
              held_command: [/usr/bin/sudo, -n, /usr/sbin/misdirect-milter, held]
              audit_log: /var/log/misdirect-milter/audit.log
              base_url: https://review.example.org/
              link_key_file: /var/lib/misdirect-milter/key
              link_hours: 24
              notify_sender: [typo]
            """, file: "console.yml")
        let console = try #require(configuration.console)
        #expect(console.listen == .unix(path: "/run/misdirect-milter/console.sock"))
        #expect(console.usersFile == "/etc/misdirect-milter/reviewers")
        #expect(console.proxyUserHeader == "X-Remote-User" && console.proxyAddress == "127.0.0.1")
        #expect(!console.secureCookies)
        #expect(console.idleTimeout == .seconds(600))
        #expect(console.heldCommand.first == "/usr/bin/sudo")
        #expect(console.baseURL == "https://review.example.org")
        #expect(console.usedLinksFile == "/var/log/misdirect-milter/console-used-links")
        #expect(console.linkHours == 24)
        #expect(console.notifySender.count == 1)
    }

    @Test("no console section is no console; `console: true` is the defaults")
    func absent() throws {
        #expect(try ConfigurationLoader.parse("mode: log-only\n", file: "a.yml").console == nil)
        #expect(try ConfigurationLoader.parse("console: true\n", file: "a.yml").console == ConsoleConfiguration())
    }

    @Test("a bad console key names file, line and key", arguments: [
        ("console:\n  listen: 0.0.0.0:80x\n", "c.yml:2: console.listen: "),
        ("console:\n  colour: blue\n", "c.yml:2: console.colour: unknown key"),
        ("console:\n  proxy_user_header: X-Remote-User\n", "c.yml:2: console.proxy_user_header: needs proxy_address"),
        ("console:\n  proxy_user_header: X-(User)\n  proxy_address: 127.0.0.1\n", "c.yml:2: console.proxy_user_header: \"X-(User)\" is not a header name"),
        ("console:\n  proxy_user_header: \"X User\"\n  proxy_address: 127.0.0.1\n", "c.yml:2: console.proxy_user_header: \"X User\" is not a header name"),
        ("console:\n  base_url: review.example.org\n", "c.yml:2: console.base_url: \"review.example.org\" is not an http or https address"),
        ("console:\n  users_file: relative/path\n", "c.yml:2: console.users_file: "),
        ("console:\n  link_hours: 0\n", "c.yml:2: console.link_hours: "),
        ("console:\n  held_command: [sudo, held]\n", "c.yml:2: console.held_command: "),
    ])
    func errors(text: String, expected: String) {
        #expect {
            try ConfigurationLoader.parse(text, file: "c.yml")
        } throws: { error in
            let description = (error as? ConfigurationError)?.description ?? "\(error)"
            if !description.hasPrefix(expected) { Issue.record("got: \(description)") }
            return description.hasPrefix(expected)
        }
    }
}
