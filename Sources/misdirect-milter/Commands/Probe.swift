import ArgumentParser
import Foundation
import MTADriver
import Milter
import MisdirectMilterKit

/// `misdirect-milter probe`: asks a running milter, over its socket, what it decides for some
/// recipients, the way the MTA would ask it (in the manner of Sendmail's miltertest).
struct Probe: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Ask a running milter what it decides for some recipients.",
        discussion: """
            Connects to the milter's socket as the MTA does, sends one message's envelope (MAIL \
            FROM, then RCPT TO for each address) and prints the milter's answer to each \
            recipient; when at least one is accepted, sends the headers and a one-line body and \
            prints what the milter changes at end of message (the X-Misdirection-Risk header, a \
            hold, a review copy). Nothing is delivered: no MTA is involved. With the default null \
            sender and no --auth, the correspondent history learns nothing from a probe. Exit \
            status 69 when the socket cannot be reached, 76 when the milter breaks the protocol.
            """
    )

    @Argument(help: ArgumentHelp("The milter's socket, as in the configuration: unix:/path or inet:port@address.", valueName: "socket"))
    var socket: String

    @Argument(help: ArgumentHelp("Recipient addresses (user@domain).", valueName: "address"))
    var addresses: [String]

    @Option(help: ArgumentHelp("The envelope sender (default: the null sender <>).", valueName: "address"))
    var from: String = ""

    @Option(help: ArgumentHelp("Send the message as authenticated by this SMTP AUTH login ({auth_authen}).", valueName: "login"))
    var auth: String?

    @Option(name: .customLong("header"), help: ArgumentHelp("A header to send, \"Name: value\"; repeat for more.", valueName: "header"))
    var headers: [String] = []

    @Option(help: ArgumentHelp("Seconds to wait for each answer.", valueName: "seconds"))
    var timeout = 10

    func validate() throws {
        guard !addresses.isEmpty else { throw ValidationError("give at least one recipient address") }
        guard timeout > 0 else { throw ValidationError("--timeout must be more than 0") }
        do {
            _ = try MilterSocket(parsing: socket)
        } catch {
            throw ValidationError("\(error)")
        }
        for header in headers where Self.split(header) == nil {
            throw ValidationError("--header \(header): expected \"Name: value\"")
        }
    }

    func run() throws {
        let connection: MTAConnection
        do {
            connection = try Self.connect(socket, timeout: timeout)
        } catch {
            printError("misdirect-milter: \(socket): \(error)")
            throw ExitCode(ExitStatus.unavailable)
        }
        do {
            for line in try converse(connection) { print(line) }
        } catch {
            printError("misdirect-milter: \(socket): \(error)")
            throw ExitCode(ExitStatus.protocolError)
        }
    }

    /// One message's conversation, as lines to print.
    private func converse(_ connection: MTAConnection) throws -> [String] {
        var lines: [String] = []
        _ = try connection.negotiate()
        try connection.macros("C", [("j", "probe.localhost"), ("{daemon_name}", "misdirect-milter-probe")])
        if let refused = Self.refusal(try connection.connect(hostname: "localhost", address: "127.0.0.1", port: 25)) {
            return ["connect: \(refused)"]
        }
        _ = try connection.helo("localhost")
        var macros = [("i", "PROBE")]
        if let auth { macros.append(("{auth_authen}", auth)) }
        try connection.macros("M", macros)
        if let refused = Self.refusal(try connection.mail([Array("<\(from)>".utf8)])) {
            return ["MAIL FROM:<\(from)>: \(refused)"]
        }
        var accepted: [String] = []
        for address in addresses {
            try connection.macros("R", [("i", "PROBE")])
            let reply = try connection.rcpt([Array("<\(address)>".utf8)])
            if let refused = Self.refusal(reply) {
                lines.append("<\(address)>: \(refused)")
            } else {
                lines.append("<\(address)>: accepted")
                accepted.append(address)
            }
        }
        guard !accepted.isEmpty else {
            try connection.abort()
            try connection.quit()
            return lines + ["message: not sent, every recipient was refused"]
        }
        var fields = headers.compactMap(Self.split)
        if !fields.contains(where: { $0.name.lowercased() == "to" }) {
            fields.insert(("To", accepted.joined(separator: ", ")), at: 0)
        }
        if !from.isEmpty, !fields.contains(where: { $0.name.lowercased() == "from" }) { fields.insert(("From", from), at: 0) }
        if !fields.contains(where: { $0.name.lowercased() == "subject" }) { fields.append(("Subject", "misdirect-milter probe")) }
        for field in fields {
            if let refused = Self.refusal(try connection.header(field.name, Array(field.value.utf8))) {
                return lines + ["header \(field.name): \(refused)"]
            }
        }
        if let refused = Self.refusal(try connection.endOfHeaders()) { return lines + ["end of headers: \(refused)"] }
        if let refused = Self.refusal(try connection.body(Array("misdirect-milter probe\r\n".utf8))), refused != "skip" {
            return lines + ["body: \(refused)"]
        }
        try connection.macros("E", [("i", "PROBE")])
        let (changes, reply) = try connection.endOfMessage()
        lines += changes.map(Self.describe)
        lines.append("end of message: \(Self.refusal(reply) ?? "accepted")")
        try connection.quit()
        return lines
    }

    /// The socket as the configuration writes it, connected.
    static func connect(_ spec: String, timeout: Int) throws -> MTAConnection {
        switch try MilterSocket(parsing: spec) {
        case .unix(let path): try MTAConnection(unixPath: path, timeout: timeout)
        case .inet(let port, let host): try MTAConnection(tcpHost: host ?? "127.0.0.1", port: port, timeout: timeout)
        case .inet6(let port, let host): try MTAConnection(tcpHost: host ?? "::1", port: port, timeout: timeout)
        }
    }

    /// nil when the milter lets the stage go on, else what it answered.
    static func refusal(_ reply: MTAConnection.Reply?) -> String? {
        switch reply {
        case nil, .continue?, .accept?: nil
        case .reject?: "reject"
        case .tempfail?: "tempfail"
        case .discard?: "discard"
        case .skip?: "skip"
        case .text(let text)?: text
        }
    }

    static func describe(_ change: MTAConnection.Change) -> String {
        switch change {
        case let .addHeader(name, value): "adds header \(name): \(oneLine(value))"
        case let .insertHeader(index, name, value): "inserts header \(name) at \(index): \(oneLine(value))"
        case let .changeHeader(index, name, value) where value.isEmpty: "removes header \(name) #\(index)"
        case let .changeHeader(index, name, value): "changes header \(name) #\(index): \(oneLine(value))"
        case let .quarantine(reason): "holds the message: \(reason)"
        case let .addRecipient(address): "adds recipient \(address)"
        }
    }

    /// `Name: value` as its two parts, or nil.
    static func split(_ header: String) -> (name: String, value: String)? {
        guard let colon = header.firstIndex(of: ":") else { return nil }
        let name = header[..<colon].trimmingCharacters(in: .whitespaces)
        guard !name.isEmpty, !name.contains(" ") else { return nil }
        return (name, header[header.index(after: colon)...].trimmingCharacters(in: .whitespaces))
    }
}
