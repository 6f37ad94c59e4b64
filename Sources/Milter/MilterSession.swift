/// The handler of one MTA connection: one instance per connection, made by the factory given to
/// ``MilterServer``.
///
/// libmilter never calls two stages of the same connection at once, but successive stages may
/// run on different threads; an instance is owned by its connection alone, so it may keep plain
/// mutable state. State shared between connections must be immutable or behind a lock.
///
/// Every method has a default that continues, so a session implements only what it needs and
/// declares those stages in ``MilterConfiguration/stages``.
///
/// - Important: Stages come in SMTP order: ``connect(hostname:address:context:)``,
///   ``helo(_:context:)``, then per message ``envelopeSender(_:context:)``, one
///   ``envelopeRecipient(_:context:)`` per recipient, ``header(name:value:context:)`` per header,
///   ``endOfHeaders(context:)``, ``body(_:context:)`` per chunk and ``endOfMessage(context:)``.
///   ``abort(context:)`` ends a message early (RSET, or the client left) and ``close()`` ends
///   the connection; a connection can carry several messages. ``close()`` is always the last
///   call.
public protocol MilterSession: AnyObject {
    /// A client connected (`xxfi_connect`).
    /// - Parameters:
    ///   - hostname: the client's host name as the MTA resolved it, or `[address]`.
    ///   - address: the client's address, when the MTA sent one.
    func connect(hostname: String, address: PeerAddress?, context: any MilterContext) -> MilterResponse

    /// The client said HELO or EHLO (`xxfi_helo`).
    func helo(_ name: String, context: any MilterContext) -> MilterResponse

    /// MAIL FROM (`xxfi_envfrom`).
    /// - Parameter arguments: the address as the MTA sent it (usually in angle brackets, `<>` for
    ///   the null sender), then any ESMTP parameters, each as raw bytes.
    func envelopeSender(_ arguments: [[UInt8]], context: any MilterContext) -> MilterResponse

    /// RCPT TO (`xxfi_envrcpt`): a refusal here refuses this recipient only.
    /// - Parameter arguments: the address as the MTA sent it, then any ESMTP parameters.
    func envelopeRecipient(_ arguments: [[UInt8]], context: any MilterContext) -> MilterResponse

    /// One header of the message (`xxfi_header`), value without the leading space.
    func header(name: [UInt8], value: [UInt8], context: any MilterContext) -> MilterResponse

    /// All headers have been seen (`xxfi_eoh`).
    func endOfHeaders(context: any MilterContext) -> MilterResponse

    /// A chunk of the body (`xxfi_body`), at most 64 KiB. Answer ``MilterResponse/skip`` to
    /// receive no more of this message's body.
    func body(_ chunk: [UInt8], context: any MilterContext) -> MilterResponse

    /// The message is complete (`xxfi_eom`): the only stage where ``MilterContext`` may modify
    /// the message.
    func endOfMessage(context: any MilterContext) -> MilterResponse

    /// The current message was abandoned (`xxfi_abort`); the connection may go on.
    func abort(context: any MilterContext)

    /// The connection ended (`xxfi_close`), normally or not. The session is released after it.
    func close()
}

extension MilterSession {
    public func connect(hostname: String, address: PeerAddress?, context: any MilterContext) -> MilterResponse { .continue }
    public func helo(_ name: String, context: any MilterContext) -> MilterResponse { .continue }
    public func envelopeSender(_ arguments: [[UInt8]], context: any MilterContext) -> MilterResponse { .continue }
    public func envelopeRecipient(_ arguments: [[UInt8]], context: any MilterContext) -> MilterResponse { .continue }
    public func header(name: [UInt8], value: [UInt8], context: any MilterContext) -> MilterResponse { .continue }
    public func endOfHeaders(context: any MilterContext) -> MilterResponse { .continue }
    public func body(_ chunk: [UInt8], context: any MilterContext) -> MilterResponse { .continue }
    public func endOfMessage(context: any MilterContext) -> MilterResponse { .continue }
    public func abort(context: any MilterContext) {}
    public func close() {}
}
