import Foundation
import MisdirectionRisk
import Testing
import TestSupport

/// Every single-character look-alike of every protected entry is flagged (`medium` or above),
/// on several protected lists, unless the result is itself listed, under a specific listed
/// domain, or on the legitimate list. The look-alikes are made here, by rule, not taken from a
/// generator's output: so a rule passes by catching a whole class, not a corpus.
struct SingleEditPropertyTests {
    static let suffixes = PublicSuffixList(parsing: Repository.publicSuffixListText)

    static let legitimate: Set<String> = {
        let text = (try? String(contentsOfFile: EvaluationTests.directory + "/legitimate.txt", encoding: .utf8)) ?? ""
        return Set(text.split(separator: "\n").map(String.init).filter { !$0.isEmpty && !$0.hasPrefix("#") })
    }()

    static let evaluationList: [String] = {
        let text = (try? String(contentsOfFile: EvaluationTests.directory + "/protected.txt", encoding: .utf8)) ?? ""
        return text.split(separator: "\n").map(String.init).filter { !$0.isEmpty && !$0.hasPrefix("#") }
    }()

    static let lists: [(name: String, protected: [String])] = [
        ("packaged default", ["mil", "gov", "gov.uk"]),
        ("suffixes, suffix names and brands", [
            "mil", "army.mil", "navy.mil", "gov.uk", "nhs.uk", "nhs.net", "defence.gov.uk", "barclays.co.uk", "amazon.com",
            "outlook.com", "paypal.com", "netflix.com", "citibank.com", "bundeswehr.de",
        ]),
        ("the evaluation's 40 domains", evaluationList),
    ]

    /// Letters, digits and the hyphen: what an edit may put into a domain.
    static let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789-")

    /// Non-ASCII characters whose ICU skeleton is one ASCII letter or digit, by that character.
    static let confusables: [Character: [Character]] = {
        let skeletons = Confusables()
        var found: [Character: [Character]] = [:]
        for value in 0xA0...0x2FFFF {
            guard let scalar = Unicode.Scalar(value), scalar.properties.isAlphabetic || scalar.properties.numericType != nil else { continue }
            let text = String(scalar).lowercased()
            guard text.unicodeScalars.count == 1, text.unicodeScalars.first!.value >= 0x80 else { continue }
            let skeleton = skeletons.skeleton(text)
            guard skeleton.count == 1, let target = skeleton.first, alphabet.contains(Character(Unicode.Scalar(target))), target != UInt8(ascii: "-") else { continue }
            found[Character(Unicode.Scalar(target)), default: []].append(Character(text))
        }
        return found
    }()

    /// Every look-alike of `text` one character away, with the kind of change.
    static func oneCharacterChanges(of text: String) -> [(kind: String, result: String)] {
        let characters = Array(text)
        var out: [(String, String)] = []
        func add(_ kind: String, _ result: [Character]) { out.append((kind, String(result))) }
        for index in characters.indices {
            var omitted = characters
            let removed = omitted.remove(at: index)
            add(removed == "." || removed == "-" ? "punctuation dropped" : "omission", omitted)
            var repeated = characters
            repeated.insert(characters[index], at: index)
            if characters[index] != "." { add("repetition", repeated) }
            for letter in alphabet where letter != characters[index] {
                var changed = characters
                changed[index] = letter
                add(characters[index] == "." || letter == "-" || characters[index] == "-" ? "punctuation changed" : "substitution", changed)
            }
            for letter in alphabet + ["."] {
                var inserted = characters
                inserted.insert(letter, at: index)
                add(letter == "." || letter == "-" ? "punctuation added" : "insertion", inserted)
            }
            if index + 1 < characters.count, characters[index] != characters[index + 1] {
                var swapped = characters
                swapped.swapAt(index, index + 1)
                add(characters[index] == "." || characters[index + 1] == "." ? "dot moved" : "transposition", swapped)
            }
            for lookAlike in confusables[characters[index]] ?? [] {
                var changed = characters
                changed[index] = lookAlike
                add("homoglyph", changed)
            }
        }
        for letter in alphabet { add("insertion", characters + [letter]) }
        return out
    }

    /// The forms of an entry whose look-alikes must be flagged: the entry, a sub-domain of it,
    /// and for a whole suffix a name under it (only the suffix is changed then).
    static func forms(of entry: String) -> [(prefix: String, changed: String)] {
        if suffixes.isSuffix(entry) {
            var forms = [("records.", entry)]
            if entry.contains(".") { forms.append(("", entry)) }
            return forms
        }
        return [("", entry), ("hq.", entry)]
    }

    struct Miss: CustomStringConvertible {
        let list: String
        let kind: String
        let domain: String
        let verdict: String
        var description: String { "\(list) / \(kind): \(domain) → \(verdict)" }
    }

    static func misses() -> (checked: Int, misses: [Miss]) {
        var checked = 0
        var misses: [Miss] = []
        for list in lists {
            let classifier = Classifier(protectedDomains: list.protected, trustedDomains: [], suffixes: suffixes)
            let specific = list.protected.filter { !suffixes.isSuffix($0) }
            var seen = Set<String>()
            for entry in list.protected {
                for form in forms(of: entry) {
                    for change in oneCharacterChanges(of: form.changed) {
                        let domain = form.prefix + change.result
                        guard seen.insert(domain).inserted else { continue }
                        // Not a look-alike: listed, under a specific listed domain, or real.
                        if list.protected.contains(domain) || legitimate.contains(domain) { continue }
                        if specific.contains(where: { domain == $0 || domain.hasSuffix("." + $0) }) { continue }
                        // Not a domain at all: an empty label, a hyphen at a label's end, no dot.
                        let labels = domain.split(separator: ".", omittingEmptySubsequences: false)
                        if labels.count < 2 || labels.contains(where: { $0.isEmpty || $0.hasPrefix("-") || $0.hasSuffix("-") }) { continue }
                        checked += 1
                        let verdict = classifier.classify(path: EmailAddress.parseAddressOrDomain(domain), input: domain)
                        if verdict.level < .medium {
                            misses.append(Miss(list: list.name, kind: change.kind, domain: domain, verdict: "\(verdict.level) \(verdict.rules) \(verdict.note ?? "")"))
                        }
                    }
                }
            }
        }
        return (checked, misses)
    }

    @Test("ICU gives look-alikes for most letters and digits")
    func confusablesFound() {
        #expect(Self.confusables.count >= 30, "\(Self.confusables.keys.sorted())")
        #expect(Self.confusables["a"]?.contains("а") == true)  // Cyrillic а
    }

    @Test("every one-character look-alike of every protected entry is flagged, on every list")
    func everyOneCharacterLookAlike() {
        let (checked, misses) = Self.misses()
        print("SingleEditPropertyTests: \(checked) one-character look-alikes of \(Self.lists.map(\.protected.count).reduce(0, +)) entries on \(Self.lists.count) lists, \(misses.count) missed")
        #expect(checked > 100_000)
        var byKind: [String: Int] = [:]
        for miss in misses { byKind[miss.list + " / " + miss.kind, default: 0] += 1 }
        #expect(misses.isEmpty, "\(misses.count) of \(checked) missed: \(byKind.sorted { $0.key < $1.key }); e.g. \(misses.prefix(40).map(\.description))")
    }
}
