// misdirect-bench: how fast the classifier is, against a straightforward linear scan measured in
// the same run, with 10, 1,000, 10,000 and 100,000 protected domains.
//
//     swift build -c release --product misdirect-bench && .build/release/misdirect-bench [--quick] [--index-only]
//     valgrind --tool=callgrind .build/release/misdirect-bench --profile 1000
//     .build/release/misdirect-bench --verdicts 1000 > verdicts.txt
//
// Recipients are a fixed mix of 90% legitimate addresses (protected domains, their sub-domains,
// unrelated domains) and 10% look-alikes (typos, suffix confusions, homoglyphs, structure
// tricks), generated from a seeded generator so every run sees the same data. Prints one table
// row per size: index build time, index memory, recipients per second for the index and for
// the linear scan, and the ratio. One thread. Not a test: figures depend on the machine.
import Foundation
import MisdirectionRisk

/// SplitMix64: small, seeded, the same on every machine.
struct Generator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }
    mutating func pick<T>(_ items: [T]) -> T { items[below(items.count)] }
}

let syllables = ["ar", "my", "na", "vy", "co", "rp", "ba", "nk", "he", "al", "th", "mi", "ni", "st", "ry", "de",
                 "fe", "nce", "po", "rt", "lo", "gi", "tec", "ser", "vi", "ce", "ma", "il", "tra", "de", "in", "fo"]
let suffixes = ["com", "com", "com", "org", "net", "co.uk", "gov", "gov.uk", "de", "fr", "mil", "ac.uk", "io", "edu", "nhs.uk"]

func name(_ generator: inout Generator) -> String {
    (0..<(2 + generator.below(4))).map { _ in generator.pick(syllables) }.joined()
}

func protectedDomains(_ count: Int, seed: UInt64) -> [String] {
    var generator = Generator(state: seed)
    var seen = Set<String>()
    while seen.count < count {
        seen.insert("\(name(&generator)).\(generator.pick(suffixes))")
    }
    return seen.sorted()
}

/// One look-alike of `domain`, of a kind picked at random.
func lookAlike(_ domain: String, _ generator: inout Generator) -> String {
    var bytes = Array(domain.utf8)
    let dot = bytes.firstIndex(of: UInt8(ascii: "."))!
    let position = generator.below(dot)
    switch generator.below(6) {
    case 0: bytes.remove(at: position)
    case 1: bytes.insert(bytes[position], at: position)
    case 2: bytes[position] = UInt8(ascii: "a") + UInt8(generator.below(26))
    case 3 where position + 1 < dot: bytes.swapAt(position, position + 1)
    case 4: bytes.removeLast()  // the suffix loses its last letter: .com → .co
    default: bytes.remove(at: dot)  // structure: armymil.com
        bytes += Array(".com".utf8)
    }
    return String(decoding: bytes, as: UTF8.self)
}

func recipients(protected: [String], count: Int, seed: UInt64) -> [EmailAddress] {
    var generator = Generator(state: seed)
    return (0..<count).map { index in
        let domain: String
        switch index % 10 {
        case 0: domain = lookAlike(generator.pick(protected), &generator)
        case 1, 2: domain = generator.pick(protected)
        case 3: domain = "mail." + generator.pick(protected)
        default: domain = "\(name(&generator))x.\(generator.pick(suffixes))"
        }
        return EmailAddress(localPart: "user", domain: domain)
    }
}

/// The straightforward way: compare the recipient with every protected domain in turn.
struct LinearScan {
    let protected: [[UInt8]]
    let labelCounts: [Int]

    init(_ domains: [String]) {
        protected = domains.map { Array($0.utf8) }
        labelCounts = protected.map { $0.reduce(1) { $0 + ($1 == UInt8(ascii: ".") ? 1 : 0) } }
    }

