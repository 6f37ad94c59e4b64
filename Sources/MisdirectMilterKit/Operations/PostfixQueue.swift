import Foundation
import MisdirectionRisk

/// Postfix's hold queue, read and changed through Postfix's own tools (`postqueue -j`,
/// `postcat`, `postsuper`), for `misdirect-milter held`.
package struct PostfixQueue {
    package struct Failure: Error, CustomStringConvertible {
        package let description: String
    }

    /// A held message that carries our verdict header.
    package struct HeldMessage: Encodable {
        package let queueID: String
        package let arrival: Date
        package let sender: String
        package let recipients: [String]
        package let level: String
        package let suspected: [String]
        package let reasons: [String]

        package enum CodingKeys: String, CodingKey {
            case queueID = "queue_id", arrival, sender, recipients, level, suspected, reasons
        }
    }

    /// A Postfix configuration directory other than the default (`-c DIR`).
    package let configDirectory: String?

    package init(configDirectory: String? = nil) {
        self.configDirectory = configDirectory
    }

    /// Every message in the hold queue that the milter held: its `X-Misdirection-Risk` header
    /// says `action=quarantine` (every message that passed the milter carries the header; one
    /// held by something else is not ours to list or touch). Oldest first.
    /// - Throws: ``Failure`` when a Postfix tool fails, rather than reporting no message.
    package func heldMessages() throws -> [HeldMessage] {
        let output = try run("postqueue", ["-j"])
        var held: [HeldMessage] = []
        for line in output.split(separator: "\n") {
            guard let entry = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  entry["queue_name"] as? String == "hold", let queueID = entry["queue_id"] as? String,
                  let risk = try riskHeader(of: queueID)
            else { continue }
            let items = RiskHeader.parse(risk) ?? []
            guard items.contains(where: { $0.key == "action" && $0.value == "quarantine" }) else { continue }
            held.append(HeldMessage(
                queueID: queueID,
                arrival: Date(timeIntervalSince1970: (entry["arrival_time"] as? Double) ?? 0),
                sender: entry["sender"] as? String ?? "",
                recipients: (entry["recipients"] as? [[String: Any]] ?? []).compactMap { $0["address"] as? String },
                level: items.first?.value ?? "?",
                suspected: items.filter { $0.key == "suspected" }.map(\.value),
                reasons: items.filter { $0.key == "reasons" }.map(\.value)))
        }
        return held.sorted { $0.arrival < $1.arrival }
    }

    /// Releases a held message (`postsuper -H`, which moves it to the deferred queue) and asks
    /// for its delivery now rather than at the next queue run (`postqueue -i`).
    package func release(_ queueID: String) throws {
        try requireHeld(queueID)
        _ = try run("postsuper", ["-H", queueID])
        _ = try run("postqueue", ["-i", queueID])
    }

    /// Deletes a held message (`postsuper -d`).
    package func drop(_ queueID: String) throws {
        try requireHeld(queueID)
        _ = try run("postsuper", ["-d", queueID])
    }

    /// Refuses anything but a queue id of a message we hold: `postsuper -d ALL` must never
    /// be reachable from here.
    private func requireHeld(_ queueID: String) throws {
        guard !queueID.isEmpty, queueID.utf8.allSatisfy({ $0 < 0x80 && (Character(Unicode.Scalar($0)).isLetter || Character(Unicode.Scalar($0)).isNumber) }) else {
            throw Failure(description: "\"\(queueID)\" is not a Postfix queue id")
        }
        guard try heldMessages().contains(where: { $0.queueID == queueID }) else {
            throw Failure(description: "no message \(queueID) in the hold queue was held by misdirect-milter (X-Misdirection-Risk with action=quarantine; see: misdirect-milter held)")
        }
    }

    /// The value of the message's X-Misdirection-Risk header, unfolded, or nil (also when the
    /// message left the queue since it was listed).
    private func riskHeader(of queueID: String) throws -> String? {
        let headers: String
        do {
            headers = try run("postcat", ["-h", "-q", queueID])
        } catch let failure as Failure where failure.description.contains("No such file or directory") {
            return nil
        }
        return MessageContext.headerFields(ofMessage: headers)
            .first { $0.name.lowercased() == RiskHeader.name.lowercased() }?.value
    }

    private func run(_ tool: String, _ arguments: [String]) throws -> String {
        guard let path = Self.locate(tool) else {
            throw Failure(description: "Postfix's \(tool) was not found: held works on the Postfix host (Debian package postfix)")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = (configDirectory.map { ["-c", $0] } ?? []) + arguments
        let output = Pipe(), errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        let errorText = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Failure(description: "\(tool) \(arguments.joined(separator: " ")) failed: \(errorText.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        return String(decoding: data, as: UTF8.self)
    }

    private static func locate(_ tool: String) -> String? {
        let path = (ProcessInfo.processInfo.environment["PATH"] ?? "") + ":/usr/sbin:/sbin:/usr/bin"
        return path.split(separator: ":").map { "\($0)/\(tool)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }
}
