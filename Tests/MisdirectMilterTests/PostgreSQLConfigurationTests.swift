import CorrespondentHistory
import Foundation
import PostgresHarness
import Testing

import MisdirectMilterKit

/// `history.postgresql`: TLS by default, its files, and secrets nobody else may read.
@Suite
struct PostgreSQLConfigurationTests {
    /// A directory of its own for each test's files.
    let directory: String = {
        let path = FileManager.default.temporaryDirectory.path + "/pg-config-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }()

    func write(_ name: String, _ text: String, mode: mode_t) -> String {
        let path = "\(directory)/\(name)"
        _ = FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
        chmod(path, mode)
        return path
    }

    func settings(_ postgresql: String) throws -> PostgresCorrespondentStore.Settings {
        let configuration = try ConfigurationLoader.parse("history:\n  backend: postgresql\n  postgresql: \(postgresql)\n", file: "p.yml")
        guard case .postgresql(let settings) = try #require(configuration.history).backend else {
            throw NotPostgreSQL()
        }
        return settings
    }

    @Test("TLS is required by default; disable and prefer must be asked for")
    func tlsDefault() throws {
        #expect(try settings("{host: db.example.org}").tls == .require)
        #expect(try settings("{tls: disable}").tls == .disable)
        #expect(try settings("{tls: prefer}").tls == .prefer)
        Self.expectError("{tls: verify}", "p.yml:3: history.postgresql.tls: unknown value \"verify\"; expected require (the default), prefer or disable")
    }

    @Test("a password file its group or others can read is refused with file, line and key; mode 600 is read")
    func passwordFilePermissions() throws {
        let loose = write("loose", "secret\n", mode: 0o640)
        Self.expectError("{password_file: \(loose)}", "p.yml:3: history.postgresql.password_file: \(loose) is mode 640, open to its group or others")
        let worldReadable = write("world", "secret\n", mode: 0o604)
        Self.expectError("{password_file: \(worldReadable)}", "p.yml:3: history.postgresql.password_file: \(worldReadable) is mode 604")
        let tight = write("tight", "secret\n", mode: 0o600)
        #expect(try settings("{password_file: \(tight)}").password == "secret")
    }

    @Test("ca_file and a client certificate with its key are read; each bad file names its key")
    func certificates() throws {
        let ca = write("ca.pem", TestCertificates.ca, mode: 0o644)
        let certificate = write("client.pem", TestCertificates.clientCertificate, mode: 0o644)
        let key = write("client.key", TestCertificates.clientKey, mode: 0o600)
        let loaded = try settings("{ca_file: \(ca), client_certificate: \(certificate), client_key: \(key)}")
        #expect(loaded.caFile == ca && loaded.clientCertificate == certificate && loaded.clientKey == key)

        let notPEM = write("not.pem", "hello\n", mode: 0o644)
        Self.expectError("{ca_file: \(notPEM)}", "p.yml:3: history.postgresql.ca_file: ")
        Self.expectError("{ca_file: /nonexistent/ca.pem}", "p.yml:3: history.postgresql.ca_file: cannot read PEM certificates from /nonexistent/ca.pem")
        Self.expectError("{client_certificate: \(certificate)}", "p.yml:3: history.postgresql.client_certificate: needs client_key")
        Self.expectError("{client_key: \(key)}", "p.yml:3: history.postgresql.client_key: needs client_certificate")
        let looseKey = write("loose.key", TestCertificates.clientKey, mode: 0o640)
        Self.expectError(
            "{client_certificate: \(certificate), client_key: \(looseKey)}",
            "p.yml:3: history.postgresql.client_key: \(looseKey) is mode 640, open to its group or others")
    }

    struct NotPostgreSQL: Error {}

    static func expectError(_ postgresql: String, _ expected: String) {
        ConfigurationLoaderTests.expectError(
            parsing: "history:\n  backend: postgresql\n  postgresql: \(postgresql)\n", file: "p.yml", startingWith: expected)
    }
}
