import Foundation
import PostgresHarness
import Testing
import TestSupport
import Yams

import MisdirectMilterKit

/// misdirect-milter.yml(5) and the packaged misdirect-milter.yml held to the one declaration of
/// keys, ``ConfigurationLoader/keys``: every key documented in both, no key that does not exist,
/// and the packaged file's commented examples loadable.
struct ConfigurationReferenceTests {
    /// A key path as the man page writes its tags (`review.mailbox`), `*` standing for any name
    /// of a table (`actions.*`, `rules.*.mode`), with the names and values it must mention.
    struct Documented {
        let path: String
        /// For a table, the names it is keyed by: risk levels, rule ids.
        let names: [String]
        /// The values it takes, when they are a fixed set.
        let values: [String]
    }

    /// Every key of the declaration, in its order.
    static let declared: [Documented] = flatten(ConfigurationLoader.keys, at: "")

    /// `key` at `path` and everything under it. A table's entries come under `path.*`: as one
    /// key when they hold a value (`actions.*`), by their own keys when they are sections
    /// (`rules.*.action`).
    static func flatten(_ key: ConfigurationKey, at path: String) -> [Documented] {
        let prefix = path.isEmpty ? "" : path + "."
        if key.names.isEmpty {
            let own = path.isEmpty ? [] : [Documented(path: path, names: [], values: key.values)]
            return own + key.keys.flatMap { flatten($0, at: prefix + $0.name) }
        }
        let table = Documented(path: path, names: key.names, values: [])
        if key.keys.isEmpty { return [table, Documented(path: prefix + "*", names: [], values: key.values)] }
        return [table] + key.keys.flatMap { flatten($0, at: prefix + "*." + $0.name) }
    }

    static let repository = URL(fileURLWithPath: Repository.root)

    static func read(_ path: String) throws -> String {
        try String(contentsOf: repository.appendingPathComponent(path), encoding: .utf8)
    }

    @Test("the man page documents every key, and only keys that exist")
    func manPageKeys() throws {
        let page = ManPageKeys(try Self.read("packaging/misdirect-milter.yml.5"))
        let declared = Self.declared.map(\.path)
        #expect(declared.filter { page.entries[$0] == nil } == [], "declared but not in misdirect-milter.yml(5)")
        #expect(page.tags.filter { !declared.contains($0) } == [], "in misdirect-milter.yml(5) but not declared")
    }

    @Test("the man page names every rule id, risk level and value each key takes, in bold in the key's entry")
    func manPageValues() throws {
        let page = ManPageKeys(try Self.read("packaging/misdirect-milter.yml.5"))
        for key in Self.declared {
            guard let bold = page.entries[key.path] else { continue }
            #expect((key.names + key.values).filter { !bold.contains($0) } == [], "not in the entry for \(key.path)")
        }
    }

    @Test("the packaged file holds every key, set or as a commented example, and only keys that exist")
    func packagedKeys() throws {
        let text = try Self.read("packaging/misdirect-milter.yml")
        let root = try #require(try Yams.compose(yaml: Self.uncommented(text)))
        let found = Self.paths(root, of: ConfigurationLoader.keys, at: "")
        let declared = Self.declared.map(\.path)
        #expect(declared.filter { !found.contains($0) } == [], "declared but not in packaging/misdirect-milter.yml")
        #expect(found.filter { !declared.contains($0) } == [], "in packaging/misdirect-milter.yml but not declared")
        let names = Self.declared.flatMap(\.names).filter { !Self.mentions(text, $0) }
        #expect(names == [], "risk levels or rule ids not in packaging/misdirect-milter.yml")
    }

