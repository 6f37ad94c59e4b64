/// Makes header names and values safe to hand to the MTA.
package enum HeaderText {
    /// The name itself, or an error when it is empty or has bytes a field name cannot have.
    package static func checkedName(_ name: String) throws(MilterError) -> String {
        let bytes = name.utf8
        guard !bytes.isEmpty, bytes.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: ":") }) else {
            throw MilterError(.invalidHeaderName, name)
        }
        return name
    }

    /// The value with folding kept as libmilter wants it (`\n` + space or tab) and every other
    /// control character (CR, a lone LF, NUL, ...) replaced by a space.
    package static func sanitizedValue(_ value: String) -> String {
        let input = Array(value.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(input.count)
        var index = 0
        while index < input.count {
            let byte = input[index]
            if byte == UInt8(ascii: "\r"), index + 1 < input.count, input[index + 1] == UInt8(ascii: "\n") {
                index += 1
                continue
            }
            if byte == UInt8(ascii: "\n") {
                let next = index + 1 < input.count ? input[index + 1] : 0
                let folds = (next == UInt8(ascii: " ") || next == UInt8(ascii: "\t")) && !out.isEmpty
                out.append(folds ? UInt8(ascii: "\n") : UInt8(ascii: " "))
            } else if byte < 0x20 && byte != UInt8(ascii: "\t") || byte == 0x7F {
                out.append(UInt8(ascii: " "))
            } else {
                out.append(byte)
            }
            index += 1
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// One line: every control character becomes a space.
    package static func sanitizedLine(_ value: String) -> String {
        String(decoding: value.utf8.map { $0 < 0x20 || $0 == 0x7F ? UInt8(ascii: " ") : $0 }, as: UTF8.self)
    }
}
