import Milter
import Testing

struct SMTPReplyTests {
    @Test("accepts only 4xx and 5xx codes with a matching enhanced code")
    func validation() {
        #expect(SMTPReply(code: "550", enhancedCode: "5.7.1", text: "x") != nil)
        #expect(SMTPReply(code: "450", enhancedCode: "4.7.1", text: "x")?.isTemporary == true)
        #expect(SMTPReply(code: "250", enhancedCode: nil, text: "x") == nil)
        #expect(SMTPReply(code: "550", enhancedCode: "4.7.1", text: "x") == nil)
        #expect(SMTPReply(code: "55", enhancedCode: nil, text: "x") == nil)
        #expect(SMTPReply(code: "550", enhancedCode: "5.7", text: "x") == nil)
    }

    @Test("makes text safe: no CR, LF or NUL survives, % is doubled, lines split on newline")
    func sanitizing() throws {
        let reply = try #require(SMTPReply(code: "550", enhancedCode: nil, text: "a\rb\u{0}c 50%\nsecond\tline é"))
        #expect(reply.lines == ["a?b?c 50%%", "second line ??"])
    }

    @Test("cuts a line that would pass 512 octets on the wire, counting % once")
    func lineLength() throws {
        let reply = try #require(SMTPReply(code: "550", enhancedCode: "5.7.1", text: String(repeating: "é%", count: 400) + "\nshort"))
        let wire = "550 5.7.1 " + reply.lines[0].replacingOccurrences(of: "%%", with: "%") + "\r\n"
        #expect(wire.utf8.count == 512)
        #expect(reply.lines[0].hasSuffix("..."))
        #expect(reply.lines[1] == "short")
        #expect(SMTPReply(code: "550", enhancedCode: nil, text: String(repeating: "x", count: 506))?.lines[0].count == 506)
        #expect(SMTPReply(code: "550", enhancedCode: nil, text: String(repeating: "x", count: 507))?.lines[0].hasSuffix("...") == true)
    }
}

struct MilterSocketTests {
    @Test("parses libmilter socket specifications", arguments: [
        ("inet:8897@127.0.0.1", MilterSocket.inet(port: 8897, host: "127.0.0.1")),
        ("inet:8897", .inet(port: 8897, host: nil)),
        ("inet6:8897@::1", .inet6(port: 8897, host: "::1")),
        ("unix:/run/m.sock", .unix(path: "/run/m.sock")),
        ("local:/run/m.sock", .unix(path: "/run/m.sock")),
        ("/run/m.sock", .unix(path: "/run/m.sock")),
    ])
    func parses(spec: String, expected: MilterSocket) throws {
        #expect(try MilterSocket(parsing: spec) == expected)
    }

    @Test("explains Postfix's spelling and other mistakes", arguments: [
        ("inet:127.0.0.1:8897", "libmilter writes inet:8897@127.0.0.1"),
        ("inet:0@127.0.0.1", "port must be a number"),
        ("inet:99999@127.0.0.1", "port must be a number"),
        ("tcp:8897", "unknown kind"),
        ("unix:relative.sock", "absolute path"),
        ("/", "absolute path to a file"),
        ("unix:/", "absolute path to a file"),
        ("unix:/run/milter/", "absolute path to a file"),
        ("8897", "expected inet:PORT@HOST"),
        ("inet:8897@", "empty or invalid host"),
    ])
    func refuses(spec: String, message: String) {
        #expect {
            try MilterSocket(parsing: spec)
        } throws: { error in
            (error as? MilterError)?.description.contains(message) == true
        }
    }

    @Test("writes Postfix's form for main.cf")
    func postfixSyntax() {
        #expect(MilterSocket.inet(port: 8897, host: "127.0.0.1").postfixSyntax == "inet:127.0.0.1:8897")
        #expect(MilterSocket.unix(path: "/var/spool/postfix/m/m.sock").postfixSyntax == "unix:/var/spool/postfix/m/m.sock")
    }
}
