import ArgumentParser
import CorrespondentHistory
import Foundation
import MisdirectMilterKit
import MailHistory
import MisdirectionRisk

/// `misdirect-milter history`: the correspondent history the milter learns from delivered mail.
struct HistoryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "history",
        abstract: "Seed, show or forget the correspondent history.",
        discussion: """
            The milter records which recipient domains each sender domain delivers to, per day, \
            in the store the history section names (SQLite or PostgreSQL). A domain written to \
            often enough on enough days is an established correspondent: a look-alike of it is \
            suspicious on first contact (first-contact), and a look-alike that is one itself is \
            lowered (established).
            """,
        subcommands: [HistoryImport.self, HistoryShow.self, HistoryForget.self, HistoryDecisions.self]
    )

    /// The history section, or exit 78 when the configuration has none.
    static func configuration(of engine: Engine, path: String) throws -> HistoryConfiguration {
        guard let history = engine.configuration.history else {
            printError("misdirect-milter: \(path) has no history section")
            throw ExitCode(ExitStatus.config)
        }
        return history
    }

    /// Runs a store call for a command; a store that cannot be reached ends it with 69.
    static func run<T: Sendable>(_ history: HistoryConfiguration, timeout: Duration = .seconds(60), _ body: @escaping @Sendable (any CorrespondentStore) async throws -> T) async throws -> T {
        do {
            return try await HistoryAccess.with(history, timeout: timeout, body)
        } catch {
            printError("misdirect-milter: history (\(history.location)): \(error)")
            throw ExitCode(ExitStatus.unavailable)
        }
    }
}

