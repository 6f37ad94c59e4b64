/// The MTA-side view of one stage call: macros, and at end of message the changes the milter
/// may make to the message.
///
/// - Important: A context is valid only during the call it was passed to. Never keep it.
public struct MilterContext {
    let pointer: OpaquePointer

    init(_ pointer: OpaquePointer) {
        self.pointer = pointer
    }

    /// The value of an MTA macro (`smfi_getsymval`), such as `i` (queue id) or `{auth_authen}`.
    ///
    /// A multi-letter name may be given with or without braces. Only macros requested in
    /// ``MilterConfiguration/macros`` (or sent by default) are available, and a value may be left
    /// over from an earlier message of the same connection.
    public func macro(_ name: String) -> String? {
        let key = name.count > 1 && !name.hasPrefix("{") ? "{\(name)}" : name
        return LibMilter.symbolValue(pointer, key)
    }

    /// Appends a header to the message (`smfi_addheader`). End of message only.
    ///
    /// - Parameters:
    ///   - name: the header field name, printable ASCII without `:`.
    ///   - value: the value without leading space; `\n` followed by a space or tab folds it, any
    ///     other control character becomes a space, so the value cannot add a header.
    public func addHeader(_ name: String, value: String) throws(MilterError) {
        let name = try HeaderText.checkedName(name)
        try LibMilter.addHeader(pointer, name, HeaderText.sanitizedValue(value))
    }

    /// Inserts a header at a position among the message's headers (`smfi_insheader`).
    /// End of message only; index 0 is first.
    public func insertHeader(_ name: String, value: String, at index: Int) throws(MilterError) {
        let name = try HeaderText.checkedName(name)
        try LibMilter.insertHeader(pointer, Int32(clamping: index), name, HeaderText.sanitizedValue(value))
    }

    /// Changes the `occurrence`th (1-based) header called `name`, or removes it when `value` is
    /// nil (`smfi_chgheader`). End of message only.
    public func changeHeader(_ name: String, occurrence: Int, value: String?) throws(MilterError) {
        let name = try HeaderText.checkedName(name)
        try LibMilter.changeHeader(pointer, name, Int32(clamping: occurrence), value.map(HeaderText.sanitizedValue))
    }

    /// Puts the message on the MTA's hold queue with a reason (`smfi_quarantine`).
    /// End of message only; needs ``MilterActions/quarantine``.
    public func quarantine(reason: String) throws(MilterError) {
        try LibMilter.quarantine(pointer, HeaderText.sanitizedLine(reason))
    }

    /// Adds an envelope recipient (`smfi_addrcpt`). End of message only; needs
    /// ``MilterActions/addRecipients``.
    public func addRecipient(_ address: String) throws(MilterError) {
        try LibMilter.addRecipient(pointer, HeaderText.sanitizedLine(address))
    }
}
