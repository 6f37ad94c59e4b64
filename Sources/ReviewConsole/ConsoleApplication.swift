import CorrespondentHistory
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import MisdirectMilterKit
import NIOCore
import ReviewLinks

/// The request context: Hummingbird's, plus the peer's address (for the login throttle, the
/// audit log and the proxy header, which only the configured proxy may set).
package struct ConsoleContext: RequestContext {
    package var coreContext: CoreRequestContextStorage
    package let peer: String

    package init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        switch source.channel.remoteAddress {
        case .v4(let address)?: peer = address.host
        case .v6(let address)?: peer = address.host
        case .unixDomainSocket?: peer = "unix"
        case nil: peer = "unknown"
        }
    }
}

/// The review console: held mail with release and drop for signed-in reviewers, and the
/// confirmation pages of signed links. Every page is rendered on the server; there is no script.
package struct ReviewConsole: Sendable {
    package let settings: ConsoleConfiguration
    package let queue: CachedHeldQueue
    /// Rows on one page of the list.
    package static let pageSize = 200
    package let signer: LinkSigner?
    package let ledger: LinkLedger?
    package let sessions: Sessions
    package let throttle = LoginThrottle()
    package let audit: AuditLog
    package let pages = Pages()
    package let users: ConsoleUsers
    /// The history store the milter records its decisions in; nil when there is no history.
    package let decisions: (any CorrespondentStore)?
    /// Days the report may cover (the history's retention).
    package let retentionDays: Int
    /// The clock of link expiry, seconds since 1970 (a parameter so tests can move it).
    package let now: @Sendable () -> Int

    package init(settings: ConsoleConfiguration, queue: any HeldQueue, signer: LinkSigner?, ledger: LinkLedger?,
                 audit: AuditLog, decisions: (any CorrespondentStore)? = nil, retentionDays: Int = 400,
                now: @escaping @Sendable () -> Int = { Int(Date().timeIntervalSince1970) }) {
        self.settings = settings
        self.decisions = decisions
        self.retentionDays = retentionDays
        self.queue = CachedHeldQueue(queue)
        self.signer = signer
        self.ledger = ledger
        self.audit = audit
        self.now = now
        sessions = Sessions(idleTimeout: settings.idleTimeout)
        users = ConsoleUsers(path: settings.usersFile)
    }

    /// The routes, ready for an `Application`.
    package func router() -> Router<ConsoleContext> {
        let router = Router(context: ConsoleContext.self)
        router.get("/") { _, _ in Self.redirect("/held") }
        router.get("/static/console.css") { _, _ in
            Response(status: .ok, headers: Self.headers(type: "text/css; charset=utf-8", cache: "max-age=3600"),
                     body: .init(byteBuffer: ByteBuffer(string: Pages.stylesheet)))
        }
        router.get("/login") { request, _ in loginPage(request, error: nil, status: .ok) }
        router.post("/login") { request, context in try await login(request, context) }
        router.post("/logout") { request, context in try await logout(request, context) }
        router.get("/held") { request, context in try await signedIn(request, context) { try await heldList($0, request, context) } }
        router.get("/held/:id") { request, context in try await signedIn(request, context) { try await heldMessage($0, context) } }
        router.post("/held/:id/release") { request, context in try await act(.release, request, context) }
        router.post("/held/:id/drop") { request, context in try await act(.drop, request, context) }
        router.get("/decisions") { request, context in try await signedIn(request, context) { try await decisionList($0, request, context) } }
        router.get("/report") { request, context in try await signedIn(request, context) { try await report($0, request, context) } }
        router.get("/link") { request, context in try await linkPage(request, context) }
        router.post("/link") { request, context in try await useLink(request, context) }
        return router
    }

    // MARK: Signing in

    private func loginPage(_ request: Request, error: String?, status: HTTPResponse.Status) -> Response {
        // Double-submit token for the login form: a page elsewhere cannot read the cookie to
        // fill in the field, so it cannot sign a browser into an account of its choosing.
        let token = randomToken()
        var values: [String: Any] = ["csrf": token]
        if let error { values["error"] = error }
        var response = html(status, pages.render("login", title: "Sign in", user: nil, csrf: nil, values))
        response.headers.append(HTTPField(name: .setCookie, value: cookie(Self.loginCookie, token)))
        return response
    }

    private func login(_ request: Request, _ context: ConsoleContext) async throws -> Response {
        let form = try await Self.form(request)
        guard let token = form["csrf"], let expected = Self.cookies(request)[Self.loginCookie], constantTimeEqual(token, expected) else {
            return refused(.forbidden, "The sign-in form expired or did not come from this console. Open the sign-in page again.")
        }
        guard !throttle.isBlocked(context.peer) else {
            audit.record("sign-in refused", ["reviewer": "\(form["user"] ?? "")", "remote": "\(context.peer)", "outcome": "throttled"])
            return loginPage(request, error: "Too many failed sign-ins from your address: wait five minutes.", status: .tooManyRequests)
        }
        let name = form["user"] ?? "", password = form["password"] ?? ""
        let valid = await Self.offThePool { users.verify(name: name, password: password) }
        guard valid else {
            throttle.recordFailure(context.peer)
            audit.record("sign-in failed", ["reviewer": "\(name)", "remote": "\(context.peer)", "outcome": "failed"])
            return loginPage(request, error: "Wrong name or password.", status: .unauthorized)
        }
        throttle.recordSuccess(context.peer)
        audit.record("signed in", ["reviewer": "\(name)", "remote": "\(context.peer)", "outcome": "ok"])
        var response = Self.redirect("/held")
        response.headers.append(HTTPField(name: .setCookie, value: cookie(Sessions.cookieName, sessions.start(user: name))))
        response.headers.append(HTTPField(name: .setCookie, value: cookie(Self.loginCookie, "", expire: true)))
        return response
    }

    private func logout(_ request: Request, _ context: ConsoleContext) async throws -> Response {
        let form = try await Self.form(request)
        if let session = authorised(request, context, form: form) {
            audit.record("signed out", ["reviewer": "\(session.user)", "remote": "\(context.peer)", "outcome": "ok"])
        }
        sessions.end(Self.cookies(request)[Sessions.cookieName])
        var response = Self.redirect("/login")
        response.headers.append(HTTPField(name: .setCookie, value: cookie(Sessions.cookieName, "", expire: true)))
        return response
    }

    /// The reviewer of a request: a live session, or the proxy's user header when the request
    /// comes from the configured proxy (then a session is made, for the CSRF token).
    private func reviewer(_ request: Request, _ context: ConsoleContext) -> (session: Sessions.Session, cookie: String?)? {
        if let session = sessions.session(Self.cookies(request)[Sessions.cookieName]) {
            if let header = settings.proxyUserHeader.flatMap({ HTTPField.Name($0) }), context.peer == settings.proxyAddress,
               let proxied = request.headers[header], proxied != session.user {
                return nil
            }
            return (session, nil)
        }
        guard let header = settings.proxyUserHeader, let name = HTTPField.Name(header),
              context.peer == settings.proxyAddress, let user = request.headers[name], ConsoleUsers.isValidName(user)
        else { return nil }
        let id = sessions.start(user: user)
        guard let session = sessions.session(id) else { return nil }
        return (session, cookie(Sessions.cookieName, id))
    }

    /// A page for a signed-in reviewer, else a redirect to the sign-in page. A session made from
    /// the proxy's user header goes out as a cookie with the page: a reviewer the proxy names who
    /// opens a message first must hold the session its form's token belongs to, or their Release
    /// would be refused.
    private func signedIn(_ request: Request, _ context: ConsoleContext,
                          _ page: (Sessions.Session) async throws -> Response) async throws -> Response {
        guard let (session, newCookie) = reviewer(request, context) else { return Self.redirect("/login") }
        var response = try await page(session)
        if let newCookie { response.headers.append(HTTPField(name: .setCookie, value: newCookie)) }
        return response
    }

    /// The session of a POST whose CSRF token matches it, or nil.
    private func authorised(_ request: Request, _ context: ConsoleContext, form: [String: String]) -> Sessions.Session? {
        guard let (session, _) = reviewer(request, context), let token = form["csrf"], constantTimeEqual(token, session.csrf) else {
            return nil
        }
        return session
    }

    // MARK: Held mail

    private func heldList(_ session: Sessions.Session, _ request: Request, _ context: ConsoleContext) async throws -> Response {
        let messages: [HeldEntry]
        do {
            messages = try await queue.list()
        } catch {
            context.logger.error("cannot list held mail", metadata: ["error": "\(error)"])
            return html(.serviceUnavailable, pages.render("result", title: "Held mail", user: session.user, csrf: session.csrf, [
                "heading": "Held mail", "outcome": "error", "text": "The held mail cannot be listed: \(error)",
            ]))
        }
        // Newest first, a page at a time.
        let pages = max(1, (messages.count + Self.pageSize - 1) / Self.pageSize)
        let page = min(max(1, request.uri.queryParameters.get("page").flatMap { Int($0) } ?? 1), pages)
        let shown = messages.reversed().dropFirst((page - 1) * Self.pageSize).prefix(Self.pageSize)
        let rows: [[String: Any]] = shown.map(Self.values)
        var values: [String: Any] = ["messages": rows, "hasMessages": !rows.isEmpty, "count": messages.count]
        if pages > 1 {
            values["paging"] = [
                "first": (page - 1) * Self.pageSize + 1, "last": (page - 1) * Self.pageSize + rows.count, "page": page, "pages": pages,
                "previous": page > 1 ? page - 1 : false, "next": page < pages ? page + 1 : false,
            ] as [String: Any]
        }
        return html(.ok, self.pages.render("held", title: "Held mail", user: session.user, csrf: session.csrf, values))
    }

    private func heldMessage(_ session: Sessions.Session, _ context: ConsoleContext) async throws -> Response {
        let id = context.parameters.get("id") ?? ""
        guard PostfixQueue.isQueueID(id) else { return notFound(session) }
        let detail: HeldDetail
        do {
            detail = try await queue.show(id)
        } catch {
            return notFound(session)
        }
        var values = Self.values(detail.message)
        values["csrf"] = session.csrf
        values["headers"] = detail.headers.filter { $0.count == 2 }.map { ["name": $0[0], "value": $0[1]] }
        values["body"] = detail.bodyLines.joined(separator: "\n")
        values["attachments"] = detail.attachments.map { ["name": $0.name, "size": Self.size($0.size)] }
        return html(.ok, pages.render("message", title: "Held message \(id)", user: session.user, csrf: session.csrf, values))
    }

    private func act(_ action: ReviewLink.Action, _ request: Request, _ context: ConsoleContext) async throws -> Response {
        let form = try await Self.form(request)
        guard let session = authorised(request, context, form: form) else {
            return refused(.forbidden, "This action needs a signed-in reviewer and the form's token. Sign in and try again from the message's page.")
        }
        let id = context.parameters.get("id") ?? ""
        guard PostfixQueue.isQueueID(id) else { return notFound(session) }
        let outcome = await perform(action, id)
        audit.record(outcome == nil ? Self.done(action) + " held message" : "\(action.rawValue) failed", [
            "mail.queue_id": "\(id)", "reviewer": "\(session.user)", "remote": "\(context.peer)", "via": "console",
            "outcome": "\(outcome ?? "ok")",
        ])
        return resultPage(action, id, error: outcome, user: session.user, csrf: session.csrf)
    }

    /// Releases or drops; the error's text, or nil when it was done.
    private func perform(_ action: ReviewLink.Action, _ id: String) async -> String? {
        do {
            switch action {
            case .release: try await queue.release(id)
            case .drop: try await queue.drop(id)
            }
            return nil
        } catch {
            return "\(error)"
        }
    }

    private func resultPage(_ action: ReviewLink.Action, _ id: String, error: String?, user: String?, csrf: String?) -> Response {
        let verb = Self.done(action).capitalized
        if let error {
            return html(.conflict, pages.render("result", title: "Not done", user: user, csrf: csrf, [
                "heading": "Not done", "outcome": "error", "text": "\(id) was not \(Self.done(action)): \(error)", "back": user != nil,
            ]))
        }
        let text = action == .release ? "\(verb) \(id): it is on its way to its recipients." : "\(verb) \(id): it was deleted and will not be delivered."
        return html(.ok, pages.render("result", title: verb, user: user, csrf: csrf, [
            "heading": verb, "outcome": "done", "text": text, "back": user != nil,
        ]))
    }

    // MARK: Signed links

    /// The link's target, checked: signature, expiry, not used, still held.
    private func checkLink(_ token: String) async -> Result<(ReviewLink, HeldEntry), LinkRefusal> {
        guard let signer else { return .failure(.malformed) }
        let link: ReviewLink
        switch signer.verify(token, now: now()) {
        case .failure(let refusal): return .failure(refusal)
        case .success(let verified): link = verified
        }
        if let id = LinkSigner.useID(of: token), ledger?.isUsed(id) == true { return .failure(.used) }
        guard let entry = try? await queue.entry(link.queueID) else { return .failure(.notHeld) }
        return .success((link, entry))
    }

    private func linkPage(_ request: Request, _ context: ConsoleContext) async throws -> Response {
        let token = request.uri.queryParameters.get("t") ?? ""
        switch await checkLink(token) {
        case .failure(let refusal):
            audit.record("link refused", ["remote": "\(context.peer)", "outcome": "\(refusal)", "method": "GET"])
            return refused(.forbidden, refusal.description.prefix(1).uppercased() + refusal.description.dropFirst() + ".")
        case .success(let (link, entry)):
            let release = link.action == .release
            let fromSender = link.recipient.lowercased() == entry.sender.lowercased()
            return html(.ok, pages.render("confirm", title: "Confirm", user: nil, csrf: nil, [
                "heading": release ? (fromSender ? "Send this message anyway?" : "Release this held message?") : (fromSender ? "Don't send this message?" : "Drop this held message?"),
                "what": release
                    ? "Message \(link.queueID) was held because a recipient looks like a misspelling. Confirming delivers it to every recipient as written."
                    : "Message \(link.queueID) was held because a recipient looks like a misspelling. Confirming deletes it; it will not be delivered.",
                "sender": entry.sender, "recipients": entry.recipients.joined(separator: ", "), "reasons": entry.reasons,
                "token": token, "action": link.action.rawValue,
                "button": release ? (fromSender ? "Send anyway" : "Release") : (fromSender ? "Don't send" : "Drop"),
            ]))
        }
    }

    private func useLink(_ request: Request, _ context: ConsoleContext) async throws -> Response {
        let token = try await Self.form(request)["t"] ?? ""
        let link: ReviewLink
        switch await checkLink(token) {
        case .failure(let refusal):
            audit.record("link refused", ["remote": "\(context.peer)", "outcome": "\(refusal)", "method": "POST"])
            return refused(.forbidden, refusal.description.prefix(1).uppercased() + refusal.description.dropFirst() + ".")
        case .success(let (verified, _)):
            link = verified
        }
        do {
            guard let ledger, let id = LinkSigner.useID(of: token), try ledger.claim(id, expiry: link.expiry) else {
                return refused(.forbidden, LinkRefusal.used.description.prefix(1).uppercased() + LinkRefusal.used.description.dropFirst() + ".")
            }
        } catch {
            context.logger.error("cannot record a used link: refusing it", metadata: ["error": "\(error)"])
            return refused(.serviceUnavailable, "The console cannot record that this link was used, so it does nothing now. Try again later.")
        }
        let outcome = await perform(link.action, link.queueID)
        audit.record(outcome == nil ? Self.done(link.action) + " held message" : "\(link.action.rawValue) failed", [
            "mail.queue_id": "\(link.queueID)", "link.recipient": "\(link.recipient)", "remote": "\(context.peer)", "via": "link",
            "outcome": "\(outcome ?? "ok")",
        ])
        return resultPage(link.action, link.queueID, error: outcome, user: nil, csrf: nil)
    }

    // MARK: Responses

    static let loginCookie = "misdirect_login"

    private func cookie(_ name: String, _ value: String, expire: Bool = false) -> String {
        var text = "\(name)=\(value); Path=/; HttpOnly; SameSite=Strict"
        if settings.secureCookies { text += "; Secure" }
        if expire { text += "; Max-Age=0" }
        return text
    }

    /// Every page: no script, no frame, nothing fetched from elsewhere, no Referer (a link's
    /// token is in its address), nothing cached.
    static func headers(type: String, cache: String = "no-store") -> HTTPFields {
        [
            .contentType: type,
            .cacheControl: cache,
            HTTPField.Name("Content-Security-Policy")!: "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
            HTTPField.Name("X-Content-Type-Options")!: "nosniff",
            HTTPField.Name("X-Frame-Options")!: "DENY",
            HTTPField.Name("Referrer-Policy")!: "no-referrer",
        ]
    }

    func html(_ status: HTTPResponse.Status, _ text: String) -> Response {
        Response(status: status, headers: Self.headers(type: "text/html; charset=utf-8"), body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    private func refused(_ status: HTTPResponse.Status, _ reason: String) -> Response {
        html(status, pages.render("refused", title: "Refused", user: nil, csrf: nil, ["heading": "Not allowed", "reason": reason]))
    }

    private func notFound(_ session: Sessions.Session) -> Response {
        html(.notFound, pages.render("result", title: "Not held", user: session.user, csrf: session.csrf, [
            "heading": "Not held", "outcome": "error", "text": "No message with that id is held by misdirect-milter.", "back": true,
        ]))
    }

    static func redirect(_ location: String) -> Response {
        var headers = Self.headers(type: "text/plain; charset=utf-8")
        headers[.location] = location
        return Response(status: .seeOther, headers: headers)
    }

    static func done(_ action: ReviewLink.Action) -> String {
        action == .release ? "released" : "dropped"
    }

    static func values(_ entry: HeldEntry) -> [String: Any] {
        [
            "queueID": entry.queueID, "arrival": entry.arrival.formatted(.iso8601), "age": entry.age,
            "sender": entry.sender.isEmpty ? "<>" : entry.sender, "recipients": entry.recipients.joined(separator: ", "),
            "level": entry.level, "suspected": entry.suspected.joined(separator: ", "), "reasons": entry.reasons,
        ]
    }

    static func size(_ bytes: Int) -> String {
        bytes < 1024 ? "\(bytes) bytes" : bytes < 1 << 20 ? "\(bytes / 1024) KiB" : String(format: "%.1f MiB", Double(bytes) / Double(1 << 20))
    }

    static func cookies(_ request: Request) -> [String: String] {
        var cookies: [String: String] = [:]
        for field in request.headers[values: .cookie] {
            for pair in field.split(separator: ";") {
                let parts = pair.split(separator: "=", maxSplits: 1)
                guard parts.count == 2 else { continue }
                cookies[parts[0].trimmingCharacters(in: .whitespaces)] = parts[1].trimmingCharacters(in: .whitespaces)
            }
        }
        return cookies
    }

    /// An `application/x-www-form-urlencoded` body, at most 64 KiB.
    static func form(_ request: Request) async throws -> [String: String] {
        let buffer = try await request.body.collect(upTo: 65536)
        var form: [String: String] = [:]
        for pair in String(buffer: buffer).split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let decode = { (text: Substring) in String(text).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? "" }
            form[decode(parts[0])] = parts.count == 2 ? decode(parts[1]) : ""
        }
        return form
    }

    /// Runs slow, blocking work (bcrypt) on a thread of its own, not the event loop's.
    static func offThePool<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            Thread { continuation.resume(returning: work()) }.start()
        }
    }
}
