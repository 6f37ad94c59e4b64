/// A session callback, as a ``MilterStageObserver`` is told about it.
///
/// The raw value is a stable snake_case name, fit for a metrics label.
public enum MilterStage: String, Sendable, CaseIterable {
    /// ``MilterSession/connect(hostname:address:context:)``
    case connect
    /// ``MilterSession/helo(_:context:)``
    case helo
    /// ``MilterSession/envelopeSender(_:context:)``
    case envelopeSender = "envelope_sender"
    /// ``MilterSession/envelopeRecipient(_:context:)``
    case envelopeRecipient = "envelope_recipient"
    /// ``MilterSession/header(name:value:context:)``
    case header
    /// ``MilterSession/endOfHeaders(context:)``
    case endOfHeaders = "end_of_headers"
    /// ``MilterSession/body(_:context:)``
    case body
    /// ``MilterSession/endOfMessage(context:)``
    case endOfMessage = "end_of_message"
    /// ``MilterSession/abort(context:)``
    case abort
    /// ``MilterSession/close()``
    case close
}

/// Told how long each session callback took, for every stage of every connection: the server
/// calls it around the session, so no stage a session implements can be left out.
///
/// - Important: Called on libmilter's threads, once per callback, after the session returned:
///   keep it short and thread-safe.
public protocol MilterStageObserver: Sendable {
    /// One callback of `stage` ran for `duration`.
    func stage(_ stage: MilterStage, took duration: Duration)
}
