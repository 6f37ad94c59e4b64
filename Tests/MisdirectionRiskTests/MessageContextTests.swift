import MisdirectionRisk
import Testing

struct HeaderAddressTests {
    @Test("splits address lists with display names, comments and groups")
    func parseList() {
        let mailboxes = HeaderAddress.parseList(#""J. Smith (army.mil)" <j@army.ml>, k@army.mil (Kay), team: a@x.org, <b@y.org>;, "Doe, Jane" <jane@z.org>"#)
        #expect(mailboxes.map(\.address?.description) == ["j@army.ml", "k@army.mil", "a@x.org", "b@y.org", "jane@z.org"])
        #expect(mailboxes[0].displayName == "J. Smith (army.mil)")
        #expect(mailboxes[1].displayName == "Kay")
        #expect(mailboxes[4].displayName == "Doe, Jane")
    }

    @Test("reads header fields of a message, unfolded, up to the body")
    func headerFields() {
        let fields = MessageContext.headerFields(ofMessage: "To: a@x.org,\n\tb@y.org\nSubject: hi\n\nTo: not@header.org\n")
        #expect(fields.map(\.name) == ["To", "Subject"])
        #expect(fields[0].value == "a@x.org, b@y.org")
    }
}

/// End of message compares every recipient with the header's addresses: what it reads is capped.
struct HeaderCapTests {
    @Test("reads at most 1,000 header mailboxes, the first in header order, and says it left some out")
    func addressCap() {
        var headers: [(name: String, value: String)] = [("From", "Alice <alice@army.mil>")]
        for field in 0..<100 {
            headers.append(("To", (0..<1_000).map { "u\(field * 1_000 + $0)@d\($0 % 300).example" }.joined(separator: ", ")))
        }
        headers.append(("Reply-To", "r@army.ml"))
        let context = MessageContext(headers: headers, envelopeSender: nil)
        #expect(context.from.count + context.recipients.count + context.replyTo.count == MessageContext.maximumAddresses)
        #expect(context.recipients.first?.address?.description == "u0@d0.example")
        #expect(context.replyTo.isEmpty, "the Reply-To after 100,000 addresses is past the cap")
        #expect(context.addressesLimited)
        #expect(!MessageContext(headers: [("To", "a@b.example, c@d.example")], envelopeSender: nil).addressesLimited)
    }

    @Test("reads only the first 64 KiB of a header field")
    func fieldCap() {
        let padding = String(repeating: "x ", count: MessageContext.maximumFieldBytes / 2)
        #expect(MessageContext(headers: [("Subject", "SECRET " + padding)], envelopeSender: nil).markings == ["SECRET in Subject"])
        #expect(MessageContext(headers: [("Subject", padding + " SECRET")], envelopeSender: nil).markings.isEmpty)
    }
}

struct SensitivityTests {
    @Test("finds protective markings in the Subject and marking headers", arguments: [
        ("Subject", "[OFFICIAL-SENSITIVE] Exercise plans", "OFFICIAL-SENSITIVE in Subject"),
        ("Subject", "TOP SECRET//NOFORN", "TOP SECRET in Subject"),
        ("Subject", "CUI: budget", "CUI in Subject"),
        ("Subject", "NATO RESTRICTED minutes", "NATO RESTRICTED in Subject"),
        ("X-Protective-Marking", "VER=2018.1, NS=gov.au, SEC=OFFICIAL:Sensitive", "VER=2018.1, NS=gov.au, SEC=OFFICIAL:Sensitive in X-Protective-Marking"),
        ("msip_labels", "MSIP_Label_0b1c_Enabled=true; MSIP_Label_0b1c_Name=Highly Confidential;", "label HIGHLY CONFIDENTIAL in msip_labels"),
        ("Sensitivity", "Company-Confidential", "Company-Confidential in Sensitivity"),
    ])
    func markings(header: String, value: String, expected: String) {
        #expect(Sensitivity.marking(header: header, value: value) == expected)
    }

    @Test("ignores ordinary words and unclassified markings", arguments: [
        ("Subject", "Secret Santa draw"), ("Subject", "OFFICIAL"), ("Subject", "Confidentiality notice update"),
        ("X-Protective-Marking", "VER=2018.1, NS=gov.au, SEC=OFFICIAL"), ("msip_labels", "MSIP_Label_1_Name=General;"),
        ("Sensitivity", "Personal"), ("Subject", "SECRETARY meeting"),
    ])
    func notMarkings(header: String, value: String) {
        #expect(Sensitivity.marking(header: header, value: value) == nil)
    }
}

struct AssessmentTests {
    let classifier = Fixtures.partners

    func assess(_ recipients: [String], headers: [(String, String)] = [], sender: String? = nil) -> MessageAssessment {
        let verdicts = recipients.map { Fixtures.partnerVerdict($0) }
        let senderAddress: EmailAddress? = sender.flatMap { if case .address(let a) = EmailAddress.parsePath($0.utf8) { a } else { nil } }
        let context = MessageContext(headers: headers.map { (name: $0.0, value: $0.1) }, envelopeSender: senderAddress)
        return classifier.assess(verdicts, context: context)
    }

    @Test("the same name under another suffix is reported, never raised: not by the sender at the real domain, a marking or attachments")
    func otherSuffixNotRaised() {
        let assessment = assess(
            ["j@example.com", "k@example.org"],
            headers: [("Subject", "OFFICIAL-SENSITIVE: plans"), ("Content-Type", "multipart/mixed; boundary=x")], sender: "<alice@example.org>")
        #expect(assessment.verdicts[0].level == .low)
        #expect(assessment.verdicts[0].rules == [.otherSuffix])
    }

