internal import CMilter
import Locking
import Synchronization
#if canImport(Glibc)
internal import Glibc
#endif

/// What ``MilterServer`` registered: read by every callback, set once per process.
struct Registration: Sendable {
    let configuration: MilterConfiguration
    let stageObserver: (any MilterStageObserver)?
    let makeSession: @Sendable () -> any MilterSession
}

/// The one registration of this process: libmilter keeps a single filter per process.
let registration = LockedValue<Registration?>(nil)


/// Sessions created and not yet released in close.
let liveSessionCount = Atomic<Int>(0)

/// The per-connection object libmilter holds through `smfi_setpriv`.
final class Connection {
    let session: any MilterSession
    /// Told the duration of each callback, when the server has an observer.
    let observer: (any MilterStageObserver)?
    /// The protocol steps agreed at negotiation: `SMFIP_SKIP` lets a body stage answer skip,
    /// each `SMFIP_NR_*` bit is a stage the MTA does not wait on.
    var steps: UInt = 0

    init(session: any MilterSession, observer: (any MilterStageObserver)?) {
        self.session = session
        self.observer = observer
        liveSessionCount.add(1, ordering: .relaxed)
    }

    deinit {
        liveSessionCount.subtract(1, ordering: .relaxed)
    }

    /// Runs one callback of the session, timing it when there is an observer.
    func observed<T>(_ stage: MilterStage, _ body: (any MilterSession) -> T) -> T {
        guard let observer else { return body(session) }
        let start = ContinuousClock.now
        let result = body(session)
        observer.stage(stage, took: ContinuousClock.now - start)
        return result
    }
}

/// The C callbacks libmilter calls, each turning C values into Swift ones and back.
enum Callbacks {
    static func descriptor(name: UnsafeMutablePointer<CChar>) -> smfiDesc {
        var desc = smfiDesc()
        desc.xxfi_name = name
        desc.xxfi_version = SMFI_VERSION
        desc.xxfi_flags = 0  // negotiated in xxfi_negotiate
        desc.xxfi_negotiate = { ctx, offeredActions, offeredProtocol, _, _, actions, steps, reserved2, reserved3 in
            Callbacks.negotiate(ctx, offeredActions, offeredProtocol, actions, steps, reserved2, reserved3)
        }
        desc.xxfi_connect = { ctx, hostname, address in
            Callbacks.run(ctx, .connect, noReply: SMFIP_NR_CONN) { session, context in
                session.connect(
                    hostname: hostname.map { String(cString: $0) } ?? "",
                    address: Callbacks.peerAddress(address), context: context)
            }
        }
        desc.xxfi_helo = { ctx, name in
            Callbacks.run(ctx, .helo, noReply: SMFIP_NR_HELO) { session, context in
                session.helo(name.map { String(cString: $0) } ?? "", context: context)
            }
        }
        desc.xxfi_envfrom = { ctx, argv in
            Callbacks.run(ctx, .envelopeSender, noReply: SMFIP_NR_MAIL) { session, context in
                session.envelopeSender(Callbacks.arguments(argv), context: context)
            }
        }
        desc.xxfi_envrcpt = { ctx, argv in
            Callbacks.run(ctx, .envelopeRecipient, noReply: SMFIP_NR_RCPT) { session, context in
                session.envelopeRecipient(Callbacks.arguments(argv), context: context)
            }
        }
        // Only asked for over TCP (see ``Negotiation``); no session needs it.
        desc.xxfi_data = { _ in Status.continue.rawValue }
        desc.xxfi_header = { ctx, name, value in
            Callbacks.run(ctx, .header, noReply: SMFIP_NR_HDR) { session, context in
                session.header(name: Callbacks.bytes(name), value: Callbacks.bytes(value), context: context)
            }
        }
        desc.xxfi_eoh = { ctx in
            Callbacks.run(ctx, .endOfHeaders, noReply: SMFIP_NR_EOH) { session, context in session.endOfHeaders(context: context) }
        }
        desc.xxfi_body = { ctx, chunk, length in
            Callbacks.run(ctx, .body, noReply: SMFIP_NR_BODY) { session, context in
                session.body(chunk.map { Array(UnsafeBufferPointer(start: $0, count: length)) } ?? [], context: context)
            }
        }
        desc.xxfi_eom = { ctx in
            Callbacks.run(ctx, .endOfMessage) { session, context in session.endOfMessage(context: context) }
        }
        desc.xxfi_abort = { ctx in
            guard let ctx, let connection = Callbacks.existingConnection(ctx) else { return Status.continue.rawValue }
            connection.observed(.abort) { $0.abort(context: LibMilterContext(ctx)) }
            return Status.continue.rawValue
        }
        desc.xxfi_close = { ctx in
            Callbacks.close(ctx)
            return Status.continue.rawValue
        }
        return desc
    }

    // MARK: Negotiation

