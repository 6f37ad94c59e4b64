import Foundation
import MisdirectMilterKit

/// The hold queue as the console sees it. The console never touches Postfix itself:
/// ``HeldCommand`` runs `misdirect-milter held` (through sudo in the package) for each step.
package protocol HeldQueue: Sendable {
    func list() async throws -> [HeldEntry]
    func show(_ queueID: String) async throws -> HeldDetail
    func release(_ queueID: String) async throws
    func drop(_ queueID: String) async throws
}

/// A held message as `held list --json` prints it, and in full as `held show --json` does: the
/// types `held` writes them with.
package typealias HeldEntry = PostfixQueue.HeldMessage
package typealias HeldDetail = PostfixQueue.HeldMessageDetail

package struct HeldCommandFailure: Error, CustomStringConvertible {
    package let description: String
}

/// Runs the configured `held` command: `COMMAND list --json`, `COMMAND show --json ID`,
/// `COMMAND release ID`, `COMMAND drop ID`. No shell; each on a thread of its own, since the
/// command waits on Postfix's tools.
package struct HeldCommand: HeldQueue {
    package let command: [String]

    package init(command: [String]) {
        self.command = command
    }

    package func list() async throws -> [HeldEntry] {
        try Self.entries(listed: try await run(["list", "--json"]))
    }

    /// The entries of `held list --json` output, one JSON object a line.
    package static func entries(listed output: String) throws -> [HeldEntry] {
        let decoder = Self.decoder
        return try output.split(separator: "\n").map { try decoder.decode(HeldEntry.self, from: Data($0.utf8)) }
    }

    package func show(_ queueID: String) async throws -> HeldDetail {
        try Self.decoder.decode(HeldDetail.self, from: Data(try await run(["show", "--json"], on: queueID).utf8))
    }

    package func release(_ queueID: String) async throws {
        _ = try await run(["release"], on: queueID)
    }

    package func drop(_ queueID: String) async throws {
        _ = try await run(["drop"], on: queueID)
    }

    /// `verb` on one message, whose id is checked first.
    private func run(_ verb: [String], on queueID: String) async throws -> String {
        guard PostfixQueue.isQueueID(queueID) else { throw HeldCommandFailure(description: "\"\(queueID)\" is not a queue id") }
        return try await run(verb + [queueID])
    }

    private static var decoder: JSONDecoder {
        let decoder = JSONDecoder()
        // Date's ISO 8601 format style: a value, no shared formatter object.
        decoder.dateDecodingStrategy = .custom { decoder in
            try Date(try decoder.singleValueContainer().decode(String.self), strategy: .iso8601)
        }
        return decoder
    }

    private func run(_ arguments: [String]) async throws -> String {
        let words = command + arguments
        return try await withCheckedThrowingContinuation { continuation in
            let thread = Thread {
                do {
                    continuation.resume(returning: try Self.runNow(words))
                } catch {
                    continuation.resume(throwing: error)
                }
            }
            thread.name = "held-command"
            thread.start()
        }
    }

    private static func runNow(_ words: [String]) throws -> String {
        let finished: ChildProcess.Finished
        do {
            finished = try ChildProcess.run(words[0], Array(words.dropFirst()))
        } catch {
            throw HeldCommandFailure(description: "cannot run \(words[0]): \(error)")
        }
        guard finished.status == 0 else {
            throw HeldCommandFailure(description: finished.errors.isEmpty ? "\(words.joined(separator: " ")) exited \(finished.status)" : finished.errors)
        }
        return finished.output
    }
}
