import Milter

/// A ``MilterContext`` without an MTA: it answers macros from a dictionary and records each
/// change a session asks for, checked and cleaned exactly as libmilter's context does, so a
/// session's stages can be called directly in a unit test and its end of message read back.
///
/// Integration tests still run the real libmilter under a real Postfix; this is for the paths
/// that need many cases (overrides, forged headers, holds, bodies) and no network.
public final class RecordingContext: MilterContext {
    /// One change to the message, as the MTA would be asked for it.
    public enum Change: Equatable, Sendable {
        /// `smfi_addheader`
        case addHeader(name: String, value: String)
        /// `smfi_insheader`
        case insertHeader(name: String, value: String, index: Int)
        /// `smfi_chgheader`; a nil value removes the header.
        case changeHeader(name: String, occurrence: Int, value: String?)
        /// `smfi_quarantine`
        case quarantine(reason: String)
        /// `smfi_addrcpt`
        case addRecipient(String)
    }

    /// The macros the MTA sent, by name with or without braces (`i`, `auth_authen`).
    public var macros: [String: String]
    /// Every change asked for, in order.
    public private(set) var changes: [Change] = []
    /// When true, every change fails as libmilter's does when the MTA refuses it (`MI_FAILURE`).
    public var refusesChanges: Bool

    public init(macros: [String: String] = [:], refusesChanges: Bool = false) {
        self.macros = Dictionary(macros.map { (MacroName.braced($0.key), $0.value) }, uniquingKeysWith: { $1 })
        self.refusesChanges = refusesChanges
    }

    public func macro(_ name: String) -> String? {
        macros[MacroName.braced(name)]
    }

    public func addHeader(_ name: String, value: String) throws(MilterError) {
        try record(.addHeader(name: HeaderText.checkedName(name), value: HeaderText.sanitizedValue(value)))
    }

    public func insertHeader(_ name: String, value: String, at index: Int) throws(MilterError) {
        try record(.insertHeader(name: HeaderText.checkedName(name), value: HeaderText.sanitizedValue(value), index: index))
    }

    public func changeHeader(_ name: String, occurrence: Int, value: String?) throws(MilterError) {
        try record(.changeHeader(name: HeaderText.checkedName(name), occurrence: occurrence, value: value.map(HeaderText.sanitizedValue)))
    }

    public func quarantine(reason: String) throws(MilterError) {
        try record(.quarantine(reason: HeaderText.sanitizedLine(reason)))
    }

    public func addRecipient(_ address: String) throws(MilterError) {
        try record(.addRecipient(HeaderText.sanitizedLine(address)))
    }

    /// Forgets the changes, for the next message of the same connection.
    public func reset() {
        changes = []
    }

    private func record(_ change: Change) throws(MilterError) {
        guard !refusesChanges else { throw MilterError.libmilterFailed }
        changes.append(change)
    }
}