    @Test("the packaged file loads with every commented example uncommented")
    func packagedExamplesLoad() throws {
        let text = Self.uncommented(try Self.read("packaging/misdirect-milter.yml"))
        let root = try #require(try Yams.compose(yaml: text))
        // Values that name accounts and files of the host, replaced by some this test has.
        let directory = FileManager.default.temporaryDirectory.path + "/reference-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        func file(_ name: String, _ contents: String, mode: mode_t) -> String {
            let path = "\(directory)/\(name)"
            _ = FileManager.default.createFile(atPath: path, contents: Data(contents.utf8))
            chmod(path, mode)
            return path
        }
        let user = String(cString: getpwuid(getuid()).pointee.pw_name)
        let group = String(cString: getgrgid(getgid()).pointee.gr_name)
        let postgresql = root["history"]?["postgresql"]
        let replacements: [(Node?, String)] = [
            (root["user"], user), (root["group"], group), (root["socket_group"], group),
            (postgresql?["password_file"], file("password", "secret\n", mode: 0o600)),
            (postgresql?["ca_file"], file("ca.pem", TestCertificates.ca, mode: 0o644)),
            (postgresql?["client_certificate"], file("client.pem", TestCertificates.clientCertificate, mode: 0o644)),
            (postgresql?["client_key"], file("client.key", TestCertificates.clientKey, mode: 0o600)),
        ]

