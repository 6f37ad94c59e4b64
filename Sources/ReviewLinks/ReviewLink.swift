import Crypto
import Foundation

/// What a signed link in a notice asks for: an action on one held message, on behalf of one
/// recipient of the notice, until an expiry.
public struct ReviewLink: Sendable, Equatable {
    /// Release (deliver) or drop (delete) the held message.
    public enum Action: String, Sendable, CaseIterable {
        case release, drop
    }

    public let queueID: String
    public let action: Action
    /// Who the link was sent to: the review mailbox, or the sender of the held message.
    public let recipient: String
    /// Seconds since 1970 after which the link is refused.
    public let expiry: Int

    public init(queueID: String, action: Action, recipient: String, expiry: Int) {
        self.queueID = queueID
        self.action = action
        self.recipient = recipient
        self.expiry = expiry
    }
}

/// Why a link was refused. The description is what the page shows.
public enum LinkRefusal: Error, Sendable, Equatable, CustomStringConvertible {
    /// Not a token this program writes (cut, mangled, or not ours).
    case malformed
    /// The signature does not match: changed, or signed with another key.
    case forged
    case expired
    case used
    case notHeld

    public var description: String {
        switch self {
        case .malformed: return "this link is not one misdirect-milter wrote (it may have been cut when copied)"
        case .forged: return "this link's signature does not match: it was changed, or it was not made here"
        case .expired: return "this link has expired"
        case .used: return "this link has already been used"
        case .notHeld: return "the message is no longer held (it was released or dropped already)"
        }
    }
}

/// Signs and checks link tokens: `PAYLOAD.MAC`, both base64url without padding, where the
/// payload is `v1|queue id|action|recipient|expiry` and the MAC its HMAC-SHA256 under the
/// install's link key. No state: one-use is the console's ledger (``LinkSigner/useID(of:)``).
public struct LinkSigner: Sendable {
    private let key: SymmetricKey
    private static let version = "v1"

    /// The key must be at least 16 bytes (the key file holds 32 random ones).
    public init(key: [UInt8]) {
        precondition(key.count >= 16, "a link key has at least 16 bytes")
        self.key = SymmetricKey(data: key)
    }

    /// The token for `link`, for a URL's query (base64url has no character that needs escaping).
    public func token(for link: ReviewLink) -> String {
        let payload = Array([Self.version, link.queueID, link.action.rawValue, link.recipient, String(link.expiry)].joined(separator: "|").utf8)
        let mac = Array(HMAC<SHA256>.authenticationCode(for: payload, using: key))
        return Self.base64url(payload) + "." + Self.base64url(mac)
    }

    /// The link `token` stands for, when it is well formed, signed with this key and not expired
    /// at `now` (seconds since 1970).
    public func verify(_ token: String, now: Int) -> Result<ReviewLink, LinkRefusal> {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, let payload = Self.bytes(base64url: parts[0]), let mac = Self.bytes(base64url: parts[1]) else {
            return .failure(.malformed)
        }
        guard HMAC<SHA256>.isValidAuthenticationCode(mac, authenticating: payload, using: key) else {
            return .failure(.forged)
        }
        let fields = String(decoding: payload, as: UTF8.self).split(separator: "|", omittingEmptySubsequences: false).map(String.init)
        guard fields.count == 5, fields[0] == Self.version, let action = ReviewLink.Action(rawValue: fields[2]),
              let expiry = Int(fields[4]), !fields[1].isEmpty
        else {
            return .failure(.malformed)
        }
        guard now <= expiry else { return .failure(.expired) }
        return .success(ReviewLink(queueID: fields[1], action: action, recipient: fields[3], expiry: expiry))
    }

    /// What the ledger of used links keeps for a token: its MAC in hex, which no one can turn
    /// back into a working link. Nil for a token that is not `PAYLOAD.MAC`.
    public static func useID(of token: String) -> String? {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, let mac = bytes(base64url: parts[1]) else { return nil }
        return mac.map { String(format: "%02x", $0) }.joined()
    }

    static func base64url(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func bytes(base64url text: Substring) -> [UInt8]? {
        guard !text.isEmpty, text.utf8.allSatisfy({ $0 == 0x2D || $0 == 0x5F || (0x30...0x39).contains($0) || (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0) }) else {
            return nil
        }
        var standard = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        standard += String(repeating: "=", count: (4 - standard.count % 4) % 4)
        // Only the one canonical spelling: the last character's unused bits must be zero, so a
        // token cannot be respelled into another string that checks out the same.
        guard let bytes = Data(base64Encoded: standard).map(Array.init), base64url(bytes) == text else { return nil }
        return bytes
    }
}

/// The link key file: read it, or create it (32 random bytes, mode 0600) the first time.
public enum LinkKey {
    public static func loadOrCreate(at path: String) throws -> [UInt8] {
        if let data = FileManager.default.contents(atPath: path) {
            guard data.count >= 16 else { throw LinkKeyError(description: "\(path): the link key is shorter than 16 bytes") }
            return Array(data)
        }
        let key = SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) }
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard descriptor >= 0 else {
            // Another process (the milter or the console) made it first.
            if errno == EEXIST, let data = FileManager.default.contents(atPath: path), data.count >= 16 { return Array(data) }
            throw LinkKeyError(description: "cannot create the link key \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(descriptor) }
        let written = key.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        guard written == key.count else { throw LinkKeyError(description: "cannot write the link key \(path)") }
        return key
    }
}

public struct LinkKeyError: Error, CustomStringConvertible {
    public let description: String
}
