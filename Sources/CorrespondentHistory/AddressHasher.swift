import Crypto
import Foundation

/// Turns a recipient address into the keyed hash the store keeps (HMAC-SHA256 with a secret
/// per-install key, hex): whoever reads the store without the key cannot test guessed
/// addresses against it, and the same address always gives the same hash on every MTA that
/// shares the key file.
public struct AddressHasher: Sendable {
    /// The key file's name inside the state directory.
    public static let keyFileName = "address-key"

    private let key: SymmetricKey

    public init(key: [UInt8]) {
        self.key = SymmetricKey(data: key)
    }

    /// The hash of an address; the domain is lower-cased first (the local part is the
    /// receiver's business and stays as written, as in ``EmailAddress``).
    public func hash(localPart: String, domain: String) -> String {
        let code = HMAC<SHA256>.authenticationCode(for: Data("\(localPart)@\(domain.lowercased())".utf8), using: key)
        return code.map { byte in
            let digits = Array("0123456789abcdef".utf8)
            return String(decoding: [digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]], as: UTF8.self)
        }.joined()
    }

    /// Reads the key at `path`, creating it (32 random bytes, mode 0600) when it does not exist.
    public static func loadOrCreateKey(at path: String) throws -> AddressHasher {
        if let data = FileManager.default.contents(atPath: path) {
            guard data.count >= 16 else { throw StoreError("\(path): the address key is shorter than 16 bytes") }
            return AddressHasher(key: Array(data))
        }
        let key = SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) }
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            // Another process may have created it in between.
            if errno == EEXIST, let data = FileManager.default.contents(atPath: path), data.count >= 16 { return AddressHasher(key: Array(data)) }
            throw StoreError("cannot create the address key \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(descriptor) }
        let written = key.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        guard written == key.count else { throw StoreError("cannot write the address key \(path)") }
        return AddressHasher(key: key)
    }
}
