/// An email address taken from an SMTP path (`<local@domain>`), with its domain normalised
/// for comparison: lower-case, without a trailing dot.
public struct EmailAddress: Sendable, Hashable, CustomStringConvertible {
    /// The local part as written (quotes kept), never lower-cased: it is the receiver's business.
    public let localPart: String
    /// The domain, lower-cased, without a trailing dot; for an address literal, the literal
    /// with its brackets (`[192.0.2.1]`).
    public let domain: String

    public init(localPart: String, domain: String) {
        self.localPart = localPart
        self.domain = domain
    }

    /// True when the domain is an address literal such as `[192.0.2.1]`. By its first octet: as
    /// Characters, `[` and a combining mark after it are one, and `hasPrefix("[")` is false.
    public var isAddressLiteral: Bool { domain.utf8.first == UInt8(ascii: "[") }

    /// `local@domain`.
    public var description: String { "\(localPart)@\(domain)" }

    /// The same local part at another domain: the address a sender probably meant.
    public func replacingDomain(with domain: String) -> EmailAddress {
        EmailAddress(localPart: localPart, domain: domain)
    }
}

/// What an SMTP path argument turned out to be.
public enum ParsedPath: Sendable, Hashable {
    /// A usable address.
    case address(EmailAddress)
    /// The null path `<>` (bounces).
    case null
    /// A bare local name without a domain (`<postmaster>`), which the MTA qualifies itself.
    case localOnly(String)
    /// Bytes that are not an address; the reason says what is wrong.
    case malformed(String)
}

extension EmailAddress {
    /// Parses the address argument of MAIL FROM or RCPT TO as the MTA passes it: with or
    /// without angle brackets, with an optional source route (`<@a,@b:u@d>`, ignored as RFC 5321
    /// says), a quoted local part, a domain, or an address literal.
    ///
    /// Works on bytes, so invalid UTF-8 is seen as such rather than silently repaired. Any
    /// control character (CR, LF, NUL, ...) makes the path malformed.
    /// - Parameter bytes: the argument, without ESMTP parameters.
    public static func parsePath(_ bytes: some Collection<UInt8>) -> ParsedPath {
        var path = Array(bytes)
        if let bad = path.first(where: { $0 < 0x20 || $0 == 0x7F }) {
            return .malformed("control character 0x\(String(bad, radix: 16)) in address")
        }
        guard String(validating: path, as: UTF8.self) != nil else {
            return .malformed("address is not valid UTF-8")
        }
        trimSpaces(&path)
        if path.first == UInt8(ascii: "<") {
            guard path.last == UInt8(ascii: ">"), path.count >= 2 else { return .malformed("unbalanced angle bracket") }
            path = Array(path[1..<(path.count - 1)])
        } else if path.last == UInt8(ascii: ">") {
            return .malformed("unbalanced angle bracket")
        }
        if path.isEmpty { return .null }
        if path.first == UInt8(ascii: "@") {
            // A source route: everything up to the first colon is routing, ignored.
            guard let colon = path.firstIndex(of: UInt8(ascii: ":")) else { return .malformed("source route without colon") }
            path = Array(path[(colon + 1)...])
            if path.isEmpty { return .malformed("source route without mailbox") }
        }
        guard let at = lastUnquotedAt(path) else {
            if path.first == UInt8(ascii: "\"") || path.contains(UInt8(ascii: "@")) {
                return .malformed("unterminated quoted local part")
            }
            return .localOnly(String(decoding: path, as: UTF8.self))
        }
        let local = Array(path[..<at])
        let domainBytes = Array(path[(at + 1)...])
        guard !local.isEmpty else { return .malformed("empty local part") }
        if local.first != UInt8(ascii: "\""), let bad = local.first(where: { unquotedSpecials.contains($0) }) {
            return .malformed("'\(Character(Unicode.Scalar(bad)))' in an unquoted local part")
        }
        switch normalizeDomain(domainBytes) {
        case .success(let domain):
            return .address(EmailAddress(localPart: String(decoding: local, as: UTF8.self), domain: domain))
        case .failure(let problem):
            return .malformed(problem.reason)
        }
    }

    /// Splits `user@domain` or a bare domain given on a command line or in a header.
    /// - Returns: the address, or a domain-only address with an empty local part.
    public static func parseAddressOrDomain(_ text: String) -> ParsedPath {
        if text.contains("@") || text.hasPrefix("<") { return parsePath(text.utf8) }
        switch normalizeDomain(Array(text.utf8)) {
        case .success(let domain): return .address(EmailAddress(localPart: "", domain: domain))
        case .failure(let problem): return .malformed(problem.reason)
        }
    }

