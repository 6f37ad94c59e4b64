import CorrespondentHistory
import Foundation
import Logging
import MisdirectionRisk

/// The `history` section: learn who the organisation really writes to, and use it in the
/// `first-contact` and `established` rules. Nil (the default) when the section is absent.
package struct HistoryConfiguration: Sendable, Equatable {
    /// Where the store is.
    package enum Backend: Sendable, Equatable {
        /// `history.backend: sqlite`: one file, `history.sqlite`, in ``stateDirectory``.
        case sqlite
        /// `history.backend: postgresql`: a server several MTAs share (`history.postgresql`).
        case postgresql(PostgresCorrespondentStore.Settings)
    }

    /// Which delivered mail is recorded.
    package enum Scope: String, Sendable, CaseIterable {
        /// Every message with a sender address (not bounces): right for an MTA that only sends.
        case all
        /// Only messages whose sender authenticated (`{auth_authen}`): an MTA that also
        /// receives mail from the internet records only what its own users send.
        case authenticated
    }

    package static let defaultStateDirectory = "/var/lib/misdirect-milter"

    /// `history.backend`: `sqlite` (the default) or `postgresql`.
    package var backend: Backend = .sqlite
    /// `history.state_directory`: holds the SQLite file and the address key.
    package var stateDirectory = HistoryConfiguration.defaultStateDirectory
    /// `history.record`: `all` (the default) or `authenticated`.
    package var scope: Scope = .all
    /// `history.addresses`: also record each recipient address, as an HMAC-SHA256 under a
    /// per-install key (``addressKeyFile``). Off by default: domains are enough for the rules.
    package var addresses = false
    /// `history.decisions`: record every decision that was not clean (flagged, refused, held,
    /// overridden, log-only "would") for the review console's decisions page and charts. On by
    /// default; kept `retention_days` like the history.
    package var decisions = true
    /// `history.address_key_file`: the secret key of the address hashes; created (0600) when
    /// missing. MTAs sharing a PostgreSQL history should share this file.
    package var addressKeyFile: String?
    /// `history.established`: `{messages: 3, days: 2}`.
    package var threshold = EstablishedThreshold()
    /// `history.typo_ratio`: a learned look-alike is a frequent typo, not a partner, when the
    /// domain it looks like gets this many times its messages (100; 0 turns it off; at most
    /// ``maximumTypoRatio``).
    package var typoRatio = 100
    /// The largest `history.typo_ratio` accepted: larger ones mean "never" anyway.
    package static let maximumTypoRatio = 1_000_000
    /// `history.retention_days`, `history.refresh_interval`, `history.flush_interval`,
    /// `history.timeout`.
    package var service = HistoryService.Settings()

    /// The SQLite file.
    package var sqlitePath: String { "\(stateDirectory)/\(SQLiteCorrespondentStore.fileName)" }

    /// The address key file, given or in the state directory.
    package var addressKeyPath: String { addressKeyFile ?? "\(stateDirectory)/\(AddressHasher.keyFileName)" }

    /// Where the store is, for logs and reports.
    package var location: String {
        switch backend {
        case .sqlite: "sqlite \(sqlitePath)"
        case .postgresql(let settings): "postgresql \(settings.user)@\(settings.host):\(settings.port)/\(settings.database)"
        }
    }

    /// False for a SQLite history whose file was never created (nothing recorded yet).
    package var exists: Bool {
        guard case .sqlite = backend else { return true }
        return FileManager.default.fileExists(atPath: sqlitePath)
    }

    /// Opens the store (nothing is read until it is used).
    package func openStore(logger: Logger) -> any CorrespondentStore {
        switch backend {
        case .sqlite: SQLiteCorrespondentStore(path: sqlitePath)
        case .postgresql(let settings): PostgresCorrespondentStore(settings: settings, logger: logger)
        }
    }

    /// True when a reload cannot apply the change from `old` (the store is opened once).
    package func needsRestart(from old: HistoryConfiguration) -> Bool {
        backend != old.backend || stateDirectory != old.stateDirectory || addresses != old.addresses
            || addressKeyFile != old.addressKeyFile || service != old.service
    }
}
