/// How the milter registers with libmilter and what it negotiates with the MTA.
public struct MilterConfiguration: Sendable {
    /// The filter name libmilter logs and the MTA may show.
    public var name: String
    /// Where to listen.
    public var socket: MilterSocket
    /// The stages the session implements. The MTA is asked not to send the others (and never
    /// the body), which saves a round trip per stage.
    public var stages: MilterStages
    /// Stages in which the session always continues, so the MTA need not wait for an answer
    /// (`SMFIP_NR_*`): one round trip less per header or sender. Asked for on unix sockets only;
    /// over TCP an unanswered command is the small segment that waits out Nagle on the MTA's
    /// side (40 ms). A session must answer `.continue` in these stages: when the MTA agreed, any
    /// other answer is not sent.
    public var unansweredStages: MilterStages
    /// What the session may do to a message at its end.
    public var actions: MilterActions
    /// Macros to ask the MTA for, per stage (`smfi_setsymlist`), such as `["i"]` at end of
    /// message for the queue id.
    public var macros: [MacroStage: [String]]
    /// Seconds libmilter waits on the MTA (`smfi_settimeout`). With Debian's pooled libmilter
    /// this is also how long an idle connection stays open: keep it above Postfix's
    /// `smtpd_timeout` (300 s).
    public var timeout: Int
    /// The listen backlog (`smfi_setbacklog`).
    public var backlog: Int
    /// Permissions given to a unix socket once bound (the MTA must be able to write to it).
    public var unixSocketPermissions: UnixSocketPermissions

    public init(
        name: String,
        socket: MilterSocket,
        stages: MilterStages,
        unansweredStages: MilterStages = [],
        actions: MilterActions,
        macros: [MacroStage: [String]] = [:],
        timeout: Int = 600,
        backlog: Int = 128,
        unixSocketPermissions: UnixSocketPermissions = UnixSocketPermissions()
    ) {
        self.name = name
        self.socket = socket
        self.stages = stages
        self.unansweredStages = unansweredStages
        self.actions = actions
        self.macros = macros
        self.timeout = timeout
        self.backlog = backlog
        self.unixSocketPermissions = unixSocketPermissions
    }
}

/// Mode and group of a unix socket. Postfix's smtpd runs as `postfix`, so either the socket
/// is in a group Postfix belongs to with mode `0660`, or it is world-writable.
public struct UnixSocketPermissions: Sendable, Equatable {
    /// The permission bits, `0o660` by default.
    public var mode: UInt32
    /// The group id to give the socket, or nil to keep the process's group.
    public var group: UInt32?

    public init(mode: UInt32 = 0o660, group: UInt32? = nil) {
        self.mode = mode
        self.group = group
    }
}

/// Milter stages a session wants to see. End of message, abort and close always come.
public struct MilterStages: OptionSet, Sendable, Hashable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// Connection information (`SMFIP_NOCONNECT` when absent).
    public static let connect = MilterStages(rawValue: 1 << 0)
    /// HELO/EHLO (`SMFIP_NOHELO` when absent).
    public static let helo = MilterStages(rawValue: 1 << 1)
    /// MAIL FROM (`SMFIP_NOMAIL` when absent).
    public static let envelopeSender = MilterStages(rawValue: 1 << 2)
    /// RCPT TO (`SMFIP_NORCPT` when absent).
    public static let envelopeRecipient = MilterStages(rawValue: 1 << 3)
    /// Each header (`SMFIP_NOHDRS` when absent).
    public static let headers = MilterStages(rawValue: 1 << 4)
    /// End of headers (`SMFIP_NOEOH` when absent).
    public static let endOfHeaders = MilterStages(rawValue: 1 << 5)
    /// Body chunks (`SMFIP_NOBODY` when absent; with it, `SMFIP_SKIP` is asked for).
    public static let body = MilterStages(rawValue: 1 << 6)
}

/// Changes a session may make at end of message; the MTA must allow each one.
public struct MilterActions: OptionSet, Sendable, Hashable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// Add and insert headers (`SMFIF_ADDHDRS`).
    public static let addHeaders = MilterActions(rawValue: 1 << 0)
    /// Change and remove headers (`SMFIF_CHGHDRS`).
    public static let changeHeaders = MilterActions(rawValue: 1 << 1)
    /// Put the message on hold (`SMFIF_QUARANTINE`).
    public static let quarantine = MilterActions(rawValue: 1 << 2)
    /// Add envelope recipients (`SMFIF_ADDRCPT`).
    public static let addRecipients = MilterActions(rawValue: 1 << 3)
}

/// The protocol stage a macro list is requested for (`SMFIM_*`).
public enum MacroStage: Sendable, Hashable, CaseIterable {
    /// `SMFIM_CONNECT`
    case connect
    /// `SMFIM_HELO`
    case helo
    /// `SMFIM_ENVFROM`
    case envelopeSender
    /// `SMFIM_ENVRCPT`
    case envelopeRecipient
    /// `SMFIM_DATA`
    case data
    /// `SMFIM_EOH`
    case endOfHeaders
    /// `SMFIM_EOM`
    case endOfMessage
}
