import Foundation
import Locking
import Logging
import MisdirectMilterKit

/// The links already used: one line `MAC-HEX EXPIRY` each, appended and synced before the
/// action runs, so a link works once even across restarts. Lines of expired links are dropped
/// when the file is read at start (an expired link is refused anyway).
package final class LinkLedger: Sendable {
    private let path: String
    private let used: LockedValue<[String: Int]>

    package init(path: String, now: Int) throws {
        self.path = path
        var used: [String: Int] = [:]
        if let data = FileManager.default.contents(atPath: path) {
            for line in String(decoding: data, as: UTF8.self).split(separator: "\n") {
                let fields = line.split(separator: " ")
                if fields.count == 2, let expiry = Int(fields[1]), expiry >= now { used[String(fields[0])] = expiry }
            }
        }
        self.used = LockedValue(used)
        try rewrite(used)
    }

    package func isUsed(_ id: String) -> Bool {
        used.withLock { $0[id] != nil }
    }

    /// Marks the link used; false when it already was. Throws when the ledger cannot be written:
    /// then the link is not used, and nothing is done.
    package func claim(_ id: String, expiry: Int) throws -> Bool {
        try used.withLock { used in
            guard used[id] == nil else { return false }
            try append("\(id) \(expiry)\n")
            used[id] = expiry
            return true
        }
    }

    private func append(_ line: String) throws {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_APPEND, 0o600)
        guard descriptor >= 0 else { throw LedgerError(description: "cannot write \(path): \(String(cString: strerror(errno)))") }
        defer { close(descriptor) }
        let bytes = Array(line.utf8)
        guard bytes.withUnsafeBytes({ write(descriptor, $0.baseAddress, $0.count) }) == bytes.count, fsync(descriptor) == 0 else {
            throw LedgerError(description: "cannot write \(path): \(String(cString: strerror(errno)))")
        }
    }

    private func rewrite(_ used: [String: Int]) throws {
        let temporary = path + ".new"
        let text = used.map { "\($0.key) \($0.value)\n" }.joined()
        guard FileManager.default.createFile(atPath: temporary, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600]),
              rename(temporary, path) == 0
        else {
            throw LedgerError(description: "cannot write \(path): \(String(cString: strerror(errno)))")
        }
    }
}

package struct LedgerError: Error, CustomStringConvertible {
    package let description: String
}

/// The console's audit log: one logfmt line per sign-in, release, drop and link use, with who,
/// from where, and the outcome (the milter's own logfmt). Each line is appended and synced, and
/// also goes to the console's logger (syslog by default).
package final class AuditLog: Sendable {
    private let path: String
    private let logger: Logger
    private let lock = LockedValue(())

    package init(path: String, logger: Logger) {
        self.path = path
        self.logger = logger
    }

    /// Whether the file can be appended to: checked at start, so the console refuses to run
    /// rather than act without a record.
    package func check() throws {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_APPEND, 0o640)
        guard descriptor >= 0 else { throw LedgerError(description: "cannot write the audit log \(path): \(String(cString: strerror(errno)))") }
        close(descriptor)
    }

    package func record(_ event: String, _ metadata: Logger.Metadata) {
        logger.notice("\(event)", metadata: metadata)
        let line = LineLogHandler.format(.logfmt, level: .notice, label: "misdirect-milter-console", message: event, metadata: metadata, timestamp: true) + "\n"
        let written: Bool = lock.withLock { _ in
            let descriptor = open(path, O_WRONLY | O_CREAT | O_APPEND, 0o640)
            guard descriptor >= 0 else { return false }
            defer { close(descriptor) }
            let bytes = Array(line.utf8)
            return bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) } == bytes.count && fsync(descriptor) == 0
        }
        if !written { logger.error("cannot write the audit log", metadata: ["file": "\(path)", "error": "\(String(cString: strerror(errno)))"]) }
    }
}
