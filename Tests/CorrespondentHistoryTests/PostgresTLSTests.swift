import CorrespondentHistory
import Foundation
import Logging
import PostgresHarness
import Testing

/// TLS to PostgreSQL: `require` (the default) never falls back to plain TCP and trusts only a
/// certificate chained to `ca_file` that names the host.
@Suite(.serialized)
struct PostgresTLSTests {
    /// A CA and a server certificate it signed for 127.0.0.1 (P-256, valid until 2126).
    static let ca = """
        -----BEGIN CERTIFICATE-----
        MIIBnzCCAUWgAwIBAgIUD16EIagje0KReEh2OyUnPLHa1oAwCgYIKoZIzj0EAwIw
        HDEaMBgGA1UEAwwRbWlzZGlyZWN0IHRlc3QgQ0EwIBcNMjYxMjA1MDgxMDUzWhgP
        MjEyNjExMTEwODEwNTNaMBwxGjAYBgNVBAMMEW1pc2RpcmVjdCB0ZXN0IENBMFkw
        EwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEkRelSBKRk56oLY8fivRQLi/3EI8czyi0
        0h0E9r/M/PJICnIqKkXKzaCd2J+trUFXw1ni9PcMXo4+spPattH5qaNjMGEwHQYD
        VR0OBBYEFHriQgWFClXFQ1IqsKxmb4in3giEMB8GA1UdIwQYMBaAFHriQgWFClXF
        Q1IqsKxmb4in3giEMA8GA1UdEwEB/wQFMAMBAf8wDgYDVR0PAQH/BAQDAgEGMAoG
        CCqGSM49BAMCA0gAMEUCIQCs86NSSvh6FLSeR9jdetj4UvmIpCOYDad1CvmZ4cBB
        ZAIgOwf2sG6Ymf9Q7dMJFup1PmHFfbIXhjhZX82bVYoWQMw=
        -----END CERTIFICATE-----

        """
    static let serverCertificate = """
        -----BEGIN CERTIFICATE-----
        MIIBsTCCAVigAwIBAgIUM7POZ1+AX6noNqxCGwTOWLFbrcgwCgYIKoZIzj0EAwIw
        HDEaMBgGA1UEAwwRbWlzZGlyZWN0IHRlc3QgQ0EwIBcNMjYxMjA1MDgxMDUzWhgP
        MjEyNjExMTEwODEwNTNaMBQxEjAQBgNVBAMMCTEyNy4wLjAuMTBZMBMGByqGSM49
        AgEGCCqGSM49AwEHA0IABGXuwQK+vvCzLpfm9ieKGyhiHtF26WF1sRNR/aJ7wYOu
        oeUkVYEaigowJPQ95viiKrmNY1LNHuvdd5bUSxlnSqSjfjB8MBoGA1UdEQQTMBGH
        BH8AAAGCCWxvY2FsaG9zdDAJBgNVHRMEAjAAMBMGA1UdJQQMMAoGCCsGAQUFBwMB
        MB0GA1UdDgQWBBTes3zdyl1AzOvfSxeYnmlceZ0JATAfBgNVHSMEGDAWgBR64kIF
        hQpVxUNSKrCsZm+Ip94IhDAKBggqhkjOPQQDAgNHADBEAiA1RF1g0MjgA99T+Qsc
        mkJ2ng5zI625mdmlQ5izN73vngIgXPzas+nhIKzoFHwM3abvDuuw1Jrh9EgBDDEJ
        uDJD1Lk=
        -----END CERTIFICATE-----

        """
    static let serverKey = """
        -----BEGIN PRIVATE KEY-----
        MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg3TcuQzsJwd6Wrr2d
        lH2wzXHwNgtOdXERyQmkCIgqY+KhRANCAARl7sECvr7wsy6X5vYnihsoYh7Rdulh
        dbETUf2ie8GDrqHlJFWBGooKMCT0Peb4oiq5jWNSzR7r3XeW1EsZZ0qk
        -----END PRIVATE KEY-----

        """
    /// Another CA's self-signed certificate, which signed nothing the server shows.
    static let otherCA = """
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

    /// A client certificate (CN postgres) the same CA signed, and its key.
    static let clientCertificate = """
        -----BEGIN CERTIFICATE-----
        MIIBlDCCATugAwIBAgIUM7POZ1+AX6noNqxCGwTOWLFbrckwCgYIKoZIzj0EAwIw
        HDEaMBgGA1UEAwwRbWlzZGlyZWN0IHRlc3QgQ0EwIBcNMjYxMjA1MDgxOTIzWhgP
        MjEyNjExMTEwODE5MjNaMBMxETAPBgNVBAMMCHBvc3RncmVzMFkwEwYHKoZIzj0C
        AQYIKoZIzj0DAQcDQgAE2sjVZIkbyd9xHf7Rt42yMF713rqkP77suvCnNgNcSMFu
        5xIgcF9QchdGLhFYyRilNj4zhmnEH1vlN0BdEjRVM6NiMGAwCQYDVR0TBAIwADAT
        BgNVHSUEDDAKBggrBgEFBQcDAjAdBgNVHQ4EFgQUtfBVjCxoR+Bh1o/C+OnpYYTy
        398wHwYDVR0jBBgwFoAUeuJCBYUKVcVDUiqwrGZviKfeCIQwCgYIKoZIzj0EAwID
        RwAwRAIgDJpHWzTRbNZP5GgzdBLDCRNso9TgsLvyLCXYZKe9NJwCIDbwAnnNVXZM
        0hdlhNlOFqwQvGaAwj1ARpZyR/n69Y3V
        -----END CERTIFICATE-----