    /// True when some protected domain is within one edit of the recipient's last labels.
    func flags(_ domain: String) -> Bool {
        let bytes = Array(domain.utf8)
        var dots: [Int] = []
        for (index, byte) in bytes.enumerated() where byte == UInt8(ascii: ".") { dots.append(index) }
        for (entry, labels) in zip(protected, labelCounts) {
            guard labels <= dots.count + 1 else { continue }
            let start = labels == dots.count + 1 ? 0 : dots[dots.count - labels] + 1
            let tail = bytes[start...]
            guard abs(tail.count - entry.count) <= 1 else { continue }
            if let distance = EditDistance.distance(tail, entry, limit: 1), distance == 1 { return true }
        }
        return false
    }
}

func now() -> Double {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
}

/// Runs `body` over `items` repeatedly for at least `seconds`; returns items per second.
func rate<T>(_ items: [T], seconds: Double, minimum: Int = 1, _ body: (T) -> Bool) -> (rate: Double, flagged: Int) {
    var done = 0, flagged = 0
    let start = now()
    var elapsed = 0.0
    repeat {
        for item in items {
            if body(item) { flagged += 1 }
            done += 1
            if done % 64 == 0 {
                elapsed = now() - start
                if elapsed >= seconds && done >= minimum { break }
            }
        }
        elapsed = now() - start
    } while elapsed < seconds || done < minimum
    return (Double(done) / elapsed, flagged)
}

/// Resident memory of the process, from /proc/self/statm.
func residentBytes() -> Int {
    guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
    let fields = text.split(separator: " ")
    return fields.count > 1 ? (Int(fields[1]) ?? 0) * Int(sysconf(Int32(_SC_PAGESIZE))) : 0
}

func formatted(_ value: Double) -> String {
    let rounded = Int(value.rounded())
    var text = String(rounded)
    var index = text.count - 3
    while index > 0 {
        text.insert(",", at: text.index(text.startIndex, offsetBy: index))
        index -= 3
    }
    return text
}

/// One decimal.
func fixed(_ value: Double) -> String {
    let tenths = Int((value * 10).rounded())
    return "\(tenths / 10).\(abs(tenths % 10))"
}

func padded(_ text: String, _ width: Int) -> String {
    String(repeating: " ", count: max(0, width - text.count)) + text
}

let quick = CommandLine.arguments.contains("--quick")
/// Skips the linear scan (for profiling the index alone).
let indexOnly = CommandLine.arguments.contains("--index-only")
/// `--profile N`: builds the index for N domains and classifies the sample once, untimed, for
/// an instruction profiler (callgrind counts the same on a busy machine; a timed loop does not).
let profileSize = sizeArgument("--profile")
/// `--verdicts N`: prints every verdict of the sample for N domains in full, to diff before and
/// after a change meant to make the classifier faster without changing what it says.
let verdictsSize = sizeArgument("--verdicts")
/// `--messages`: whole messages as the milter sees them at end of message (recipients
/// classified, headers read, the message reassessed), instead of the recipient table.
let messagesOnly = CommandLine.arguments.contains("--messages")
/// `--headers`: one hostile message at end of message, 1,000 recipients and 100,000 addresses
/// in its To fields: the time and memory the reassessment takes.
let headersOnly = CommandLine.arguments.contains("--headers")

func sizeArgument(_ name: String) -> Int? {
    CommandLine.arguments.firstIndex(of: name).flatMap { index in
        index + 1 < CommandLine.arguments.count ? Int(CommandLine.arguments[index + 1]) : nil
    }
}
let suffixText = (try? String(contentsOfFile: PublicSuffixList.debianPath, encoding: .utf8)) ?? ""
let suffixList = suffixText.isEmpty
    ? PublicSuffixList(rules: ["com", "org", "net", "uk", "co.uk", "gov.uk", "ac.uk", "nhs.uk", "gov", "mil", "de", "fr", "io", "edu"])
    : PublicSuffixList(parsing: suffixText)