    static func negotiate(
        _ ctx: OpaquePointer?, _ offeredActions: UInt, _ offeredProtocol: UInt,
        _ actions: UnsafeMutablePointer<UInt>?, _ steps: UnsafeMutablePointer<UInt>?,
        _ reserved2: UnsafeMutablePointer<UInt>?, _ reserved3: UnsafeMutablePointer<UInt>?
    ) -> sfsistat {
        guard let ctx, let configuration = registration.withLock({ $0?.configuration }) else {
            return Status.allOptions.rawValue
        }
        // The session exists from negotiation on, so a connection that has not sent its first
        // message yet counts as in flight (``MilterServer/liveSessions``) and a graceful stop
        // waits for it.
        _ = connection(ctx)
        let wanted = Negotiation.flags(for: configuration, offeredActions: offeredActions, offeredProtocol: offeredProtocol)
        actions?.pointee = wanted.actions
        steps?.pointee = wanted.steps
        connection(ctx)?.steps = wanted.steps
        reserved2?.pointee = 0
        reserved3?.pointee = 0
        if wanted.actions & UInt(SMFIF_SETSYMLIST) != 0 {
            for (stage, names) in configuration.macros where !names.isEmpty {
                try? LibMilter.setSymbolList(ctx, stage, names)
            }
        }
        return Status.continue.rawValue
    }

    // MARK: Sessions

    /// The connection of `ctx`, created at negotiation (or on its first stage if the MTA skipped
    /// negotiation).
    static func connection(_ ctx: OpaquePointer) -> Connection? {
        if let existing = existingConnection(ctx) { return existing }
        guard let (make, observer) = registration.withLock({ $0.map { ($0.makeSession, $0.stageObserver) } }) else { return nil }
        let connection = Connection(session: make(), observer: observer)
        LibMilter.setPrivateData(ctx, Unmanaged.passRetained(connection).toOpaque())
        return connection
    }

    static func existingConnection(_ ctx: OpaquePointer) -> Connection? {
        LibMilter.privateData(ctx).map { Unmanaged<Connection>.fromOpaque($0).takeUnretainedValue() }
    }

    /// Releases the connection's retain taken in ``connection(_:)``: exactly once, here.
    static func close(_ ctx: OpaquePointer?) {
        guard let ctx, let raw = LibMilter.privateData(ctx) else { return }
        LibMilter.setPrivateData(ctx, nil)
        let connection = Unmanaged<Connection>.fromOpaque(raw).takeRetainedValue()
        connection.observed(.close) { $0.close() }
    }

    /// Runs a stage of the session of `ctx` and turns its response into libmilter's answer:
    /// none at all when the MTA agreed not to wait for one (`noReply`, an `SMFIP_NR_*` bit).
    static func run(
        _ ctx: OpaquePointer?, _ name: MilterStage, noReply: Int = 0,
        _ stage: (any MilterSession, any MilterContext) -> MilterResponse
    ) -> sfsistat {
        guard let ctx else { return Status.tempfail.rawValue }
        guard let connection = connection(ctx) else { return Status.tempfail.rawValue }
        let context = LibMilterContext(ctx)
        let response = connection.observed(name) { stage($0, context) }
        if connection.steps & UInt(noReply) != 0 {
            assert(response == .continue, "a stage negotiated without reply answered \(response)")
            return Status.noReply.rawValue
        }
        return status(for: response, ctx).rawValue
    }

    static func status(for response: MilterResponse, _ ctx: OpaquePointer) -> Status {
        switch response {
        case .continue: return .continue
        case .accept: return .accept
        case .reject: return .reject
        case .tempfail: return .tempfail
        case .discard: return .discard
        case .skip: return skipNegotiated(ctx) ? .skip : .continue
        case let .reply(reply):
            // If libmilter refuses the text, the refusal still happens with the MTA's default text.
            try? LibMilter.setReply(ctx, reply)
            return reply.isTemporary ? .tempfail : .reject
        }
    }

    /// Whether the MTA agreed to SMFIP_SKIP on this connection (recorded at negotiation).
    static func skipNegotiated(_ ctx: OpaquePointer) -> Bool {
        (existingConnection(ctx)?.steps ?? 0) & UInt(SMFIP_SKIP) != 0
    }

    // MARK: Conversions

    static func bytes(_ pointer: UnsafeMutablePointer<CChar>?) -> [UInt8] {
        guard let pointer else { return [] }
        return Array(UnsafeRawBufferPointer(start: pointer, count: strlen(pointer)))
    }

    static func arguments(_ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> [[UInt8]] {
        guard let argv else { return [] }
        var result: [[UInt8]] = []
        var index = 0
        while let argument = argv[index] {
            result.append(bytes(argument))
            index += 1
        }
        return result
    }

    static func peerAddress(_ address: UnsafeMutablePointer<sockaddr>?) -> PeerAddress? {
        guard let address else { return nil }
        switch Int32(address.pointee.sa_family) {
        case AF_INET:
            return address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { sin in
                var addr = sin.pointee.sin_addr
                return .inet(address: text(AF_INET, &addr, Int(INET_ADDRSTRLEN)), port: UInt16(bigEndian: sin.pointee.sin_port))
            }
        case AF_INET6:
            return address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { sin6 in
                var addr = sin6.pointee.sin6_addr
                return .inet6(address: text(AF_INET6, &addr, Int(INET6_ADDRSTRLEN)), port: UInt16(bigEndian: sin6.pointee.sin6_port))
            }
        case AF_UNIX:
            return .unix(path: "")
        default:
            return nil
        }
    }

    private static func text(_ family: Int32, _ address: UnsafeRawPointer, _ length: Int) -> String {
        var buffer = [CChar](repeating: 0, count: length + 1)
        guard inet_ntop(family, address, &buffer, socklen_t(length)) != nil else { return "" }
        return buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }
}
