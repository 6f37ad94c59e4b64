import CorrespondentHistory
import Foundation
import Logging
import PostgresHarness
import Testing

/// TLS to PostgreSQL: `require` (the default) never falls back to plain TCP and trusts only a
/// certificate chained to `ca_file` that names the host.
@Suite(.serialized)
struct PostgresTLSTests {
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
        let connected: Bool
        do {
            try await withDeadline(within) { try await store.prepare() }
            connected = true
        } catch {
            connected = false
        }
        // Closed before the next check starts, so no connection outlives its test.
        await store.close()
        return connected
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
        let server = try PrivatePostgres(tls: (TestCertificates.serverCertificate, TestCertificates.serverKey))
        defer { server.destroy() }
        let ca = try Self.file("ca.pem", TestCertificates.ca)
        let other = try Self.file("other.pem", TestCertificates.otherCA)
        #expect(await Self.connects(to: server) { $0.caFile = ca })
        #expect(await !Self.connects(to: server, within: .seconds(5)) { $0.caFile = other }, "trusted a certificate another CA signed")
        #expect(await !Self.connects(to: server, within: .seconds(5)) { _ in }, "trusted a private CA's certificate with the system's roots")
    }

    @Test("a server that asks for a client certificate accepts client_certificate and client_key, and nothing without them")
    func clientCertificate() async throws {
        let server = try PrivatePostgres(tls: (TestCertificates.serverCertificate, TestCertificates.serverKey), clientCA: TestCertificates.ca)
        defer { server.destroy() }
        let ca = try Self.file("ca.pem", TestCertificates.ca)
        let certificate = try Self.file("client.pem", TestCertificates.clientCertificate)
        let key = try Self.file("client.key", TestCertificates.clientKey)
        #expect(await Self.connects(to: server) { $0.caFile = ca; $0.clientCertificate = certificate; $0.clientKey = key })
        #expect(await !Self.connects(to: server, within: .seconds(5)) { $0.caFile = ca }, "connected without a client certificate")
    }
}
