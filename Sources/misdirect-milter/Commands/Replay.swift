import ArgumentParser
import Foundation
import MisdirectMilterKit
import MailHistory
import MisdirectionRisk
import ReviewConsole

/// `misdirect-milter replay`: runs the current policy over past traffic without touching mail.
struct Replay: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the policy over past traffic and report what it would have done.",
        discussion: """
            Reads Postfix mail logs (plain or gzip-rotated: mail.log, mail.log.2.gz; the to=<…> \
            lines of the delivery agents, grouped by queue id) and stored messages (.eml files, \
            mbox files, Maildir folders: recipients from To, Cc and Bcc). Each file's kind is \
            recognised from its content; --format forces one; - reads standard input (a pipe from \
            journalctl or zcat). Input with no message in it fails with exit status 65. Nothing is \
            sent or changed. Memory \
            stays bounded whatever the size of the input. A progress bar is drawn on standard \
            error when it is a terminal.
            """
    )

    typealias Format = ReplayFormat

    @OptionGroup var options: ConfigOptions

    @Flag(help: "Print the report as one JSON document.")
    var json = false

    @Option(help: "How to read each file: auto, postfix-log, message or mbox.")
    var format: Format = .auto

    @Option(help: "How many suspicious domains to list.")
    var top = 20

    @Option(help: ArgumentHelp(
        "Also write the report with its charts (per day by level and rule, top look-alike domains, what enforce would have refused) as one self-contained HTML file.",
        valueName: "file"))
    var html: String?

    @Option(help: "The year of syslog time stamps (Nov 25 19:58:53), instead of the file's.")
    var year: Int?

    @Argument(help: ArgumentHelp("Log files, message files, mbox files, Maildir folders or folders of .eml files; - for standard input.", valueName: "path"))
    var paths: [String]

    func validate() throws {
        guard top >= 0 else { throw ValidationError("--top must be 0 or more") }
    }

    func run() throws {
        let engine = try options.loadEngine()
        var report = ReplayReport(configurationPath: options.path, mode: engine.policy.mode)
        let files = paths.flatMap(Self.expand)
        guard !files.isEmpty else {
            printError("misdirect-milter: nothing to read in \(paths.joined(separator: " "))")
            throw ExitCode(66)  // EX_NOINPUT
        }
        let progress = Progress(totalBytes: files.reduce(0) { $0 + Self.fileSize($1) })
        for file in files {
            do {
                try read(file, into: &report, engine: engine, progress: progress)
            } catch {
                printError("misdirect-milter: \(error)")
                report.sources.append(.init(path: file, format: "unreadable", bytes: 0, error: "\(error)"))
            }
        }
        progress.finish()
        if report.sources.allSatisfy({ $0.format == "unreadable" }) { throw ExitCode(66) }  // EX_NOINPUT
        print(json ? report.json(top: top) : report.text(top: top), terminator: json ? "\n" : "")
        if let html { try write(report, html: html) }
        guard report.messages > 0 else {
            printError("""
                misdirect-milter: replay found no messages in \(paths.joined(separator: " ")): expected Postfix mail \
                logs (to=<…> lines), messages, mbox files or Maildir folders
                """)
            throw ExitCode(65)  // EX_DATAERR
        }
    }

    /// The report and its charts as one HTML file (`--html`), written whole or not at all.
    private func write(_ report: ReplayReport, html path: String) throws {
        let today = CorrespondentFacts.day(ofUnixTime: Int(Date().timeIntervalSince1970))
        // At most two years of bars: a stray old stamp would squeeze the rest to nothing.
        let seen = report.summary.days ?? today...today
        let days = max(seen.lowerBound, seen.upperBound - 730)...seen.upperBound
        let lead = "The policy of \(options.path) (mode \(report.mode)) over \(ReplayReport.number(report.messages)) messages to "
            + "\(ReplayReport.number(report.recipients)) recipients read from \(report.sources.map(\.path).joined(separator: ", ")): "
            + "\(ReplayReport.number(report.summary.totals("outcome").reduce(0) { $0 + $1.recipients })) recipients flagged, "
            + "\(CorrespondentFacts.date(ofDay: days.lowerBound)) to \(CorrespondentFacts.date(ofDay: days.upperBound))."
        let document = DecisionReport(summary: report.summary, days: days).document(title: "misdirect-milter replay", lead: lead)
        do {
            try Data(document.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            printError("misdirect-milter: cannot write \(path): \(error.localizedDescription)")
            throw ExitCode(73)  // EX_CANTCREAT
        }
    }

    private func read(_ path: String, into report: inout ReplayReport, engine: Engine, progress: Progress) throws {
        // The kind comes from the first line of the (inflated) content; the bytes looked at are
        // read again, so a pipe (`-`, /dev/stdin) loses nothing.
        let (content, compressed) = try FileSource.openContent(path)
        let firstLine = format == .auto ? Array(content.peek(4096).prefix { $0 != 0x0A }) : []
        let kind = format == .auto ? ReplayFormat.sniff(firstLine, path: path) : format
        let bytes = Self.fileSize(path)
        var entry = ReplayReport.Source(path: path, format: kind.rawValue + (compressed ? ", gzip" : ""), bytes: bytes)
        let messagesBefore = report.messages
        // Charts count a log line on its own day; a message without one on the file's.
        let fileDate = HistoryImport.modificationDate(path)
        let fileDay = fileDate.day
        var source: any ByteSource = content
        var lines = 0
        var collected = report
        defer { report = collected }
        do {
            switch kind {
            case .postfixLog, .auto:
                var parser = PostfixLogParser()
                try LineReader.forEachLine(in: &source) { line in
                    let stamp = LogDate(line: line)?.dayNumber(year: year, fileYear: fileDate.year, fileMonth: fileDate.month)
                    parser.consume(line, stamp: stamp ?? fileDay) { collected.add($0, engine: engine, day: fileDay) }
                    lines += 1
                    if lines & 0x3FFF == 0 { progress.update(doneBytes: content.fileBytesRead, messages: collected.messages) }
                    return true
                }
                parser.finish { collected.add($0, engine: engine, day: fileDay) }
            case .message, .mbox:
                var parser = StoredMessageParser(framing: kind == .mbox ? .mbox : .single, name: path)
                try LineReader.forEachLine(in: &source) { line in
                    parser.consume(line) { collected.add($0, engine: engine, day: fileDay) }
                    lines += 1
                    if lines & 0x3FFF == 0 { progress.update(doneBytes: content.fileBytesRead, messages: collected.messages) }
                    return parser.wantsMoreLines
                }
                parser.finish { collected.add($0, engine: engine, day: fileDay) }
            }
        } catch {
            entry.error = "\(error)"
            printError("misdirect-milter: \(error)")
        }
        progress.completeFile(bytes)
        if entry.bytes == 0 { entry.bytes = content.fileBytesRead }  // a pipe has no size until read
        entry.messages = collected.messages - messagesBefore
        collected.sources.append(entry)
    }

    /// A file as itself; a folder as its files (a Maildir's cur/ and new/, or every file below).
    static func expand(_ path: String) -> [String] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { return [path] }
        guard isDirectory.boolValue else { return [path] }
        let maildir = ["cur", "new"].map { "\(path)/\($0)" }.filter { FileManager.default.fileExists(atPath: $0) }
        let roots = maildir.isEmpty ? [path] : maildir
        var files: [String] = []
        for root in roots {
            guard let walker = FileManager.default.enumerator(atPath: root) else { continue }
            for case let relative as String in walker {
                let full = "\(root)/\(relative)"
                var directory: ObjCBool = false
                if FileManager.default.fileExists(atPath: full, isDirectory: &directory), !directory.boolValue,
                   !relative.split(separator: "/").contains(where: { $0.hasPrefix(".") }) {
                    files.append(full)
                }
            }
        }
        return files.sorted()
    }

    static func fileSize(_ path: String) -> Int {
        var info = stat()
        return stat(path, &info) == 0 ? Int(info.st_size) : 0
    }
}

