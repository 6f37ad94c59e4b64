/// The MTA-side view of one stage call: macros, and at end of message the changes the milter
/// may make to the message. The server passes libmilter's; `MilterTesting` has one that records
/// the calls, for testing a session without an MTA.
///
/// - Important: A context is valid only during the call it was passed to. Never keep it.
public protocol MilterContext {
    /// The value of an MTA macro (`smfi_getsymval`), such as `i` (queue id) or `{auth_authen}`.
    ///
    /// A multi-letter name may be given with or without braces. Only macros requested in
    /// ``MilterConfiguration/macros`` (or sent by default) are available, and a value may be left
    /// over from an earlier message of the same connection.
    func macro(_ name: String) -> String?

    /// Appends a header to the message (`smfi_addheader`). End of message only.
    ///
    /// - Parameters:
    ///   - name: the header field name, printable ASCII without `:`.
    ///   - value: the value without leading space; `\n` followed by a space or tab folds it, any
    ///     other control character becomes a space, so the value cannot add a header.
    func addHeader(_ name: String, value: String) throws(MilterError)

    /// Inserts a header at a position among the message's headers (`smfi_insheader`).
    /// End of message only; index 0 is first.
    func insertHeader(_ name: String, value: String, at index: Int) throws(MilterError)

    /// Changes the `occurrence`th (1-based) header called `name`, or removes it when `value` is
    /// nil (`smfi_chgheader`). End of message only.
    func changeHeader(_ name: String, occurrence: Int, value: String?) throws(MilterError)

    /// Puts the message on the MTA's hold queue with a reason (`smfi_quarantine`).
    /// End of message only; needs ``MilterActions/quarantine``.
    func quarantine(reason: String) throws(MilterError)

    /// Adds an envelope recipient (`smfi_addrcpt`). End of message only; needs
    /// ``MilterActions/addRecipients``.
    func addRecipient(_ address: String) throws(MilterError)
}

/// How a macro is asked for: a multi-letter name in braces (`{auth_authen}`), one letter bare.
package enum MacroName {
    package static func braced(_ name: String) -> String {
        name.count > 1 && !name.hasPrefix("{") ? "{\(name)}" : name
    }
}