        // Lines as in the packaged file, so an error names the line to fix there.
        let configuration = try ConfigurationLoader.parse(
            Self.replacing(replacements, in: text), file: "packaging/misdirect-milter.yml, examples uncommented")
        #expect(configuration.review != nil && configuration.senderOverride != nil && configuration.metricsListen != nil)
        #expect(!configuration.rules.isEmpty)
    }

    /// `text` with the plain value each node starts with replaced, up to a comment or the end
    /// of its line; every line stays where it was.
    static func replacing(_ replacements: [(Node?, String)], in text: String) -> String {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        for case let (node?, value) in replacements {
            guard let mark = node.mark else { continue }
            let line = lines[mark.line - 1]
            let start = line.index(line.startIndex, offsetBy: mark.column - 1)
            let end = line[start...].range(of: " #")?.lowerBound ?? line.endIndex
            lines[mark.line - 1] = line[..<start] + value + line[end...]
        }
        return lines.joined(separator: "\n")
    }

    /// The packaged file with its examples uncommented. An example starts at `#key:` (no space
    /// after the `#`) and goes on over the lines below it, at the same indentation, that go on
    /// with `#` and two spaces or more. Prose (`# text`, with examples in it indented further)
    /// stays commented.
    static func uncommented(_ text: String) -> String {
        var example: String?
        return text.split(separator: "\n", omittingEmptySubsequences: false).map { line in
            let indent = line.prefix { $0 == " " }
            let rest = line.dropFirst(indent.count)
            if let example, line.hasPrefix(example + "  ") { return String(indent + rest.dropFirst()) }
            example = nil
            guard rest.prefixMatch(of: /#[a-z_]+:/) != nil else { return String(line) }
            example = String(indent) + "#"
            return String(indent + rest.dropFirst())
        }.joined(separator: "\n")
    }

    /// Whether `word` is in `text`, not as part of a longer name (`typo` in `double-typo`).
    static func mentions(_ text: String, _ word: String) -> Bool {
        let partOfName: (Character?) -> Bool = { $0.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" } ?? false }
        return text.ranges(of: word).contains { range in
            !partOfName(range.lowerBound == text.startIndex ? nil : text[text.index(before: range.lowerBound)])
                && !partOfName(range.upperBound == text.endIndex ? nil : text[range.upperBound])
        }
    }

    /// The key paths of a YAML mapping, named as in ``declared``; keys not declared are kept, to
    /// be reported.
    static func paths(_ node: Node, of key: ConfigurationKey?, at path: String) -> [String] {
        guard case .mapping(let mapping) = node else { return [] }
        let prefix = path.isEmpty ? "" : path + "."
        var paths: [String] = []
        for (nameNode, value) in mapping {
            let name = nameNode.string ?? "?"
            if let key, !key.names.isEmpty {
                // A table entry: its name must be one of the table's.
                let entry = prefix + (key.names.contains(name) ? "*" : name)
                paths += key.keys.isEmpty ? [entry] : self.paths(value, of: ConfigurationKey(name, keys: key.keys), at: entry)
            } else {
                let sub = key?[name]
                paths.append(prefix + name)
                paths += self.paths(value, of: sub, at: prefix + name)
            }
        }
        return paths
    }
}

/// The KEYS section of a man page: each `.TP` entry's tag as a key path, with the words its
/// entry sets in bold. A tag is bold text with the placeholders in italics
/// (`.BI rules. RULE .action`, read as `rules.*.action`).
struct ManPageKeys {
    /// The tags, in the page's order.
    private(set) var tags: [String] = []
    /// Each tag's bold words.
    private(set) var entries: [String: Set<String>] = [:]

    init(_ text: String) {
        var section = ""
        var current: String?
        var tagNext = false
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let (macro, arguments) = Self.macro(line)
            if macro == "SH" {
                section = arguments.joined(separator: " ")
                current = nil
                continue
            }
            guard section == "KEYS" else { continue }
            if macro == "TP" {
                tagNext = true
                continue
            }
            let fonts = Self.fonts(macro, arguments)
            if tagNext {
                tagNext = false
                let tag = fonts.map { $0.bold ? $0.text : "*" }.joined()
                tags.append(tag)
                entries[tag, default: []] = []
                current = tag
                continue
            }
            guard let current else { continue }
            let bold = fonts.filter(\.bold).map(\.text) + Self.inlineBold(macro == nil ? String(line) : "")
            for text in bold {
                for word in text.split(whereSeparator: { " ,;(){}/\"".contains($0) }) {
                    entries[current]?.insert(String(word).trimmingCharacters(in: CharacterSet(charactersIn: ".:")))
                }
            }
        }
    }

    /// The macro of a request line (`.BR`), nil for text, and its arguments: separated by spaces,
    /// or in double quotes (`""` for a quote inside them).
    static func macro(_ line: Substring) -> (String?, [String]) {
        guard line.hasPrefix("."), !line.hasPrefix(".\\\"") else { return (nil, []) }
        let name = line.dropFirst().prefix { $0 != " " }
        var arguments: [String] = []
        var current: String?
        var quoted = false
        var characters = line.dropFirst(1 + name.count)[...]
        while let character = characters.popFirst() {
            switch character {
            case "\"" where quoted && characters.first == "\"":
                characters.removeFirst()
                current?.append("\"")
            case "\"" where quoted:
                quoted = false
            case "\"" where current == nil:
                quoted = true
                current = ""
            case " " where !quoted:
                if let done = current { arguments.append(unescape(done)) }
                current = nil
            default:
                current = (current ?? "") + String(character)
            }
        }
        if let current { arguments.append(unescape(current)) }
        return (String(name), arguments)
    }

    /// The arguments of a font macro with their fonts: `.B` all bold, `.BR` and `.BI` alternate
    /// starting bold, `.RB` and `.IB` starting roman or italic. Other requests are not text.
    static func fonts(_ macro: String?, _ arguments: [String]) -> [(text: String, bold: Bool)] {
        switch macro {
        case "B": arguments.map { ($0, true) }
        case "BR", "BI": arguments.enumerated().map { ($1, $0 % 2 == 0) }
        case "RB", "IB": arguments.enumerated().map { ($1, $0 % 2 == 1) }
        case "I", "IR", "RI": arguments.map { ($0, false) }
        default: []
        }
    }

    /// The `\fB…\fR` (or `\fP`, `\fI`) runs of a text line.
    static func inlineBold(_ line: String) -> [String] {
        line.matches(of: /\\fB(.*?)\\f[RPI]/).map { unescape(String($0.1)) }
    }

    static func unescape(_ text: String) -> String {
        text.replacingOccurrences(of: "\\-", with: "-").replacingOccurrences(of: "\\&", with: "")
            .replacingOccurrences(of: "\\e", with: "\\")
    }
}
