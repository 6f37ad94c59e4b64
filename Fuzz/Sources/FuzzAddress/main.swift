// Address parsing: EmailAddress.parsePath (RCPT/MAIL arguments as the MTA passes them),
// parseAddressOrDomain (command line) and normalizeDomain (configuration).
import FuzzSupport
import MisdirectionRisk

fuzz { bytes in
    switch EmailAddress.parsePath(bytes) {
    case .address(let address):
        checkParsed(address, input: bytes)
        // What was parsed parses again to itself.
        let again = EmailAddress.parsePath("<\(address)>".utf8)
        require(again == .address(address), "<\(address)> parses to \(again)", input: bytes)
    case .malformed(let reason):
        require(!reason.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F }, "control character in reason \(reason)", input: bytes)
    case .null, .localOnly:
        break
    }
    _ = EmailAddress.parseAddressOrDomain(String(decoding: bytes, as: UTF8.self))
    if case .success(let domain) = EmailAddress.normalizeDomain(Array(bytes)) {
        require(EmailAddress.normalizeDomain(Array(domain.utf8)) == .success(domain), "normalising \(domain) again changes it", input: bytes)
    }
}

func checkParsed(_ address: EmailAddress, input: UnsafeRawBufferPointer) {
    let domain = Array(address.domain.utf8)
    require(!address.localPart.isEmpty, "empty local part", input: input)
    require(!(address.localPart + address.domain).utf8.contains { $0 < 0x20 || $0 == 0x7F }, "control character kept", input: input)
    guard !address.isAddressLiteral else { return }
    require(!domain.contains { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") }, "upper case kept in \(address.domain)", input: input)
    require(domain.last != UInt8(ascii: "."), "trailing dot kept", input: input)
    require(domain.count <= 253, "domain of \(domain.count) octets", input: input)
    for label in domain.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false) {
        require(!label.isEmpty && label.count <= 63, "label of \(label.count) octets in \(address.domain)", input: input)
    }
}
