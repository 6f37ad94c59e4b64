// The message context (issue 4): header fields as the MTA passes them (folds kept), address
// lists, markings, and the classifier's reassessment of the recipients with them.
import FuzzSupport
import MisdirectionRisk

fuzz { bytes in
    let headers = rawHeaderFields(bytes)
    let context = MessageContext(headers: headers, envelopeSender: nil)
    for mailbox in context.recipients + context.from + context.replyTo {
        if let address = mailbox.address {
            require(EmailAddress.parsePath("<\(address)>".utf8) == .address(address), "mailbox \(address) does not parse back", input: bytes)
        }
    }
    let verdicts = context.recipients.compactMap(\.address).prefix(20).map { Fixtures.classifier.classify($0) }
    let assessment = Fixtures.classifier.assess(Array(verdicts), context: context)
    require(assessment.verdicts.count == verdicts.count, "verdicts lost", input: bytes)
    for (before, after) in zip(verdicts, assessment.verdicts) {
        require(after.level >= before.level, "\(after.input) went from \(before.level) down to \(after.level)", input: bytes)
    }
    // Explanations end up in SMTP replies and logs: one line each, whatever the headers held.
    for verdict in assessment.verdicts + assessment.replyTo {
        for reason in verdict.reasons {
            require(!reason.explanation.unicodeScalars.contains { $0 == "\n" || $0 == "\r" }, "line break in explanation: \(reason.explanation)", input: bytes)
        }
    }
    let decisions = (assessment.verdicts + assessment.replyTo).map { Policy().decide($0) }
    requireWellFormedHeader(RiskHeader.value(for: decisions, mode: .enforce), input: bytes)
}

/// Header fields split the way an MTA hands them to a milter: a line starting with a space or
/// a tab continues the previous field, and the fold stays in the value.
func rawHeaderFields(_ bytes: UnsafeRawBufferPointer) -> [(name: String, value: String)] {
    var fields: [(name: String, value: String)] = []
    for line in bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
        if line.isEmpty { break }
        let text = String(decoding: line, as: UTF8.self)
        if (line.first == UInt8(ascii: " ") || line.first == UInt8(ascii: "\t")), !fields.isEmpty {
            fields[fields.count - 1].value += "\n" + text
        } else if let colon = text.firstIndex(of: ":") {
            fields.append((String(text[..<colon]), String(text[text.index(after: colon)...]).drop { $0 == " " }.description))
        }
    }
    return fields
}
