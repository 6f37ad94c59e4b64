import ArgumentParser
import CorrespondentHistory
import Foundation
import MisdirectMilterKit
import MisdirectionRisk

/// `misdirect-milter check`: classifies addresses or domains without any MTA.
struct Check: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Classify addresses or domains as the milter would.",
        discussion: """
            Reads them from the arguments, or one per line from standard input when none are given. \
            With --message, reads an RFC 5322 message instead: its To, Cc and Bcc recipients are \
            classified with the context of its headers (other recipients, sender, display names, \
            Reply-To, protective markings, attachments), as the milter does at end of message. \
            With history configured, the correspondent history is read first (first-contact, \
            established); if the store cannot be read, the check goes on without it.
            """
    )

    @OptionGroup var options: ConfigOptions

    @Flag(help: "Print one JSON object per line.")
    var json = false

    @Option(help: ArgumentHelp("An RFC 5322 message file to check as a whole.", valueName: "file"))
    var message: String?

    @Flag(help: "Do not read the correspondent history, even when configured.")
    var noHistory = false

    @Argument(help: ArgumentHelp("Addresses (user@domain) or bare domains.", valueName: "address"))
    var addresses: [String] = []

    func validate() throws {
        if message != nil && !addresses.isEmpty {
            throw ValidationError("give either addresses or --message, not both")
        }
    }

    func run() async throws {
        let engine = try options.loadEngine()
        let history = noHistory ? nil : await HistoryAccess.snapshot(for: engine)
        if let message {
            let text: String
            do {
                text = try String(contentsOfFile: message, encoding: .utf8)
            } catch {
                printError("misdirect-milter: \(message): cannot read the message")
                throw ExitCode(ExitStatus.noInput)
            }
            for (input, decision) in CheckReport.decisions(forMessage: text, engine: engine, history: history) {
                print(output(input: input, decision: decision, history: history))
            }
            return
        }
        let inputs = addresses.isEmpty ? StandardInputLines() : AnySequence(addresses)
        for raw in inputs {
            let input = raw.trimmingCharacters(in: .whitespaces)
            if input.isEmpty || input.hasPrefix("#") { continue }
            let verdict = engine.classify(path: EmailAddress.parseAddressOrDomain(input), input: input, history: history)
            print(output(input: input, decision: engine.policy.decide(verdict), history: history))
        }
    }

    private func output(input: String, decision: Decision, history: HistorySnapshot?) -> String {
        guard json else { return CheckReport.line(input: input, decision: decision) }
        var report = CheckReport(input: input, decision: decision)
        if let history {
            report.history = .some(CheckReport.HistoryReport(decision.verdict.address.flatMap { history.correspondent(for: HistorySnapshot.domainKey($0.domain)) }))
        }
        return report.jsonLine()
    }
}

/// Lines of standard input, read lazily.
func StandardInputLines() -> AnySequence<String> {
    AnySequence { AnyIterator { readLine(strippingNewline: true) } }
}