if let size = profileSize ?? verdictsSize {
    let domains = protectedDomains(size, seed: 42)
    let sample = recipients(protected: domains, count: 20_000, seed: 7)
    let classifier = Classifier(protectedDomains: domains, trustedDomains: [], suffixes: suffixList, confusables: Confusables())
    if verdictsSize != nil {
        for recipient in sample { print(String(reflecting: classifier.classify(recipient))) }
        exit(0)
    }
    let flagged = sample.reduce(0) { $0 + (classifier.classify($1).level > .none ? 1 : 0) }
    print("misdirect-bench: \(size) protected domains, \(sample.count) recipients classified once, \(flagged) flagged")
    exit(0)
}
if messagesOnly {
    benchmarkMessages()
    exit(0)
}
if headersOnly {
    benchmarkHugeHeaders()
    exit(0)
}
print("misdirect-bench: one thread, 90% legitimate / 10% look-alike recipients\(quick ? " (quick)" : "")")
print("| protected domains | index build | index memory | resident growth | indexed rcpt/s | linear scan rcpt/s | speed-up |")
print("|---:|---:|---:|---:|---:|---:|---:|")
let confusables = Confusables()
for size in [10, 1_000, 10_000, 100_000] {
    let domains = protectedDomains(size, seed: 42)
    let sample = recipients(protected: domains, count: 20_000, seed: 7)
    let residentBefore = residentBytes()
    let buildStart = now()
    let classifier = Classifier(protectedDomains: domains, trustedDomains: [], suffixes: suffixList, confusables: confusables)
    let buildTime = now() - buildStart
    let residentGrowth = residentBytes() - residentBefore
    let indexed = rate(sample, seconds: quick ? 0.3 : 2) { classifier.classify($0).level > .none }
    let linear = LinearScan(domains)
    let scanned = indexOnly ? (rate: 1.0, flagged: 0) : rate(sample, seconds: quick ? 0.3 : 2, minimum: 50) { linear.flags($0.domain) }
    let build = fixed(buildTime * 1000) + " ms"
    let memory = fixed(Double(classifier.indexMemoryFootprint) / 1_048_576) + " MB"
    let growth = fixed(Double(residentGrowth) / 1_048_576) + " MB"
    let speedUp = formatted(indexed.rate / scanned.rate) + "×"
    let row: [String] = [formatted(Double(size)), build, memory, growth, formatted(indexed.rate), formatted(scanned.rate), speedUp]
    print("| " + row.enumerated().map { padded($1, $0 == 0 ? 7 : 10) }.joined(separator: " | ") + " |")
    withExtendedLifetime(classifier) {}
}

/// Per message, the work of end of message for the end-to-end benchmark's mail (five recipients
/// at one domain, From and To headers): classifying the recipients alone is the baseline, then
/// the reassessment with the sender at the recipients' domain, then at another protected domain
/// (the odd-one-out rule then compares the recipients with the sender's domain).
func benchmarkMessages() {
    let domains = ["mil", "gov", "gov.uk", "example.org"]
    let classifier = Classifier(protectedDomains: domains, trustedDomains: [], suffixes: suffixList, confusables: Confusables())
    let recipients = (0..<5).compactMap { index -> EmailAddress? in
        if case .address(let address) = EmailAddress.parsePath(Array("<\(index)someone@army.mil>".utf8)) { return address }
        return nil
    }
    func message(from sender: String) -> [(name: String, value: String)] {
        [("From", "<\(sender)>"), ("To", "<someone@army.mil>"), ("Subject", "test"), ("Message-Id", "<1@example>")]
    }
    let cases: [(String, [(name: String, value: String)]?)] = [
        ("classify 5 recipients (baseline)", nil),
        ("+ reassess, sender at army.mil", message(from: "alice@army.mil")),
        ("+ reassess, sender at example.org", message(from: "alice@example.org")),
    ]
    print("misdirect-bench --messages: one thread, 5 recipients at army.mil, medians of 5 runs of 1 s")
    print("| message | µs/message | vs baseline |")
    print("|---|---:|---:|")
    var baseline = 0.0
    for (name, headers) in cases {
        let senderAddress: EmailAddress? = headers.flatMap { fields in
            if case .address(let address) = EmailAddress.parsePath(Array(fields[0].value.utf8)) { return address }
            return nil
        }
        let runs = (0..<5).map { _ in
            rate([()], seconds: quick ? 0.2 : 1) { _ in
                let verdicts = recipients.map { classifier.classify($0) }
                guard let headers else { return verdicts.isEmpty }
                let context = MessageContext(headers: headers, envelopeSender: senderAddress)
                return classifier.assess(verdicts, context: context).verdicts.contains { $0.level > .none }
            }.rate
        }.sorted()
        let microseconds = 1e6 / runs[2]
        if headers == nil { baseline = microseconds }
        print("| \(name) | \(fixed(microseconds)) | \(fixed(microseconds / baseline))× |")
    }
}

