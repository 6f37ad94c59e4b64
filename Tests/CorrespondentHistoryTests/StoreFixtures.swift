import CorrespondentHistory
import Foundation
import Logging
import PostgresHarness
import Testing

/// The backends every store test runs against.
enum Backend: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite, postgresql
    var testDescription: String { rawValue }
}

/// One private PostgreSQL server for the suites that use it, started on first use and left to
/// the process's end (Swift Testing has no global teardown; the server's files are in /tmp and
/// it is stopped from an atexit handler).
enum SharedPostgres {
    private static let server: Result<PrivatePostgres, any Error> = {
        do {
            let server = try PrivatePostgres()
            atexit { SharedPostgres.stopAtExit() }
            return .success(server)
        } catch {
            return .failure(error)
        }
    }()

    static func get() throws -> PrivatePostgres { try server.get() }

    private static func stopAtExit() {
        if case .success(let server) = server { server.destroy() }
    }
}

/// A fresh, prepared store for one test: a new SQLite file, or a new PostgreSQL database.
final class StoreFixture: Sendable {
    let backend: Backend
    let location: String
    private let directory: String

    init(_ backend: Backend) throws {
        self.backend = backend
        directory = FileManager.default.temporaryDirectory.path + "/history-test-\(UUID().uuidString)"
        switch backend {
        case .sqlite:
            location = directory + "/history.sqlite"
        case .postgresql:
            let name = "t_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16)
            try SharedPostgres.get().createDatabase(String(name))
            location = String(name)
        }
    }

    /// A new connection (or pool) to the same store.
    func open() throws -> any CorrespondentStore {
        switch backend {
        case .sqlite:
            return SQLiteCorrespondentStore(path: location)
        case .postgresql:
            let server = try SharedPostgres.get()
            var settings = PostgresCorrespondentStore.Settings()
            settings.host = "127.0.0.1"
            settings.port = Int(server.port)
            settings.user = "postgres"
            settings.database = location
            settings.tls = .disable
            return PostgresCorrespondentStore(settings: settings, logger: Logger(label: "test"))
        }
    }

    deinit {
        try? FileManager.default.removeItem(atPath: directory)
    }
}

/// Runs `body` with a prepared store, closing it afterwards.
func withStore(_ backend: Backend, _ body: (any CorrespondentStore, StoreFixture) async throws -> Void) async throws {
    let fixture = try StoreFixture(backend)
    let store = try fixture.open()
    do {
        try await store.prepare()
        try await body(store, fixture)
    } catch {
        await store.close()
        throw error
    }
    await store.close()
}
