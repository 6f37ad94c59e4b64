import Foundation
import Milter
import MisdirectionRisk
import Testing
import MisdirectMilterKit
import TestSupport

struct ConfigurationLoaderTests {
    @Test("reads every key")
    func full() throws {
        let configuration = try ConfigurationLoader.parse("""
            socket: unix:/var/spool/postfix/misdirect/milter.sock
            mode: log-only
            protected: [mil, Army.MIL., .gov.uk]
            trusted:
              - real-partner.ml
            actions:
              high: tempfail
              low: tag
            public_suffix_list: /tmp/psl.dat
            log_level: debug
            """, file: "test.yml")
        #expect(configuration.socket == .unix(path: "/var/spool/postfix/misdirect/milter.sock"))
        #expect(configuration.mode == .logOnly)
        #expect(configuration.protectedDomains == ["mil", "army.mil", "gov.uk"])
        #expect(configuration.trustedDomains == ["real-partner.ml"])
        #expect(configuration.actions == [.none: .accept, .low: .tag, .medium: .tag, .high: .tempfail])
        #expect(configuration.publicSuffixListPath == "/tmp/psl.dat")
        #expect(configuration.logLevel == .debug)
    }

    @Test("reads per-rule actions and modes")
    func rules() throws {
        let configuration = try ConfigurationLoader.parse("""
            rules:
              homoglyph: {action: reject}
              bitflip:
                action: tag
                mode: log-only
            """, file: "rules.yml")
        #expect(configuration.rules == [.homoglyph: RulePolicy(action: .reject), .bitflip: RulePolicy(action: .tag, mode: .logOnly)])
        #expect(configuration.policy.mode(of: .bitflip) == .logOnly)
        #expect(configuration.policy.mode(of: .typo) == .enforce)
    }

    @Test("uses the defaults for an empty file")
    func empty() throws {
        let configuration = try ConfigurationLoader.parse("# nothing yet\n", file: "empty.yml")
        #expect(configuration.socket == .inet(port: 8897, host: "127.0.0.1"))
        #expect(configuration.mode == .enforce)
        #expect(configuration.actions == Policy.defaultActions)
    }

    @Test("loads the packaged default configuration, which protects mil, gov and gov.uk")
    func packaged() throws {
        let configuration = try ConfigurationLoader.load(path: Self.packagedPath)
        #expect(Set(["mil", "gov", "gov.uk"]).isSubset(of: configuration.protectedDomains))
        #expect(configuration.mode == .enforce)
        #expect(configuration.actions[.high] == .reject)
        // A unix socket only Postfix's group reaches: over TCP every local user could fake
        // an authenticated sender.
        #expect(configuration.socket == .unix(path: "/var/spool/postfix/misdirect-milter/misdirect-milter.sock"))
        #expect(configuration.socketMode == 0o660)
        #expect(configuration.socketGroup == "postfix")
    }

    static let packagedPath = Repository.path("packaging/misdirect-milter.yml")