/// End of message for 1,000 recipients (a tenth of them look-alikes of a protected domain) and
/// To fields naming 100,000 addresses: what the header caps bound. Two shapes: addresses at
/// 20,000 random domains; and the one that builds the most comparison indexes, recipient
/// domains used 1, 2, … 30 times in the headers beside 535 domains used once. Prints the time to
/// read the headers and reassess, and the resident growth.
func benchmarkHugeHeaders() {
    let protected = ["mil", "gov", "gov.uk", "example.org"]
    let classifier = Classifier(protectedDomains: protected, trustedDomains: [], suffixes: suffixList, confusables: Confusables())
    var generator = Generator(state: 11)
    func address(_ text: String) -> EmailAddress? {
        if case .address(let address) = EmailAddress.parsePath(Array("<\(text)>".utf8)) { return address }
        return nil
    }
    let recipientDomains = (0..<1_000).map { index in index % 10 == 0 ? lookAlike("army.mil", &generator) : name(&generator) + ".com" }
    let recipientList = recipientDomains.enumerated().compactMap { address("r\($0)@\($1)") }
    let randomDomains = (0..<20_000).map { _ in name(&generator) + ".com" }
    // Recipient domains 1…30 used that many times, then distinct domains once, repeated.
    let counted = (1...30).flatMap { count in Array(repeating: recipientDomains[count], count: count) }
        + (0..<535).map { "single\($0).example.net" }
    let shapes: [(String, (Int) -> String)] = [
        ("20,000 random domains", { _ in generator.pick(randomDomains) }),
        ("counts 1…30 at recipient domains", { counted[$0 % counted.count] }),
    ]
    print("misdirect-bench --headers: \(recipientList.count) recipients, 100 To fields of 1,000 addresses each")
    print("| header domains | read headers | reassess | resident growth | header addresses kept | flagged |")
    print("|---|---:|---:|---:|---:|---:|")
    for (shape, domain) in shapes {
        var fields: [(name: String, value: String)] = [("From", "Alice <alice@army.mil>"), ("Subject", "test")]
        for field in 0..<100 {
            let list = (0..<1_000).map { index in "\"User \(index)\" <u\(field * 1_000 + index)@\(domain(field * 1_000 + index))>" }
            fields.append(("To", list.joined(separator: ", ")))
        }
        let verdicts = recipientList.map { classifier.classify($0) }
        let residentBefore = residentBytes()
        let start = now()
        let context = MessageContext(headers: fields, envelopeSender: address("alice@army.mil"))
        let read = now()
        let assessment = classifier.assess(verdicts, context: context)
        let end = now()
        let growth = Double(residentBytes() - residentBefore) / 1_048_576
        let flagged = assessment.verdicts.filter { $0.level > .none }.count
        let row = [shape, "\(fixed((read - start) * 1000)) ms", "\(fixed((end - read) * 1000)) ms", "\(fixed(growth)) MB", "\(context.recipients.count)", "\(flagged)"]
        print("| " + row.joined(separator: " | ") + " |")
    }
}
