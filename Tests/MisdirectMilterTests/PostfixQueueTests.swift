import MisdirectMilterKit
import Testing

/// Reading `postcat -e -h` over several queue files at once (what `held` does for the list).
struct PostfixQueueTests {
    /// As Postfix 3.7 prints it for three held files: two with a verdict header (one of them
    /// folded), one without.
    static let postcat = """
        *** ENVELOPE RECORDS hold/DFEA1F7A540 ***
        message_size:             359             240               1               0             359               0
        message_arrival_time: Sun Dec  6 18:29:34 2026
        sender: a@example.org
        recipient: b@army.ml
        *** MESSAGE CONTENTS hold/DFEA1F7A540 ***
        Received: by mta.test.localdomain (Postfix, from userid 0)
        \tid DFEA1F7A540; Sun,  6 Dec 2026 18:29:34 +0000 (UTC)
        X-Misdirection-Risk: high; action=quarantine;
        \tsuspected=army.mil
        Subject: t2
        *** HEADER EXTRACTED hold/DFEA1F7A540 ***
        *** MESSAGE FILE END hold/DFEA1F7A540 ***
        *** ENVELOPE RECORDS hold/D/DAC6CF7A53F ***
        sender: a@example.org
        recipient: c@army.ml
        *** MESSAGE CONTENTS hold/D/DAC6CF7A53F ***
        Received: by mta.test.localdomain (Postfix, from userid 0)
        x-misdirection-risk: medium; action=quarantine; suspected=gov.uk
        Subject: *** not a marker ***
        *** HEADER EXTRACTED hold/D/DAC6CF7A53F ***
        *** MESSAGE FILE END hold/D/DAC6CF7A53F ***
        *** ENVELOPE RECORDS hold/4F2A1F7801A ***
        sender: b@example.org
        *** MESSAGE CONTENTS hold/4F2A1F7801A ***
        Subject: held by a header check
        *** HEADER EXTRACTED hold/4F2A1F7801A ***
        *** MESSAGE FILE END hold/4F2A1F7801A ***

        """

    @Test("each file's verdict header, by queue id; a file without one is left out; nothing else is read as a header")
    func batch() {
        let headers = PostfixQueue.riskHeaders(postcat: Self.postcat)
        #expect(headers.keys.sorted() == ["DAC6CF7A53F", "DFEA1F7A540"])
        #expect(headers["DFEA1F7A540"] == "high; action=quarantine; suspected=army.mil")
        #expect(headers["DAC6CF7A53F"] == "medium; action=quarantine; suspected=gov.uk")
    }

    @Test("envelope records are never taken for headers")
    func envelopeIgnored() {
        let forged = """
            *** ENVELOPE RECORDS hold/ABCDE12345 ***
            X-Misdirection-Risk: high; action=quarantine
            *** MESSAGE CONTENTS hold/ABCDE12345 ***
            Subject: plain
            *** MESSAGE FILE END hold/ABCDE12345 ***
            """
        #expect(PostfixQueue.riskHeaders(postcat: forged).isEmpty)
    }
}
