/// ``MilterContext`` over libmilter's `SMFICTX`: each call goes to the `smfi_*` function its
/// doc line names, through ``LibMilter``.
struct LibMilterContext: MilterContext {
    let pointer: OpaquePointer

    init(_ pointer: OpaquePointer) {
        self.pointer = pointer
    }

    func macro(_ name: String) -> String? {
        LibMilter.symbolValue(pointer, MacroName.braced(name))
    }

    func addHeader(_ name: String, value: String) throws(MilterError) {
        let name = try HeaderText.checkedName(name)
        try LibMilter.addHeader(pointer, name, HeaderText.sanitizedValue(value))
    }

    func insertHeader(_ name: String, value: String, at index: Int) throws(MilterError) {
        let name = try HeaderText.checkedName(name)
        try LibMilter.insertHeader(pointer, Int32(clamping: index), name, HeaderText.sanitizedValue(value))
    }

    func changeHeader(_ name: String, occurrence: Int, value: String?) throws(MilterError) {
        let name = try HeaderText.checkedName(name)
        try LibMilter.changeHeader(pointer, name, Int32(clamping: occurrence), value.map(HeaderText.sanitizedValue))
    }

    func quarantine(reason: String) throws(MilterError) {
        try LibMilter.quarantine(pointer, HeaderText.sanitizedLine(reason))
    }

    func addRecipient(_ address: String) throws(MilterError) {
        try LibMilter.addRecipient(pointer, HeaderText.sanitizedLine(address))
    }
}
