import Foundation
import MisdirectionRisk
import TestSupport

/// Postfix's `smtp-sink` on loopback, keeping every message it receives as a file.
final class SmtpSink {
    let port: UInt16
    let directory: String
    private var process: Process?

    init(port: UInt16, directory: String) {
        self.port = port
        self.directory = directory
    }

    func start(log: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try Command.run("chown", ["postfix", directory])
        // -d: one file per transaction; -u: drop to the postfix user; 200: backlog.
        process = try Command.start(
            "smtp-sink", ["-u", "postfix", "-d", "\(directory)/%Y%m%d%H%M%S.", "127.0.0.1:\(port)", "200"], log: log)
        guard Command.waitUntil(timeout: .seconds(10), { Loopback.isListening(port) }) else {
            throw Command.Failure(description: "smtp-sink did not start on port \(port)")
        }
    }

    func stop() {
        // A child of the test process may inherit a mask that blocks SIGTERM (libdispatch's
        // worker threads block it), and smtp-sink, unlike our milter, does not unblock it: do
        // not wait long for it. It has nothing to flush: every message is already a file.
        if let process { Command.stop(process, grace: .milliseconds(300)) }
    }

    /// Every message received so far.
    func messages() -> [ReceivedMessage] {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return files.sorted().compactMap { name in
            guard let data = FileManager.default.contents(atPath: "\(directory)/\(name)") else { return nil }
            return ReceivedMessage(String(decoding: data, as: UTF8.self))
        }
    }

    /// The messages whose Subject contains `token` and that satisfy `condition`, waiting up to
    /// `timeout` for at least one. The condition matters when another message shares the
    /// subject (a review notice quotes the held message's subject): without it the wait would
    /// end on the wrong message.
    func messages(
        withSubjectContaining token: String, timeout: Duration = .seconds(20),
        where condition: (ReceivedMessage) -> Bool = { _ in true }
    ) -> [ReceivedMessage] {
        if timeout == .zero { return matching(token, condition) }
        var found: [ReceivedMessage] = []
        _ = Command.waitUntil(timeout: timeout) {
            found = matching(token, condition)
            return !found.isEmpty
        }
        return found
    }

    private func matching(_ token: String, _ condition: (ReceivedMessage) -> Bool) -> [ReceivedMessage] {
        messages().filter { $0.header("Subject").contains { $0.contains(token) } && condition($0) }
    }
}

/// A message as smtp-sink wrote it: its envelope recipients and its headers, unfolded.
struct ReceivedMessage {
    let text: String
    /// `name: value` pairs in order, with folded lines joined.
    let headers: [(name: String, value: String)]

    init(_ text: String) {
        self.text = text
        headers = MessageContext.headerFields(ofMessage: text)
    }

    /// The values of every header with this name, case-insensitively.
    func header(_ name: String) -> [String] {
        headers.filter { $0.name.lowercased() == name.lowercased() }.map(\.value)
    }

    /// The queue id Postfix gave the message, from its `Received: ... (Postfix) ... id QUEUEID`.
    var postfixQueueID: String? {
        for value in header("Received") where value.contains("(Postfix)") {
            let words = value.split(separator: " ")
            if let index = words.firstIndex(of: "id"), index + 1 < words.count {
                return words[index + 1].trimmingCharacters(in: CharacterSet(charactersIn: ";"))
            }
        }
        return nil
    }

    /// The envelope recipients, from smtp-sink's `X-Rcpt-Args` lines.
    var recipients: [String] {
        header("X-Rcpt-Args").map { String($0.split(separator: " ").first ?? "") }
    }

    /// The `X-Misdirection-Risk` header split into items; nil unless there is exactly one.
    var risk: RiskItems? {
        let values = header("X-Misdirection-Risk")
        guard values.count == 1 else { return nil }
        return RiskItems(values[0])
    }
}

/// The items of an `X-Misdirection-Risk` value, parsed independently of the library.
struct RiskItems {
    let level: String
    let pairs: [(key: String, value: String)]

    /// Values are kept as written, quotes and backslashes included.
    init(_ value: String) {
        let items = Self.split(value).map { $0.trimmingCharacters(in: .whitespaces) }
        level = items.first ?? ""
        pairs = items.dropFirst().compactMap { item in
            guard let equals = item.firstIndex(of: "=") else { return nil }
            return (String(item[..<equals]), String(item[item.index(after: equals)...]))
        }
    }

    /// The items: split at each `;` outside a quoted string.
    static func split(_ value: String) -> [String] {
        var items = [""]
        var quoted = false
        var escaped = false
        for scalar in value.unicodeScalars {
            if !escaped && !quoted && scalar == ";" { items.append(""); continue }
            if escaped { escaped = false } else if quoted && scalar == "\\" { escaped = true } else if scalar == "\"" { quoted.toggle() }
            items[items.count - 1].unicodeScalars.append(scalar)
        }
        return items
    }

    /// The first value for a key.
    subscript(key: String) -> String? { pairs.first { $0.key == key }?.value }

    /// Every value for a key, in order.
    func all(_ key: String) -> [String] { pairs.filter { $0.key == key }.map(\.value) }
}
