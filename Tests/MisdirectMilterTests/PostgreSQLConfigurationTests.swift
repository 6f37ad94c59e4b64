import CorrespondentHistory
import Foundation
import Testing

@testable import misdirect_milter

/// `history.postgresql`: TLS by default, its files, and secrets nobody else may read.
@Suite
struct PostgreSQLConfigurationTests {
    /// A self-signed certificate and its key (P-256, valid until 2126), for files that must parse.
    static let certificate = """
        -----BEGIN CERTIFICATE-----
        MIIBiTCCAS+gAwIBAgIUHB5mFl7e8gl3mIFv8tOjulgvsLIwCgYIKoZIzj0EAwIw
        GTEXMBUGA1UEAwwObWlzZGlyZWN0LXRlc3QwIBcNMjYxMjA1MDgwMTM4WhgPMjEy
        NjExMTEwODAxMzhaMBkxFzAVBgNVBAMMDm1pc2RpcmVjdC10ZXN0MFkwEwYHKoZI
        zj0CAQYIKoZIzj0DAQcDQgAETK5RfvNwMeq8poV2d+dwhlSUh9SE45AQriMygkJH
        1u1V9eP1/WD/b93qvvUu0MUbOUuPmDr6GlRBAU4fcQGqfaNTMFEwHQYDVR0OBBYE
        FD7BVeQySKgv03pLFuD7/N6tybNuMB8GA1UdIwQYMBaAFD7BVeQySKgv03pLFuD7
        /N6tybNuMA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZIzj0EAwIDSAAwRQIgUPvZHFxf
        8LflBn8QMDqeCJyUiN6B/UbjiIxyQT6sWv4CIQDzZB+AohOslx1bOfCezIrTSSVO
        zYB/3j2sKzO/DAd0DA==
        -----END CERTIFICATE-----

        """
    static let key = """
        -----BEGIN PRIVATE KEY-----
        MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgOc3qxd6Myb+oTSX1
        c0zCfe8uZpzMTUuwIGuojHsiyHahRANCAARMrlF+83Ax6rymhXZ353CGVJSH1ITj
        kBCuIzKCQkfW7VX14/X9YP9v3eq+9S7QxRs5S4+YOvoaVEEBTh9xAap9
        -----END PRIVATE KEY-----

        """

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
        let ca = write("ca.pem", Self.certificate, mode: 0o644)
        let certificate = write("client.pem", Self.certificate, mode: 0o644)
        let key = write("client.key", Self.key, mode: 0o600)
        let loaded = try settings("{ca_file: \(ca), client_certificate: \(certificate), client_key: \(key)}")
        #expect(loaded.caFile == ca && loaded.clientCertificate == certificate && loaded.clientKey == key)

        let notPEM = write("not.pem", "hello\n", mode: 0o644)
        Self.expectError("{ca_file: \(notPEM)}", "p.yml:3: history.postgresql.ca_file: ")
        Self.expectError("{ca_file: /nonexistent/ca.pem}", "p.yml:3: history.postgresql.ca_file: cannot read PEM certificates from /nonexistent/ca.pem")
        Self.expectError("{client_certificate: \(certificate)}", "p.yml:3: history.postgresql.client_certificate: needs client_key")
        Self.expectError("{client_key: \(key)}", "p.yml:3: history.postgresql.client_key: needs client_certificate")
        let looseKey = write("loose.key", Self.key, mode: 0o640)
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