    @Test("names file, line and key of every mistake", arguments: [
        ("socket: inet:8897@127.0.0.1\nmode: block\n", "bad.yml:2: mode: unknown mode \"block\"; expected enforce or log-only"),
        ("protectd:\n  - mil\n", "bad.yml:1: protectd: unknown key; did you mean \"protected\"?"),
        ("socket: inet:127.0.0.1:8897\n", "bad.yml:1: socket: \"inet:127.0.0.1:8897\" is Postfix's spelling; libmilter writes inet:8897@127.0.0.1"),
        ("actions:\n  high: block\n", "bad.yml:2: actions.high: unknown action \"block\"; expected one of accept, tag, quarantine, tempfail, reject"),
        ("actions:\n  severe: reject\n", "bad.yml:2: actions.severe: unknown risk level; expected none, low, medium or high"),
        ("protected:\n  - mil\n  - \"bad domain\"\n", "bad.yml:3: protected: \"bad domain\" is not a domain: character ' ' not allowed in a domain"),
        ("protected: mil\n", "bad.yml:1: protected: expected a list of domains, one per line starting with \"- \""),
        ("mode: [enforce]\n", "bad.yml:1: mode: expected a single value, not a list or mapping"),
        ("log_level: loud\n", "bad.yml:1: log_level: unknown log level \"loud\"; expected one of trace, debug, info, notice, warning, error, critical"),
        ("- mil\n", "bad.yml:1: the file must be a mapping of keys to values"),
        ("mode: enforce\nmode: log-only\n", "bad.yml:1: mode: key given more than once"),
        ("protected: [mil\n", "bad.yml:2: protected: not valid YAML"),
        ("log_target: file\n", "bad.yml:1: log_target: unknown log target \"file\"; expected syslog, stderr or json"),
        ("syslog_facility: kern\n", "bad.yml:1: syslog_facility: unknown facility \"kern\""),
        ("metrics_listen: 192.0.2.1:9897\n", "bad.yml:1: metrics_listen: \"192.0.2.1:9897\": metrics are served on loopback only"),
        ("metrics_listen: 127.0.0.1\n", "bad.yml:1: metrics_listen: \"127.0.0.1\": expected HOST:PORT"),
        ("user: no-such-user-here\n", "bad.yml:1: user: no user called \"no-such-user-here\""),
        ("sender_override: {headr: X-A}\n", "bad.yml:1: sender_override.headr: unknown key; did you mean \"header\"?"),
        ("sender_override: {header: X-Misdirection-Risk}\n", "bad.yml:1: sender_override.header: \"X-Misdirection-Risk\" is not a header name one can use here"),
        ("sender_override: {header: To}\n", "bad.yml:1: sender_override.header: \"To\" is a standard header: it would be removed from every message"),
        ("sender_override:\n  header: subject\n", "bad.yml:2: sender_override.header: \"subject\" is a standard header"),
        ("sender_override: {header: Resent-To}\n", "bad.yml:1: sender_override.header: \"Resent-To\" is in the standard Resent-* family"),
        ("sender_override: {header: Content-Type}\n", "bad.yml:1: sender_override.header: \"Content-Type\" is in the standard Content-* family"),
        ("history:\n  typo_ratio: 9223372036854775807\n", "bad.yml:2: history.typo_ratio: \"9223372036854775807\" is not a whole number from 0 to 1000000"),
        ("history:\n  typo_ratio: 1000001\n", "bad.yml:2: history.typo_ratio: \"1000001\" is not a whole number from 0 to 1000000"),
        ("rules:\n  homoglpyh: {action: reject}\n", "bad.yml:2: rules.homoglpyh: unknown rule; did you mean \"homoglyph\"?"),
        ("rules:\n  bitflip:\n    acton: tag\n", "bad.yml:3: rules.bitflip.acton: unknown key; did you mean \"action\"?"),
        ("rules:\n  bitflip: {action: block}\n", "bad.yml:2: rules.bitflip.action: unknown action \"block\"; expected one of accept, tag, quarantine, tempfail, reject"),
        ("rules:\n  bitflip: {mode: dry}\n", "bad.yml:2: rules.bitflip.mode: unknown mode \"dry\"; expected enforce or log-only"),
        ("rules:\n  bitflip: reject\n", "bad.yml:2: rules.bitflip: expected a mapping of keys to values"),
        ("protected: [mil\n", "bad.yml:2: protected: not valid YAML"),
        // Every other shape a file can take: each names file, line and, where there is one, key.
        ("actions:\n  high: reject\n  high: tag\n", "bad.yml:2: actions.high: key given more than once"),
        ("mode: lo\u{1B}g-only\n", "bad.yml:1: mode: not valid YAML: control characters are not allowed (U+001B)"),
        ("mode: enforce\nprotected: [mil, g\u{200B}ov]\n", "bad.yml:2: protected: \"g\u{200B}ov\" is not a domain: invisible character U+200B"),
        ("actions:\n\thigh: reject\n", "bad.yml:2: actions: not valid YAML: found character that cannot start any token"),
        ("mode: enforce\n---\nmode: log-only\n", "bad.yml:2: mode: not valid YAML: but found another document"),
        ("protected: *nope\n", "bad.yml:1: protected: not valid YAML: found undefined alias"),
        ("protected: " + String(repeating: "[", count: 5000) + "\n", "bad.yml:1: protected: not valid YAML: Maximum nesting level reached"),
        ("%YAML 1.3\n---\nmode: enforce\n", "bad.yml:1: not valid YAML: found incompatible YAML document"),
        ("mode:\n", "bad.yml:1: mode: unknown mode \"\"; expected enforce or log-only"),
        ("? [a]\n: b\n", "bad.yml:1: expected a single value, not a list or mapping"),
        ("Mode: enforce\n", "bad.yml:1: Mode: unknown key; did you mean \"mode\"?"),
        ("actions: [reject]\n", "bad.yml:1: actions: expected a mapping of keys to values"),
        ("actions:\n  high: [reject]\n", "bad.yml:2: actions.high: expected a single value, not a list or mapping"),
        ("socket_mode: 999\n", "bad.yml:1: socket_mode: \"999\" is not an octal mode such as 660"),
        ("socket_group: no-such-group-here\n", "bad.yml:1: socket_group: no group called \"no-such-group-here\" on this system"),
        ("socket: /\n", "bad.yml:1: socket: \"/\": a unix socket needs an absolute path to a file"),
        ("socket: inet:99999@127.0.0.1\n", "bad.yml:1: socket: \"inet:99999@127.0.0.1\": the port must be a number from 1 to 65535"),
        ("trusted: [\"[192.0.2.1]\"]\n", "bad.yml:1: trusted: \"[192.0.2.1]\" is an address literal, not a domain"),
        ("mode: \"log\n\n  only\"\n", "bad.yml:1: mode: unknown mode \"log\\nonly\"; expected enforce or log-only"),
        ("\"a\\tb\": x\n", "bad.yml:1: a\\tb: unknown key"),
        ("protected:\n  - mil\n  -\n", "bad.yml:3: protected: \"\" is not a domain: empty domain"),
        ("protected: [" + String(repeating: "a", count: 64) + ".mil]\n", "bad.yml:1: protected: \"" + String(repeating: "a", count: 64) + ".mil\" is not a domain: label longer than 63 octets"),
    ])
    func errors(text: String, expected: String) {
        Self.expectError(parsing: text, file: "bad.yml", startingWith: expected)
    }