        """
    static let clientKey = """
        -----BEGIN PRIVATE KEY-----
        MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg57Ekuy32BmynQkSR
        piSGAB5zL7+Rd2vGRChJBtKcD8ahRANCAATayNVkiRvJ33Ed/tG3jbIwXvXeuqQ/
        vuy68Kc2A1xIwW7nEiBwX1ByF0YuEVjJGKU2PjOGacQfW+U3QF0SNFUz
        -----END PRIVATE KEY-----

        """

    /// Whether preparing a store on `server` with `configure`'s settings succeeds within
    /// `within`. The pool retries a refused handshake instead of reporting it, so only the
    /// deadline ends a refusal: checks expected to fail use a short one, after a check on the
    /// same server that connected (a busy machine may make them pass wrongly, never fail).
    static func connects(
        to server: PrivatePostgres, within: Duration = .seconds(180), _ configure: (inout PostgresCorrespondentStore.Settings) -> Void
    ) async -> Bool {
        var settings = PostgresCorrespondentStore.Settings()
        settings.host = "127.0.0.1"
        settings.port = Int(server.port)
        settings.user = "postgres"
        settings.database = "postgres"
        configure(&settings)
        let store = PostgresCorrespondentStore(settings: settings, logger: Logger(label: "test"))
        defer { Task { await store.close() } }
        do {
            try await withDeadline(within) { try await store.prepare() }
            return true
        } catch {
            return false
        }
    }

    static func file(_ name: String, _ text: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.path + "/tls-\(UUID().uuidString)-\(name)"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test("require, the default, refuses a server that offers no TLS; prefer falls back to plain TCP")
    func requireDoesNotFallBack() async throws {
        let plain = try SharedPostgres.get()
        #expect(PostgresCorrespondentStore.Settings().tls == .require)
        #expect(await Self.connects(to: plain) { $0.tls = .disable })
        #expect(await Self.connects(to: plain) { $0.tls = .prefer })
        #expect(await !Self.connects(to: plain, within: .seconds(5)) { _ in }, "connected in plain TCP although TLS is required")
    }

    @Test("require trusts a server certificate signed by ca_file, not one another CA signed, nor a private CA by default")
    func requireVerifies() async throws {
        let server = try PrivatePostgres(tls: (Self.serverCertificate, Self.serverKey))
        defer { server.destroy() }
        let ca = try Self.file("ca.pem", Self.ca)
        let other = try Self.file("other.pem", Self.otherCA)
        #expect(await Self.connects(to: server) { $0.caFile = ca })
        #expect(await !Self.connects(to: server, within: .seconds(5)) { $0.caFile = other }, "trusted a certificate another CA signed")
        #expect(await !Self.connects(to: server, within: .seconds(5)) { _ in }, "trusted a private CA's certificate with the system's roots")
    }

    @Test("a server that asks for a client certificate accepts client_certificate and client_key, and nothing without them")
    func clientCertificate() async throws {
        let server = try PrivatePostgres(tls: (Self.serverCertificate, Self.serverKey), clientCA: Self.ca)
        defer { server.destroy() }
        let ca = try Self.file("ca.pem", Self.ca)
        let certificate = try Self.file("client.pem", Self.clientCertificate)
        let key = try Self.file("client.key", Self.clientKey)
        #expect(await Self.connects(to: server) { $0.caFile = ca; $0.clientCertificate = certificate; $0.clientKey = key })
        #expect(await !Self.connects(to: server, within: .seconds(5)) { $0.caFile = ca }, "connected without a client certificate")
    }
}
