import Foundation
import HummingbirdBcrypt

/// The console's users file: one `name:bcrypt-hash` line per reviewer, written by
/// `misdirect-milter console passwd`. Read at each sign-in, so a change needs no restart.
package struct ConsoleUsers {
    package let path: String

    package init(path: String) {
        self.path = path
    }

    /// The bcrypt cost of new hashes: about a quarter of a second here, and 2^12 rounds.
    package static let cost: UInt8 = 12

    /// Whether `password` is `name`'s. A missing name still costs one bcrypt check, so the time
    /// of the answer does not tell which names exist.
    package func verify(name: String, password: String) -> Bool {
        let hash = (try? entries())?.first { $0.name == name }?.hash
        let checked = Bcrypt.verify(password, hash: hash ?? Self.decoy)
        return hash != nil && checked
    }

    /// A hash of a random password, made once, checked for unknown names.
    private static let decoy = Bcrypt.hash(UUID().uuidString, cost: cost)

    package func entries() throws -> [(name: String, hash: String)] {
        guard let data = FileManager.default.contents(atPath: path) else {
            if !FileManager.default.fileExists(atPath: path) { return [] }
            throw ConsoleUsersError(description: "cannot read \(path)")
        }
        return String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline).compactMap { line in
            guard !line.hasPrefix("#"), let colon = line.firstIndex(of: ":") else { return nil }
            return (String(line[..<colon]), String(line[line.index(after: colon)...]))
        }
    }

    /// Adds `name` or changes its password (`password` nil: removes it). Writes a new file
    /// beside the old and renames it over, mode 0640, so a reader never sees half a file.
    package func set(name: String, password: String?) throws {
        guard Self.isValidName(name) else {
            throw ConsoleUsersError(description: "\"\(name)\" is not a user name one can use here: letters, digits, . _ - and @, at most 64")
        }
        var lines = try entries().filter { $0.name != name }.map { "\($0.name):\($0.hash)" }
        if let password { lines.append("\(name):\(Bcrypt.hash(password, cost: Self.cost))") }
        let temporary = path + ".new"
        let text = lines.map { $0 + "\n" }.joined()
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0o640)
        guard descriptor >= 0 else { throw ConsoleUsersError(description: "cannot write \(temporary): \(String(cString: strerror(errno)))") }
        let bytes = Array(text.utf8)
        let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        fsync(descriptor)
        close(descriptor)
        guard written == bytes.count, rename(temporary, path) == 0 else {
            unlink(temporary)
            throw ConsoleUsersError(description: "cannot write \(path): \(String(cString: strerror(errno)))")
        }
    }

    package static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 64 && name.utf8.allSatisfy {
            (0x30...0x39).contains($0) || (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0) || [0x2E, 0x5F, 0x2D, 0x40].contains($0)
        }
    }
}

package struct ConsoleUsersError: Error, CustomStringConvertible {
    package let description: String
}