    @Test("sensitivity raises a flagged recipient one level and never touches a clean one")
    func sensitivityRaises() {
        let assessment = assess(["j@rmy.mil", "k@other.org"], headers: [("Subject", "OFFICIAL-SENSITIVE: plans")])
        #expect(assessment.verdicts[0].level == .high)
        #expect(assessment.verdicts[0].rules == [.typo, .sensitivity])
        #expect(assessment.verdicts[1].level == .none)
    }

    @Test("sensitivity never lowers: a high recipient stays high")
    func neverLowers() {
        let assessment = assess(["j@army.ml"], headers: [("Subject", "SECRET")])
        #expect(assessment.verdicts[0].level == .high)
        #expect(assessment.verdicts[0].score == 0.95)
    }

    @Test("attachments raise a flagged recipient one level")
    func attachment() {
        let assessment = assess(["j@arm9.mil"], headers: [("Content-Type", "multipart/mixed; boundary=x")])
        #expect(assessment.verdicts[0].level == .high)
        #expect(assessment.verdicts[0].rules.last == .attachment)
    }

    @Test("odd-one-out: a look-alike while the sender is at the real domain is raised")
    func oddOneOutRaises() {
        let assessment = assess(["j@rmy.mil"], sender: "<alice@army.mil>")
        #expect(assessment.verdicts[0].level == .high)
        #expect(assessment.verdicts[0].rules.contains(.oddOneOut))
    }

    @Test("odd-one-out: an unprotected domain one slip from the one the other recipients use is flagged")
    func oddOneOutFlags() {
        let assessment = assess(["a@acme-corp.com", "b@acme-corp.com", "c@acme-corp.co", "d@other.org"])
        #expect(assessment.verdicts[2].rules == [.oddOneOut])
        #expect(assessment.verdicts[2].level == .medium)
        #expect(assessment.verdicts[2].suggestedAddress?.description == "c@acme-corp.com")
        #expect(assessment.verdicts[0].level == .none)
        #expect(assessment.verdicts[3].level == .none)
    }

    @Test("odd-one-out: recipients at one domain are compared with the same stronger domains, others with their own")
    func oddOneOutPerDomain() {
        let assessment = assess([
            "w@widgets.io",  // one address: compared with acme-corp.com, acme-corp.co and widget.io
            "c@acme-corp.co", "d@acme-corp.co",  // two: compared with acme-corp.com and widget.io only
            "a@acme-corp.com", "b@acme-corp.com", "e@acme-corp.com", "x@widget.io", "y@widget.io", "z@widget.io",
        ])
        #expect(assessment.verdicts.map { $0.rules == [.oddOneOut] } == [true, true, true, false, false, false, false, false, false])
        #expect(assessment.verdicts[0].suggestedAddress?.description == "w@widget.io")
        #expect(assessment.verdicts[1].suggestedAddress?.description == "c@acme-corp.com")
        #expect(assessment.verdicts[2].suggestedAddress?.description == "d@acme-corp.com")
    }

    @Test("odd-one-out: two recipients on two look-alike domains, none more common, are left alone")
    func oddOneOutTie() {
        let assessment = assess(["a@acme-corp.com", "c@acme-corp.co"])
        #expect(assessment.verdicts.allSatisfy { $0.level == .none })
    }

    @Test("display-name: a name that names the real domain marks the look-alike and suggests the named address")
    func displayName() {
        let assessment = assess(["j@acme-corp.co"], headers: [("To", #""Jo (j.smith@acme-corp.com)" <j@acme-corp.co>"#)])
        #expect(assessment.verdicts[0].rules == [.displayName])
        #expect(assessment.verdicts[0].level == .high)
        #expect(assessment.verdicts[0].suggestedAddress?.description == "j.smith@acme-corp.com")
    }

    @Test("display-name: a name that names an unrelated domain is only low, and a matching one nothing")
    func displayNameOther() {
        let other = assess(["j@company.com"], headers: [("To", #""Jo (gmail.com)" <j@company.com>"#)])
        #expect(other.verdicts[0].level == .low)
        let same = assess(["j@company.com"], headers: [("To", #""Jo (company.com)" <j@company.com>"#)])
        #expect(same.verdicts[0].level == .none)
    }

    @Test("reply-to: a Reply-To on a look-alike is reported under its own rule")
    func replyTo() {
        let assessment = assess(["k@army.mil"], headers: [("Reply-To", "alice@arrny.mil")])
        #expect(assessment.replyTo.count == 1)
        #expect(assessment.replyTo[0].rules == [.replyTo])
        #expect(assessment.replyTo[0].level == .high)
        #expect(assess(["k@army.mil"], headers: [("Reply-To", "alice@army.mil")]).replyTo.isEmpty)
    }
}

struct FoldedHeaderTests {
    @Test("unfolds header values as the MTA passes them, so no explanation carries a line break")
    func foldedValues() {
        let context = MessageContext(headers: [
            (name: "To", value: "\"Army\r\n HQ (army.mil)\" <hq@army.ml>,\n\tk@army.mil"),
            (name: "X-Protective-Marking", value: "VER=2018.1, NS=gov.au,\n\tSEC=OFFICIAL:Sensitive"),
        ], envelopeSender: nil)
        #expect(context.recipients.map(\.address?.description) == ["hq@army.ml", "k@army.mil"])
        #expect(context.markings == ["VER=2018.1, NS=gov.au,\tSEC=OFFICIAL:Sensitive in X-Protective-Marking"])
        let assessment = Fixtures.classifier.assess(context.recipients.compactMap(\.address).map { Fixtures.classifier.classify($0) }, context: context)
        let explanations = assessment.verdicts.flatMap(\.reasons).map(\.explanation)
        #expect(!explanations.isEmpty)
        #expect(explanations.allSatisfy { !$0.contains("\n") && !$0.contains("\r") })
    }
}
