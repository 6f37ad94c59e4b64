import Foundation
import Logging
import Testing
import MisdirectMilterKit

struct LogFormatTests {
    let metadata: Logger.Metadata = ["rcpt.address": "<a\"b\r\nInjected: x@army.ml>", "risk.level": "high"]

    @Test("JSON lines escape quotes and control characters, so a sender cannot add a field or a line")
    func json() throws {
        let line = LineLogHandler.format(.json, level: .info, label: "misdirect-milter", message: "rejected recipient", metadata: metadata, timestamp: true)
        #expect(!line.contains("\n") && !line.contains("\r"))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String])
        #expect(object["rcpt.address"] == "<a\"b\r\nInjected: x@army.ml>")
        #expect(object["message"] == "rejected recipient")
        #expect(object["level"] == "info")
        #expect(object["risk.level"] == "high")
        #expect(object["time"]?.hasSuffix("Z") == true)
    }

    @Test("syslog lines are logfmt without the time stamp, which syslog adds")
    func syslogBody() {
        let line = LineLogHandler.format(.logfmt, level: .info, label: "misdirect-milter", message: "rejected recipient", metadata: metadata, timestamp: false)
        #expect(line == #"rejected recipient rcpt.address="<a\"b\x0d\x0aInjected: x@army.ml>" risk.level=high"#)
    }

    @Test("metrics listen only on loopback", arguments: [
        ("127.0.0.1:9897", true), ("127.1.2.3:80", true), ("[::1]:9897", true), ("localhost:9897", true),
        ("0.0.0.0:9897", false), ("[::]:9897", false), ("192.0.2.1:9897", false), ("127.0.0.1:0", false),
    ])
    func loopbackOnly(address: String, accepted: Bool) {
        #expect(((try? MetricsAddress(parsing: address)) != nil) == accepted)
    }
}