    /// Expects parsing `text` to fail with a message that starts with `expected`.
    static func expectError(parsing text: String, file: String, startingWith expected: String) {
        #expect {
            try ConfigurationLoader.parse(text, file: file)
        } throws: { error in
            let description = (error as? ConfigurationError)?.description ?? "\(error)"
            if !description.hasPrefix(expected) { Issue.record("got: \(description)") }
            return description.hasPrefix(expected)
        }
    }

    @Test("reads the review section")
    func review() throws {
        let configuration = try ConfigurationLoader.parse("""
            review:
              mailbox: Review@Example.ORG
              relay: "[::1]:2525"
              max_size: 1000
            """, file: "r.yml")
        let review = try #require(configuration.review)
        #expect(review.mailbox.description == "Review@example.org")
        #expect(review.relayHost == "::1")
        #expect(review.relayPort == 2525)
        #expect(review.maxSize == 1000)
        #expect(try ConfigurationLoader.parse("review:\n  mailbox: r@example.org\n", file: "r.yml").review?.relayPort == 25)
    }

    @Test("names the line and key of a bad review section", arguments: [
        ("review:\n  relay: 127.0.0.1:25\n", "r.yml:2: review: mailbox is required"),
        ("review:\n  mailbox: not-an-address\n", "r.yml:2: review.mailbox: \"not-an-address\" is not an email address"),
        ("review:\n  mailbox: r@example.org\n  relay: localhost\n", "r.yml:3: review.relay: \"localhost\" is not host:port"),
        ("review:\n  mailbox: r@example.org\n  mailbx: x\n", "r.yml:3: review.mailbx: unknown key; did you mean \"mailbox\"?"),
    ])
    func reviewErrors(text: String, expected: String) {
        Self.expectError(parsing: text, file: "r.yml", startingWith: expected)
    }

    @Test("names the line of the first byte that is not UTF-8, and the key around it")
    func notUTF8() throws {
        let path = FileManager.default.temporaryDirectory.path + "/latin1-\(UUID().uuidString).yml"
        try Data("mode: enforce\nprotected:\n  - arm".utf8 + [0xE9] + Data("e.fr\n".utf8)).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect {
            try ConfigurationLoader.load(path: path)
        } throws: { error in
            (error as? ConfigurationError)?.description == "\(path):3: protected: not UTF-8 text (byte 0xE9); save the file as UTF-8"
        }
    }

    @Test("reports an unreadable file and a missing suffix list by name")
    func missingFiles() throws {
        #expect(throws: ConfigurationError.self) { try ConfigurationLoader.load(path: "/nonexistent/m.yml") }
        var configuration = Configuration.defaults
        configuration.publicSuffixListPath = "/nonexistent/psl.dat"
        #expect {
            try Engine.load(configuration, file: "x.yml", generation: 1)
        } throws: { error in
            (error as? ConfigurationError)?.description.hasPrefix("x.yml: public_suffix_list: cannot read /nonexistent/psl.dat") == true
        }
    }

    @Test("reads the operations keys: log target, syslog, metrics, user, sender override")
    func operations() throws {
        let configuration = try ConfigurationLoader.parse("""
            log_target: json
            syslog_facility: local3
            syslog_socket: /run/systemd/journal/dev-log
            metrics_listen: "[::1]:9897"
            user: nobody
            sender_override: {header: X-Confirm-Recipient}
            """, file: "ops.yml")
        #expect(configuration.logTarget == .json)
        #expect(configuration.syslogFacility.name == "local3")
        #expect(configuration.syslogSocket == "/run/systemd/journal/dev-log")
        #expect(configuration.metricsListen?.description == "[::1]:9897")
        #expect(configuration.user == "nobody")
        #expect(configuration.senderOverride?.header == "X-Confirm-Recipient")
        #expect(try ConfigurationLoader.parse("sender_override: true\n", file: "x").senderOverride == SenderOverride())
        #expect(try ConfigurationLoader.parse("", file: "x").logTarget == .syslog)
    }

    @Test("reads the history section; absent, false or null turns it off")
    func history() throws {
        let configuration = try ConfigurationLoader.parse("""
            history:
              backend: postgresql
              postgresql: {host: /run/postgresql, port: 5433, user: mta, database: mail, tls: disable}
              record: authenticated
              addresses: true
              established: {messages: 5, days: 3}
              typo_ratio: 50
              retention_days: 90
              refresh_interval: 500ms
              flush_interval: 2m
              timeout: 1.5s
            """, file: "history.yml")
        let history = try #require(configuration.history)
        guard case .postgresql(let settings) = history.backend else {
            Issue.record("expected postgresql, got \(history.backend)")
            return
        }
        #expect(settings.host == "/run/postgresql" && settings.port == 5433 && settings.user == "mta" && settings.database == "mail")
        #expect(settings.tls == .disable)
        #expect(settings.connectTimeout == .milliseconds(1500))
        #expect(history.scope == .authenticated)
        #expect(history.addresses)
        #expect(history.threshold == EstablishedThreshold(messages: 5, days: 3))
        #expect(history.typoRatio == 50)
        #expect(history.service.retentionDays == 90)
        #expect(history.service.refreshInterval == .milliseconds(500))
        #expect(history.service.flushInterval == .seconds(120))
        #expect(history.location == "postgresql mta@/run/postgresql:5433/mail")

        let defaults = try #require(try ConfigurationLoader.parse("history: true\n", file: "t.yml").history)
        #expect(defaults.backend == .sqlite)
        #expect(defaults.sqlitePath == "/var/lib/misdirect-milter/history.sqlite")
        #expect(defaults.threshold == EstablishedThreshold(messages: 3, days: 2))
        #expect(try ConfigurationLoader.parse("history: false\n", file: "t.yml").history == nil)
        #expect(try ConfigurationLoader.parse("protected: [mil]\n", file: "t.yml").history == nil)
    }

    @Test("names the line and key of a bad history section", arguments: [
        ("history:\n  backend: mysql\n", "h.yml:2: history.backend: unknown backend \"mysql\"; expected sqlite or postgresql"),
        ("history:\n  retension_days: 30\n", "h.yml:2: history.retension_days: unknown key; did you mean \"retention_days\"?"),
        ("history:\n  refresh_interval: soon\n", "h.yml:2: history.refresh_interval: \"soon\" is not a duration such as 500ms, 2s, 5m or 1h"),
        ("history:\n  established: {messages: 0}\n", "h.yml:2: history.established.messages: \"0\" is not a whole number of at least 1"),
        ("history:\n  record: outbound\n", "h.yml:2: history.record: unknown value \"outbound\"; expected all or authenticated"),
        ("history:\n  state_directory: var/lib\n", "h.yml:2: history.state_directory: expected an absolute path"),
        ("history:\n  postgresql: {password_file: /nonexistent/pw}\n", "h.yml:2: history.postgresql.password_file: cannot read /nonexistent/pw"),
    ])
    func historyErrors(text: String, expected: String) {
        Self.expectError(parsing: text, file: "h.yml", startingWith: expected)
    }

    @Test("a reload cannot move the history store, but can change its thresholds")
    func historyReload() throws {
        let old = try ConfigurationLoader.parse("history: {established: {messages: 3, days: 2}}\n", file: "a.yml")
        let thresholds = try ConfigurationLoader.parse("history: {established: {messages: 5, days: 2}, typo_ratio: 10}\n", file: "b.yml")
        let moved = try ConfigurationLoader.parse("history: {state_directory: /srv/history}\n", file: "c.yml")
        #expect(Reload.restartOnlyChanges(from: old, to: thresholds).isEmpty)
        #expect(Reload.restartOnlyChanges(from: old, to: moved) == ["history"])
        #expect(Reload.restartOnlyChanges(from: old, to: Configuration.defaults) == ["history"])
    }

    @Test("a reload keeps the review settings it says need a restart, and applies the rest")
    func reviewKeptOnReload() throws {
        let classifier = Classifier(protectedDomains: ["mil"], trustedDomains: [], suffixes: PublicSuffixList(rules: ["mil"]))
        let before = try ConfigurationLoader.parse("review: {mailbox: old@example.org, max_size: 1000}\nactions: {high: tag}\n", file: "a.yml")
        let after = try ConfigurationLoader.parse("review: {mailbox: new@example.org, relay: 127.0.0.1:2525}\nactions: {high: reject}\n", file: "b.yml")
        let old = Engine(configuration: before, classifier: classifier, generation: 1)
        let (engine, kept) = Reload.keepingRestartOnlySettings(of: old, in: Engine(configuration: after, classifier: classifier, generation: 2))
        #expect(kept == ["review"])
        #expect(engine.configuration.review == before.review, "the review mailbox of the start stays")
        #expect(engine.configuration.actions[.high] == .reject, "the policy is reloaded")
        #expect(engine.generation == 2)
        let dropped = Reload.keepingRestartOnlySettings(of: old, in: Engine(configuration: Configuration.defaults, classifier: classifier, generation: 2))
        #expect(dropped.kept == ["review"])
        #expect(dropped.engine.configuration.review == before.review)
    }
}
