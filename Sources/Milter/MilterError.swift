/// An error from the milter library or from a request libmilter refused.
public struct MilterError: Error, Sendable, Equatable, CustomStringConvertible {
    enum Code: Sendable, Equatable {
        case invalidSocket
        case invalidHeaderName
        case alreadyRunning
        case libmilterFailed
    }

    let code: Code
    /// What was being done or refused, for the message.
    public let detail: String

    init(_ code: Code, _ detail: String) {
        self.code = code
        self.detail = detail
    }

    /// The socket specification is not one libmilter understands.
    public static let invalidSocket = MilterError(.invalidSocket, "")
    /// A header name was empty or had a byte a field name cannot have.
    public static let invalidHeaderName = MilterError(.invalidHeaderName, "")
    /// A milter is already registered in this process (libmilter allows one).
    public static let alreadyRunning = MilterError(.alreadyRunning, "")
    /// A libmilter call returned `MI_FAILURE`.
    public static let libmilterFailed = MilterError(.libmilterFailed, "")

    /// Errors compare by kind, not by detail, so `error == .invalidSocket` reads naturally.
    public static func == (lhs: MilterError, rhs: MilterError) -> Bool { lhs.code == rhs.code }

    public var description: String {
        switch code {
        case .invalidSocket: "invalid milter socket: \(detail)"
        case .invalidHeaderName: "invalid header name: \(detail)"
        case .alreadyRunning: "a milter is already running in this process"
        case .libmilterFailed: "libmilter refused: \(detail)"
        }
    }
}