extension ReplayFormat: ExpressibleByArgument {}

/// A progress bar on standard error, drawn only when it is a terminal, at most 5 times a second.
final class Progress {
    private let totalBytes: Int
    private let enabled: Bool
    private var completedFiles = 0
    private var lastDraw = ContinuousClock.now
    private var drawn = false

    init(totalBytes: Int, enabled: Bool = isatty(2) == 1) {
        self.totalBytes = max(totalBytes, 1)
        self.enabled = enabled
    }

    func update(doneBytes: Int, messages: Int) {
        guard enabled, ContinuousClock.now - lastDraw > .milliseconds(200) else { return }
        lastDraw = .now
        let done = min(completedFiles + doneBytes, totalBytes)
        let fraction = Double(done) / Double(totalBytes)
        let width = 30
        let filled = Int(fraction * Double(width))
        let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
        let line = "\rreplay [\(bar)] \(String(format: "%3.0f%%", fraction * 100)) \(ReplayReport.size(done)) of \(ReplayReport.size(totalBytes)), \(ReplayReport.number(messages)) messages"
        LogSink.writeStandardError(line)
        drawn = true
    }

    func completeFile(_ bytes: Int) { completedFiles += bytes }

    func finish() {
        if enabled && drawn { LogSink.writeStandardError("\r\u{1B}[K") }
    }
}