/// `misdirect-milter history import`: seeds the history from Postfix logs.
struct HistoryImport: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Seed the history from Postfix mail logs (plain or gzip).",
        discussion: """
            Counts each delivered recipient (status=sent) of each message under its envelope \
            sender's domain (from=<…>), on the day of its own status=sent line, as the milter \
            would have. Bounces (from=<>) are skipped, and so are recipients the classifier \
            flags: history learns only from mail nothing flagged, so an old log that holds \
            misdirected mail does not teach it that the look-alike is a correspondent. Syslog \
            time stamps have no year: it is taken from the file's modification time (a December line in a file written in January is from the \
            year before), or from --year. Importing the same log twice counts it twice.
            """
    )

    @OptionGroup var options: ConfigOptions

    @Option(help: "The year of syslog time stamps (Nov 25 19:58:53), instead of the file's.")
    var year: Int?

    @Argument(help: ArgumentHelp("Postfix log files: mail.log, mail.log.1, mail.log.2.gz …", valueName: "path"))
    var paths: [String]

    func run() async throws {
        let engine = try options.loadEngine()
        let history = try HistoryCommand.configuration(of: engine, path: options.path)
        let hasher = history.addresses ? try? AddressHasher.loadOrCreateKey(at: history.addressKeyPath) : nil
        var observations: [Observation] = []
        var messages = 0, recipients = 0
        // Recipients the classifier flags are not learned: a log of a log-only week, or of the
        // years before the milter, holds the look-alikes it is there to stop.
        var skipped: [String: Int] = [:]
        for path in paths {
            let (fileYear, fileMonth, _) = Self.modificationDate(path)
            do {
                var source: any ByteSource = try FileSource.openContent(path).content
                var parser = PostfixLogParser(deliveredOnly: true)
                let add = { (message: ReplayedMessage) in
                    guard let sender = message.sender, case .address(let from) = EmailAddress.parsePath(sender.utf8), !from.isAddressLiteral else { return }
                    // Each delivery on the day of its own status=sent line.
                    var byDomainAndDay: [DomainDay: Set<String>] = [:]
                    for (text, day) in zip(message.recipients, message.stamps) where day != Self.undated {
                        guard case .address(let to) = EmailAddress.parsePath(text.utf8), !to.isAddressLiteral else { continue }
                        let domain = HistorySnapshot.domainKey(to.domain)
                        guard engine.classify(path: .address(to), input: text, history: nil).isLearnable else {
                            skipped[domain, default: 0] += 1
                            continue
                        }
                        byDomainAndDay[DomainDay(domain: domain, day: day), default: []].formUnion(hasher.map { [$0.hash(localPart: to.localPart, domain: domain)] } ?? [])
                        recipients += 1
                    }
                    guard !byDomainAndDay.isEmpty else { return }
                    messages += 1
                    let senderDomain = HistorySnapshot.domainKey(from.domain)
                    for (key, hashes) in byDomainAndDay.sorted(by: { ($0.key.domain, $0.key.day) < ($1.key.domain, $1.key.day) }) {
                        observations.append(Observation(senderDomain: senderDomain, recipientDomain: key.domain, day: key.day, addressHashes: hashes.sorted()))
                    }
                }
                try LineReader.forEachLine(in: &source) { line in
                    var day = Self.undated
                    if let date = LogDate(line: line) { day = date.dayNumber(year: year, fileYear: fileYear, fileMonth: fileMonth) }
                    parser.consume(line, stamp: day, emit: add)
                    return true
                }
                parser.finish(emit: add)
            } catch {
                printError("misdirect-milter: \(error)")
                throw ExitCode(ExitStatus.noInput)
            }
        }
        let batch = observations
        let since = HistoryService.today() - history.service.retentionDays + 1
        let facts = try await HistoryCommand.run(history, timeout: .seconds(600)) { store in
            var start = 0
            while start < batch.count {
                try await store.record(Array(batch[start..<min(start + 5_000, batch.count)]))
                start += 5_000
            }
            return try await store.facts(sinceDay: since)
        }
        HistoryAccess.restoreOwnership(history)
        let snapshot = HistorySnapshot(facts: facts, threshold: history.threshold, typoRatio: history.typoRatio, like: engine.classifier)
        if !skipped.isEmpty {
            let listed = skipped.sorted { ($1.value, $0.key) < ($0.value, $1.key) }.prefix(10).map { "\($0.key) (\($0.value))" }.joined(separator: ", ")
            print("not learned: \(skipped.values.reduce(0, +)) deliveries to \(skipped.count) domain\(skipped.count == 1 ? "" : "s") the classifier flags: \(listed)\(skipped.count > 10 ? ", …" : "")")
        }
        print("imported \(messages) message\(messages == 1 ? "" : "s") to \(recipients) recipient\(recipients == 1 ? "" : "s") into \(history.location)")
        print("history now: \(facts.count) recipient domains known, \(snapshot.establishedDomains.count) established (at least \(history.threshold.messages) messages over \(history.threshold.days) days)")
    }

    /// The stamp of a line without a time stamp the import can read.
    static let undated = Int.min

    private struct DomainDay: Hashable {
        let domain: String
        let day: Int
    }

    /// The year, month and day number the file was last written (now for a pipe), for syslog
    /// time stamps and for lines without any.
    static func modificationDate(_ path: String) -> (year: Int, month: Int, day: Int) {
        var info = stat()
        let seconds = stat(path, &info) == 0 ? Int(info.st_mtim.tv_sec) : Int(Date().timeIntervalSince1970)
        let day = CorrespondentFacts.day(ofUnixTime: seconds)
        let date = CorrespondentFacts.civil(ofDay: day)
        return (date.year, date.month, day)
    }
}