    /// Lower-cases a domain, drops one trailing dot and checks RFC 1035 lengths (labels of at
    /// most 63 octets, at most 253 in all, counted after lower-casing) and characters. Address
    /// literals are kept as written. Bytes that are not UTF-8 make the domain unusable.
    public static func normalizeDomain(_ bytes: [UInt8]) -> Result<String, DomainProblem> {
        var domain = bytes
        if domain.first == UInt8(ascii: "[") {
            // RFC 5321 4.1.3: printable ASCII inside, no brackets or backslash. Anything else
            // (a combining mark after the bracket, a second bracket) is no literal, and no name.
            guard domain.last == UInt8(ascii: "]"), domain.count > 2 else { return .failure(DomainProblem("unterminated address literal")) }
            guard domain.dropFirst().dropLast().allSatisfy({ (33...126).contains($0) && $0 != UInt8(ascii: "[") && $0 != UInt8(ascii: "]") && $0 != UInt8(ascii: "\\") })
            else { return .failure(DomainProblem("character not allowed in an address literal")) }
            return .success(asciiLowercased(domain))
        }
        if domain.contains(where: { $0 >= 0x80 }) {
            // Lower-casing can change the length of a non-ASCII name: check what is kept.
            guard let text = String(validating: domain, as: UTF8.self) else { return .failure(DomainProblem("domain is not valid UTF-8")) }
            // Invisible characters (U+200B, U+FEFF, bidi controls) and non-ASCII spaces make a
            // name that looks like another: never a usable domain (IDNA disallows them too).
            if let invisible = text.unicodeScalars.first(where: isInvisible) {
                return .failure(DomainProblem("invisible character U+\(String(invisible.value, radix: 16, uppercase: true).leftPadded(4)) not allowed in a domain"))
            }
            // A combining mark joins the character before it; a label cannot start with one
            // (RFC 5891, 4.2.3.2), and folding look-alikes would leave it empty.
            // By scalar: as Characters, "." and the mark after it are one grapheme.
            if text.unicodeScalars.split(separator: ".").contains(where: { $0.first.map(isMark) == true }) {
                return .failure(DomainProblem("a label starts with a combining mark"))
            }
            domain = Array(text.lowercased().utf8)
        }
        if domain.last == UInt8(ascii: ".") { domain.removeLast() }
        guard !domain.isEmpty else { return .failure(DomainProblem("empty domain")) }
        guard domain.count <= 253 else { return .failure(DomainProblem("domain longer than 253 octets")) }
        var labelLength = 0
        for byte in domain {
            switch byte {
            case UInt8(ascii: "."):
                guard labelLength > 0 else { return .failure(DomainProblem("empty label in domain")) }
                labelLength = 0
                continue
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), 0x80...0xFF:
                labelLength += 1
            default:
                return .failure(DomainProblem("character '\(Character(Unicode.Scalar(byte)))' not allowed in a domain"))
            }
            guard labelLength <= 63 else { return .failure(DomainProblem("label longer than 63 octets")) }
        }
        guard labelLength > 0 else { return .failure(DomainProblem("empty label in domain")) }
        return .success(asciiLowercased(domain))
    }

    private static func isMark(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .nonspacingMark, .spacingMark, .enclosingMark: true
        default: false
        }
    }

    private static func isInvisible(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .control, .format, .spaceSeparator, .lineSeparator, .paragraphSeparator, .unassigned, .privateUse, .surrogate: true
        default: false
        }
    }

    private static func asciiLowercased(_ bytes: [UInt8]) -> String {
        String(decoding: bytes.map { ($0 >= 0x41 && $0 <= 0x5A) ? $0 | 0x20 : $0 }, as: UTF8.self)
    }

    /// Bytes RFC 5321 allows in a local part only inside quotes.
    private static let unquotedSpecials: Set<UInt8> = Set("()<>[]:;@\\,\" ".utf8)

    private static func trimSpaces(_ bytes: inout [UInt8]) {
        while bytes.last == UInt8(ascii: " ") { bytes.removeLast() }
        while bytes.first == UInt8(ascii: " ") { bytes.removeFirst() }
    }

    /// The index of the `@` that separates local part and domain: the last one outside a
    /// quoted string. Nil when there is none or a quote is left open.
    private static func lastUnquotedAt(_ bytes: [UInt8]) -> Int? {
        var inQuotes = false
        var escaped = false
        var found: Int?
        for (index, byte) in bytes.enumerated() {
            if escaped { escaped = false; continue }
            switch byte {
            case UInt8(ascii: "\\") where inQuotes: escaped = true
            case UInt8(ascii: "\""): inQuotes.toggle()
            case UInt8(ascii: "@") where !inQuotes: found = index
            default: break
            }
        }
        return inQuotes ? nil : found
    }
}

/// Why a domain is not usable.
public struct DomainProblem: Error, Sendable, Hashable {
    /// What is wrong, for logs and replies.
    public let reason: String
    init(_ reason: String) { self.reason = reason }
}

extension String {
    /// The string with leading zeros up to `width` characters.
    fileprivate func leftPadded(_ width: Int) -> String {
        String(repeating: "0", count: max(0, width - count)) + self
    }
}
