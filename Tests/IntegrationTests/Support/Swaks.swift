import Foundation

/// Sends mail with `swaks` and reads the SMTP conversation back.
enum Swaks {
    /// What the server answered.
    struct Transcript {
        /// Each RCPT TO address with the reply code and text it got.
        let recipients: [(address: String, code: Int, text: String)]
        /// The reply to the end of DATA, if the message got that far.
        let dataReply: (code: Int, text: String)?
        let raw: String

        /// The reply to one recipient.
        func reply(to address: String) -> (code: Int, text: String)? {
            recipients.first { $0.address == address }.map { ($0.code, $0.text) }
        }
    }

    /// Sends one message to the server on `port`.
    /// - Parameters:
    ///   - subject: put in the Subject header, to find the message at the sink.
    ///   - headers: extra `Name: value` headers.
    static func send(
        port: UInt16, from: String = "alice@example.org", to recipients: [String], subject: String,
        headers: [String] = [], body: String = "Test message.\n", auth: (user: String, password: String)? = nil
    ) throws -> Transcript {
        var arguments = [
            "--server", "127.0.0.1:\(port)", "--from", from, "--to", recipients.joined(separator: ","),
            "--helo", "client.test.localdomain", "--header", "Subject: \(subject)", "--body", body,
            "--timeout", "30",
        ]
        if let auth { arguments += ["--auth", "PLAIN", "--auth-user", auth.user, "--auth-password", auth.password] }
        for header in headers { arguments += ["--add-header", header] }
        let output = try Command.run("swaks", arguments)
        return parse(output.stdout + output.stderr)
    }

    static func parse(_ text: String) -> Transcript {
        var recipients: [(String, Int, String)] = []
        var dataReply: (Int, String)?
        var pendingRecipient: String?
        var inData = false
        // Split on Character.isNewline: Swift reads "\r\n" as one Character, which
        // components(separatedBy: "\n") would not split.
        for line in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline) {
            if line.hasPrefix(" -> RCPT TO:") {
                let address = line.dropFirst(" -> RCPT TO:".count).trimmingCharacters(in: CharacterSet(charactersIn: "<> "))
                pendingRecipient = address
            } else if line.hasPrefix(" -> .") {
                inData = true
            } else if line.hasPrefix("<-  ") || line.hasPrefix("<** ") {
                let reply = line.dropFirst(4)
                let code = Int(reply.prefix(3)) ?? 0
                let text = String(reply.dropFirst(4)).trimmingCharacters(in: .whitespacesAndNewlines)
                if let address = pendingRecipient {
                    recipients.append((address, code, text))
                    pendingRecipient = nil
                } else if inData {
                    dataReply = (code, text)
                    inData = false
                }
            }
        }
        return Transcript(recipients: recipients, dataReply: dataReply, raw: text)
    }
}
