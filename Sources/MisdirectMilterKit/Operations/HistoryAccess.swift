import CorrespondentHistory
import Foundation
import Logging
import MisdirectionRisk

/// The correspondent store as the commands (`check`, `history …`) use it: opened, prepared,
/// used and closed within one call, each store call bounded by a timeout.
package enum HistoryAccess {
    /// A logger for the store's client that only says what matters.
    package static var quietLogger: Logger {
        Logger(label: "misdirect-milter.history") { _ in MinimumLevelHandler(.error, forwardingTo: Logger(label: "misdirect-milter")) }
    }

    /// Runs `body` with the store, waiting at most `timeout` for each of prepare and `body`.
    package static func with<T: Sendable>(
        _ configuration: HistoryConfiguration, timeout: Duration,
        _ body: @escaping @Sendable (any CorrespondentStore) async throws -> T
    ) async throws -> T {
        let store = configuration.openStore(logger: quietLogger)
        do {
            try await withDeadline(timeout) { try await store.prepare() }
            let result = try await withDeadline(timeout) { try await body(store) }
            await store.close()
            return result
        } catch {
            await store.close()
            throw error
        }
    }

    /// The history `check` decides with, or nil (with a warning on standard error) when none
    /// is configured or the store cannot be read.
    package static func snapshot(for engine: Engine) async -> HistorySnapshot? {
        guard let history = engine.configuration.history else { return nil }
        // Checking creates nothing: no SQLite file yet is no history yet.
        guard history.exists else { return HistorySnapshot(like: engine.classifier) }
        let since = HistoryService.today() - history.service.retentionDays + 1
        do {
            let facts = try await with(history, timeout: max(history.service.timeout, .seconds(5))) { store in
                try await store.facts(sinceDay: since)
            }
            return HistorySnapshot(facts: facts, threshold: history.threshold, typoRatio: history.typoRatio, like: engine.classifier)
        } catch {
            printError("misdirect-milter: history (\(history.location)) cannot be read: \(error); checking without it")
            return nil
        }
    }

    /// After a command wrote to a SQLite history as root: gives the files it may have created
    /// to the owner of the state directory (the user the milter runs as), so the milter can
    /// still write to them.
    package static func restoreOwnership(_ configuration: HistoryConfiguration) {
        guard geteuid() == 0, case .sqlite = configuration.backend else { return }
        var directory = stat()
        guard stat(configuration.stateDirectory, &directory) == 0, directory.st_uid != 0 else { return }
        let path = configuration.sqlitePath
        for file in [path, path + "-wal", path + "-shm", configuration.addressKeyPath] where FileManager.default.fileExists(atPath: file) {
            _ = chown(file, directory.st_uid, directory.st_gid)
        }
    }
}