/// `misdirect-milter history show DOMAIN`.
struct HistoryShow: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Show what the history knows about a recipient domain and its sub-domains."
    )

    @OptionGroup var options: ConfigOptions

    @Flag(help: "Print one JSON document.")
    var json = false

    @Argument(help: ArgumentHelp("A recipient domain (partner.ml).", valueName: "domain"))
    var domain: String

    func run() async throws {
        let engine = try options.loadEngine()
        let history = try HistoryCommand.configuration(of: engine, path: options.path)
        let key = HistorySnapshot.domainKey(domain)
        let since = HistoryService.today() - history.service.retentionDays + 1
        let report = history.exists ? try await HistoryCommand.run(history) { store in try await store.report(for: key, sinceDay: since) } : CorrespondentReport()
        let snapshot = HistorySnapshot(facts: report.totals, threshold: history.threshold, typoRatio: history.typoRatio, like: engine.classifier)
        print(json ? Self.json(key, report: report, snapshot: snapshot) : Self.text(key, report: report, snapshot: snapshot, retention: history.service.retentionDays), terminator: "")
    }

    static func text(_ domain: String, report: CorrespondentReport, snapshot: HistorySnapshot, retention: Int) -> String {
        guard let own = report.totals[domain] else {
            if report.totals.isEmpty { return "\(domain): no history (nothing delivered there in the last \(retention) days)\n" }
            return "\(domain): nothing delivered to it directly; its sub-domains:\n" + table(report)
        }
        let state = snapshot.correspondent(for: domain)?.isEstablished == true ? "established correspondent" : "known, not established"
        var text = "\(domain): \(state) (\(own.summary))\n" + table(report)
        for (recipient, count) in report.addresses.sorted(by: { $0.key < $1.key }) {
            text += "  \(recipient): \(count) distinct address\(count == 1 ? "" : "es") (hashed)\n"
        }
        return text
    }

    private static func table(_ report: CorrespondentReport) -> String {
        let header = ["sender domain", "recipient domain", "messages", "days", "first seen", "last seen"]
        let rows = report.rows.map { row in
            [row.senderDomain, row.recipientDomain, "\(row.facts.messages)", "\(row.facts.days)",
             CorrespondentFacts.date(ofDay: row.facts.firstDay), CorrespondentFacts.date(ofDay: row.facts.lastDay)]
        }
        let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
        return ([header] + rows).map { cells in
            "  " + cells.enumerated().map { column, cell in
                let pad = String(repeating: " ", count: widths[column] - cell.count)
                return (2...3).contains(column) ? pad + cell : cell + pad
            }.joined(separator: "  ").trimmingCharacters(in: .whitespaces) + "\n"
        }.joined()
    }

    static func json(_ domain: String, report: CorrespondentReport, snapshot: HistorySnapshot) -> String {
        func facts(_ facts: CorrespondentFacts) -> [String: Any] {
            ["messages": facts.messages, "days": facts.days,
             "first_seen": CorrespondentFacts.date(ofDay: facts.firstDay), "last_seen": CorrespondentFacts.date(ofDay: facts.lastDay)]
        }
        let object: [String: Any] = [
            "domain": domain,
            "established": snapshot.correspondent(for: domain).map { $0.domain == domain && $0.isEstablished } ?? false,
            "totals": report.totals.mapValues(facts),
            "senders": report.rows.map { row in facts(row.facts).merging(["sender_domain": row.senderDomain, "recipient_domain": row.recipientDomain]) { $1 } },
            "addresses": report.addresses,
        ]
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self) + "\n"
    }
}

/// `misdirect-milter history forget DOMAIN`.
struct HistoryForget: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "forget",
        abstract: "Delete everything recorded about a recipient domain and its sub-domains.",
        discussion: "For a look-alike that was learned by mistake, or a request to erase a correspondent. A running milter stops using it at its next refresh (history.refresh_interval)."
    )

    @OptionGroup var options: ConfigOptions

    @Argument(help: ArgumentHelp("A recipient domain (army.ml).", valueName: "domain"))
    var domain: String

    func run() async throws {
        let engine = try options.loadEngine()
        let history = try HistoryCommand.configuration(of: engine, path: options.path)
        let key = HistorySnapshot.domainKey(domain)
        let rows = history.exists ? try await HistoryCommand.run(history) { store in try await store.forget(key) } : 0
        HistoryAccess.restoreOwnership(history)
        print("forgot \(key) and its sub-domains: \(rows) row\(rows == 1 ? "" : "s") deleted from \(history.location)")
    }
}
