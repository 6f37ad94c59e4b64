import Foundation
import MisdirectionRisk

/// Postfix's hold queue, read and changed through Postfix's own tools (`postqueue -j`,
/// `postcat`, `postsuper`), for `misdirect-milter held`.
package struct PostfixQueue {
    package struct Failure: Error, CustomStringConvertible {
        package let description: String
    }

    /// A held message that carries our verdict header: a line of `held list --json`, which
    /// the review console reads back.
    package struct HeldMessage: Codable, Sendable, Equatable {
        package let queueID: String
        package let arrival: Date
        package let sender: String
        package let recipients: [String]
        package let level: String
        package let suspected: [String]
        package let reasons: [String]

        /// How long it has been held, short: `45s`, `12m`, `5h`, `3d`.
        package var age: String {
            let seconds = max(0, Int(Date().timeIntervalSince(arrival)))
            switch seconds {
            case ..<120: return "\(seconds)s"
            case ..<7200: return "\(seconds / 60)m"
            case ..<172_800: return "\(seconds / 3600)h"
            default: return "\(seconds / 86400)d"
            }
        }

        package init(queueID: String, arrival: Date, sender: String, recipients: [String], level: String, suspected: [String], reasons: [String]) {
            self.queueID = queueID
            self.arrival = arrival
            self.sender = sender
            self.recipients = recipients
            self.level = level
            self.suspected = suspected
            self.reasons = reasons
        }

        package enum CodingKeys: String, CodingKey {
            case queueID = "queue_id", arrival, sender, recipients, level, suspected, reasons
        }
    }

    /// One held message in full, for the console's page: the list entry, the headers, the start
    /// of the body and the attachments by name and size.
    package struct HeldMessageDetail: Codable, Sendable {
        package let message: HeldMessage
        package let headers: [[String]]
        package let bodyLines: [String]
        package let attachments: [Attachment]

        package struct Attachment: Codable, Sendable, Equatable {
            package let name: String
            package let size: Int

            package init(name: String, size: Int) {
                self.name = name
                self.size = size
            }
        }

        package init(message: HeldMessage, headers: [[String]], bodyLines: [String], attachments: [Attachment]) {
            self.message = message
            self.headers = headers
            self.bodyLines = bodyLines
            self.attachments = attachments
        }

        /// One flat object: the list entry's keys beside these.
        package init(from decoder: any Decoder) throws {
            message = try HeldMessage(from: decoder)
            let container = try decoder.container(keyedBy: CodingKeys.self)
            headers = try container.decode([[String]].self, forKey: .headers)
            bodyLines = try container.decode([String].self, forKey: .bodyLines)
            attachments = try container.decode([Attachment].self, forKey: .attachments)
        }

        package enum CodingKeys: String, CodingKey {
            case headers, attachments, bodyLines = "body_lines"
        }

        package func encode(to encoder: any Encoder) throws {
            try message.encode(to: encoder)
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(headers, forKey: .headers)
            try container.encode(bodyLines, forKey: .bodyLines)
            try container.encode(attachments, forKey: .attachments)
        }
    }

    /// How many lines of the body `show` gives.
    package static let bodyLineCount = 40

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
        try heldMessages(only: nil)
    }

    /// The held messages, or only the one with this id (without reading every other one).
    private func heldMessages(only wanted: String?) throws -> [HeldMessage] {
        let output = try run("postqueue", ["-j"])
        let entries = output.split(separator: "\n").compactMap { line -> (String, [String: Any])? in
            guard let entry = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  entry["queue_name"] as? String == "hold", let queueID = entry["queue_id"] as? String,
                  wanted == nil || wanted == queueID
            else { return nil }
            return (queueID, entry)
        }
        let risks = try riskHeaders(of: entries.map(\.0))
        var held: [HeldMessage] = []
        for (queueID, entry) in entries {
            guard let risk = risks[queueID] else { continue }
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

    /// One message the milter held, in full; refuses any other id as release and drop do.
    package func heldMessage(_ queueID: String) throws -> HeldMessageDetail {
        let message = try requireHeld(queueID)
        let headerText = try run("postcat", ["-h", "-q", queueID])
        let body = try run("postcat", ["-b", "-q", queueID])
        let headers = MessageContext.headerFields(ofMessage: headerText)
        let contentType = headers.first { $0.name.lowercased() == "content-type" }?.value ?? ""
        return HeldMessageDetail(
            message: message,
            headers: headers.map { [$0.name, $0.value] },
            bodyLines: body.split(separator: "\n", maxSplits: Self.bodyLineCount, omittingEmptySubsequences: false)
                .prefix(Self.bodyLineCount).map { String($0.hasSuffix("\r") ? $0.dropLast() : $0) },
            attachments: Self.attachments(body: body, contentType: contentType))
    }

    /// The named parts of a multipart body (one level, and one level of nesting), with their
    /// decoded size: base64 counts three bytes per four characters.
    package static func attachments(body: String, contentType: String) -> [HeldMessageDetail.Attachment] {
        guard let boundary = parameter("boundary", in: contentType) else { return [] }
        var found: [HeldMessageDetail.Attachment] = []
        for part in body.components(separatedBy: "--" + boundary).dropFirst() {
            guard !part.hasPrefix("--") else { break }
            let text = part.hasPrefix("\r\n") ? String(part.dropFirst(2)) : part.hasPrefix("\n") ? String(part.dropFirst()) : part
            guard let split = text.range(of: "\n\n") ?? text.range(of: "\r\n\r\n") else { continue }
            let fields = MessageContext.headerFields(ofMessage: String(text[..<split.lowerBound]) + "\n")
            let partType = fields.first { $0.name.lowercased() == "content-type" }?.value ?? ""
            let disposition = fields.first { $0.name.lowercased() == "content-disposition" }?.value ?? ""
            let content = text[split.upperBound...]
            if partType.lowercased().hasPrefix("multipart/") {
                found += attachments(body: String(content), contentType: partType)
                continue
            }
            guard let name = parameter("filename", in: disposition) ?? parameter("name", in: partType) else { continue }
            let encoding = fields.first { $0.name.lowercased() == "content-transfer-encoding" }?.value.lowercased() ?? ""
            let size = encoding.contains("base64")
                ? content.filter { !$0.isWhitespace && $0 != "=" }.count * 3 / 4
                : content.utf8.count
            found.append(.init(name: name, size: size))
        }
        return found
    }

    /// A MIME parameter's value (`boundary="x"`, `filename=y`), quotes removed.
    static func parameter(_ name: String, in value: String) -> String? {
        for piece in value.split(separator: ";").dropFirst() {
            let pair = piece.split(separator: "=", maxSplits: 1)
            guard pair.count == 2, pair[0].trimmingCharacters(in: .whitespacesAndNewlines).lowercased() == name else { continue }
            var text = pair[1].trimmingCharacters(in: .whitespacesAndNewlines)
            if text.hasPrefix("\""), text.hasSuffix("\""), text.count >= 2 { text = String(text.dropFirst().dropLast()) }
            return text.isEmpty ? nil : text
        }
        return nil
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
    @discardableResult
    private func requireHeld(_ queueID: String) throws -> HeldMessage {
        guard Self.isQueueID(queueID) else {
            throw Failure(description: "\"\(queueID)\" is not a Postfix queue id")
        }
        guard let message = try heldMessages(only: queueID).first else {
            throw Failure(description: "no message \(queueID) in the hold queue was held by misdirect-milter (X-Misdirection-Risk with action=quarantine; see: misdirect-milter held)")
        }
        return message
    }

    /// A queue id as Postfix writes them (short hex or long ids): ASCII letters and digits, 5
    /// to 20. `held` and the review console check it before any command runs (the console's
    /// sudoers rule again).
    package static func isQueueID(_ text: String) -> Bool {
        (5...20).contains(text.utf8.count) && text.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0) }
    }

    /// How many queue files one postcat reads.
    static let postcatBatch = 500

    /// The verdict header of each of these held messages that has one, with one postcat per
    /// ``postcatBatch`` ids rather than one per message (10,000 held would be 10,000 processes).
    /// `postcat -e -h` prints each file's envelope and headers after a line
    /// `*** ENVELOPE RECORDS hold/ID ***`. A message released or dropped since postqueue listed
    /// it stops postcat ("open queue file ID: No such file or directory"): it is left out and
    /// the rest asked again.
    private func riskHeaders(of queueIDs: [String]) throws -> [String: String] {
        var found: [String: String] = [:]
        var start = 0
        while start < queueIDs.count {
            var batch = Array(queueIDs[start..<min(start + Self.postcatBatch, queueIDs.count)])
            start += batch.count
            while !batch.isEmpty {
                do {
                    let output = try run("postcat", ["-e", "-h", "-q"] + batch)
                    found.merge(Self.riskHeaders(postcat: output)) { $1 }
                    break
                } catch let failure as Failure {
                    guard let gone = batch.first(where: { failure.description.contains("open queue file \($0): No such file or directory") }) else {
                        throw failure
                    }
                    batch.removeAll { $0 == gone }
                }
            }
        }
        return found
    }

    /// The verdict header of each file in `postcat -e -h` output, by queue id.
    package static func riskHeaders(postcat output: String) -> [String: String] {
        var found: [String: String] = [:]
        var queueID: String?
        var headers: [Substring] = []
        var inHeaders = false
        func finish() {
            if let queueID, inHeaders,
               let value = MessageContext.headerFields(ofMessage: headers.joined(separator: "\n"))
                   .first(where: { $0.name.lowercased() == RiskHeader.name.lowercased() })?.value {
                found[queueID] = value
            }
            inHeaders = false
            headers = []
        }
        for line in output.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("*** ") && line.hasSuffix(" ***") {
                finish()
                let words = line.dropFirst(4).dropLast(4)
                if words.hasPrefix("ENVELOPE RECORDS ") {
                    queueID = words.split(separator: "/").last.map(String.init)
                } else if words.hasPrefix("MESSAGE CONTENTS ") {
                    inHeaders = true
                }
                continue
            }
            if inHeaders { headers.append(line) }
        }
        finish()
        return found
    }

    private func run(_ tool: String, _ arguments: [String]) throws -> String {
        guard let path = Self.locate(tool) else {
            throw Failure(description: "Postfix's \(tool) was not found: held works on the Postfix host (Debian package postfix)")
        }
        let finished = try ChildProcess.run(path, (configDirectory.map { ["-c", $0] } ?? []) + arguments)
        guard finished.status == 0 else {
            throw Failure(description: "\(tool) \(arguments.joined(separator: " ")) failed: \(finished.errors)")
        }
        return finished.output
    }

    private static func locate(_ tool: String) -> String? {
        let path = (ProcessInfo.processInfo.environment["PATH"] ?? "") + ":/usr/sbin:/sbin:/usr/bin"
        return path.split(separator: ":").map { "\($0)/\(tool)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }
}
