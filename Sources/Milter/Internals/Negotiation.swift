internal import CMilter

/// The option bits asked of the MTA at negotiation: what the configuration wants, limited to
/// what the MTA offered.
enum Negotiation {
    static func flags(
        for configuration: MilterConfiguration, offeredActions: UInt, offeredProtocol: UInt
    ) -> (actions: UInt, steps: UInt) {
        var actions: UInt = 0
        if configuration.actions.contains(.addHeaders) { actions |= UInt(SMFIF_ADDHDRS) }
        if configuration.actions.contains(.changeHeaders) { actions |= UInt(SMFIF_CHGHDRS) }
        if configuration.actions.contains(.quarantine) { actions |= UInt(SMFIF_QUARANTINE) }
        if configuration.actions.contains(.addRecipients) { actions |= UInt(SMFIF_ADDRCPT) }
        if configuration.macros.values.contains(where: { !$0.isEmpty }) { actions |= UInt(SMFIF_SETSYMLIST) }

        // Ask not to be sent what no stage uses; never unknown commands. DATA is skipped on unix
        // sockets only: Postfix sends DATA's macros even when the milter skips the stage, and
        // smtpd flushes them alone when it hands the connection to cleanup; over TCP that lone
        // segment, which gets no reply, holds the first header 40 ms (Nagle on the MTA's side,
        // delayed ACK on ours). Answering DATA makes the macros travel with a command that is
        // answered at once.
        var steps = UInt(SMFIP_NOUNKNOWN)
        if case .unix = configuration.socket { steps |= UInt(SMFIP_NODATA) }
        let stages = configuration.stages
        // The body only when asked for, and then with skip, so a session can stop it early.
        steps |= stages.contains(.body) ? UInt(SMFIP_SKIP) : UInt(SMFIP_NOBODY)
        if !stages.contains(.connect) { steps |= UInt(SMFIP_NOCONNECT) }
        if !stages.contains(.helo) { steps |= UInt(SMFIP_NOHELO) }
        if !stages.contains(.envelopeSender) { steps |= UInt(SMFIP_NOMAIL) }
        if !stages.contains(.envelopeRecipient) { steps |= UInt(SMFIP_NORCPT) }
        if !stages.contains(.headers) { steps |= UInt(SMFIP_NOHDRS) }
        if !stages.contains(.endOfHeaders) { steps |= UInt(SMFIP_NOEOH) }
        if case .unix = configuration.socket {
            steps |= noReplyFlags(configuration.unansweredStages.intersection(stages))
        }
        return (actions & offeredActions, steps & offeredProtocol)
    }

    /// The `SMFIP_NR_*` bits of `stages`.
    static func noReplyFlags(_ stages: MilterStages) -> UInt {
        var flags: UInt = 0
        if stages.contains(.connect) { flags |= UInt(SMFIP_NR_CONN) }
        if stages.contains(.helo) { flags |= UInt(SMFIP_NR_HELO) }
        if stages.contains(.envelopeSender) { flags |= UInt(SMFIP_NR_MAIL) }
        if stages.contains(.envelopeRecipient) { flags |= UInt(SMFIP_NR_RCPT) }
        if stages.contains(.headers) { flags |= UInt(SMFIP_NR_HDR) }
        if stages.contains(.endOfHeaders) { flags |= UInt(SMFIP_NR_EOH) }
        if stages.contains(.body) { flags |= UInt(SMFIP_NR_BODY) }
        return flags
    }
}
