internal import CMilter

/// A libmilter callback result (`sfsistat`).
struct Status: RawRepresentable, Equatable {
    let rawValue: sfsistat
    init(rawValue: sfsistat) { self.rawValue = rawValue }

    /// `SMFIS_CONTINUE`
    static let `continue` = Status(rawValue: sfsistat(SMFIS_CONTINUE))
    /// `SMFIS_REJECT`
    static let reject = Status(rawValue: sfsistat(SMFIS_REJECT))
    /// `SMFIS_DISCARD`
    static let discard = Status(rawValue: sfsistat(SMFIS_DISCARD))
    /// `SMFIS_ACCEPT`
    static let accept = Status(rawValue: sfsistat(SMFIS_ACCEPT))
    /// `SMFIS_TEMPFAIL`
    static let tempfail = Status(rawValue: sfsistat(SMFIS_TEMPFAIL))
    /// `SMFIS_SKIP`
    static let skip = Status(rawValue: sfsistat(SMFIS_SKIP))
    /// `SMFIS_NOREPLY`: the MTA agreed not to wait for an answer to this stage.
    static let noReply = Status(rawValue: sfsistat(SMFIS_NOREPLY))
    /// `SMFIS_ALL_OPTS`: at negotiation, take every option the MTA offered.
    static let allOptions = Status(rawValue: sfsistat(SMFIS_ALL_OPTS))
}
