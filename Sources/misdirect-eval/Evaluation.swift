import MisdirectionRisk

/// Recall per kind of look-alike and false positives on legitimate domains, over the labelled
/// corpus built by `scripts/make-corpus` (evaluation/corpus.tsv).
///
/// A domain counts as flagged when the classifier puts it at `medium` or above: the level at
/// which the default policy acts (tag or reject).
struct Evaluation {
    /// Kinds of one-edit typos and suffix confusions, held to the higher aim.
    static let oneEditKinds: Set<String> = [
        "addition", "bitsquatting", "hyphenation", "insertion", "omission", "repetition", "replacement",
        "subdomain", "transposition", "vowel-swap", "sub-domain-typo", "suffix-confusion",
        "record-suffix-first-letter", "record-dot-moved", "record-suffix-letter-dropped", "record-sub-domain-suffix",
    ]
    /// Aims: recall on one-edit kinds, on every other kind, and the highest false-positive rate.
    static let oneEditRecallAim = 0.99
    static let otherRecallAim = 0.95
    static let falsePositiveAim = 0.003

    struct Row: Equatable {
        let kind: String
        let count: Int
        let flagged: Int
        let high: Int
        var recall: Double { count == 0 ? 0 : Double(flagged) / Double(count) }
        var aim: Double { Evaluation.oneEditKinds.contains(kind) ? Evaluation.oneEditRecallAim : Evaluation.otherRecallAim }
    }

    let rows: [Row]
    let legitimate: Int
    /// Per list of legitimate domains: how many, flagged (false positives), and reported `low`.
    let legitimateRows: [(kind: String, count: Int, flagged: Int, low: Int)]
    let falsePositives: [String]
    /// Up to five missed look-alikes per kind, to see what a rule lacks.
    let missed: [String: [String]]

    var falsePositiveRate: Double { legitimate == 0 ? 0 : Double(falsePositives.count) / Double(legitimate) }

    /// The labelled files of `evaluation/`, read one after the other: dnstwist's look-alikes
    /// and the legitimate neighbours (`scripts/make-corpus`), look-alikes written from the
    /// published record (`scripts/make-record-corpus`), and real mail providers
    /// (`scripts/make-legitimate-mail`).
    static let corpusFiles = ["corpus.tsv", "record.tsv", "legitimate-mail.tsv"]

    /// The text of every corpus file of `directory` that exists, or nil when none does.
    static func readCorpus(in directory: String, read: (String) -> String?) -> String? {
        let texts = corpusFiles.compactMap { read("\(directory)/\($0)") }
        return texts.isEmpty ? nil : texts.joined(separator: "\n")
    }

    /// Classifies every domain of `corpus` (the TSV text) against `protected`.
    init(protected: [String], corpus: String, suffixes: PublicSuffixList) {
        var counts: [String: (count: Int, flagged: Int, high: Int)] = [:]
        var missed: [String: [String]] = [:]
        var legitimate = 0
        var falsePositives: [String] = []
        var legitimateCounts: [String: (count: Int, flagged: Int, low: Int)] = [:]
        Self.forEachVerdict(protected: protected, corpus: corpus, suffixes: suffixes) { kind, domain, verdict in
            let flagged = verdict.level >= .medium
            if kind.hasPrefix("legitimate") {
                legitimate += 1
                var entry = legitimateCounts[kind] ?? (0, 0, 0)
                entry.count += 1
                if flagged {
                    entry.flagged += 1
                    falsePositives.append("\(domain) (\(verdict.rules.map(\.id).joined(separator: ",")))")
                } else if verdict.level == .low {
                    entry.low += 1
                }
                legitimateCounts[kind] = entry
                return
            }
            var entry = counts[kind] ?? (0, 0, 0)
            entry.count += 1
            if flagged { entry.flagged += 1 } else if missed[kind, default: []].count < 5 { missed[kind, default: []].append(domain) }
            if verdict.level == .high { entry.high += 1 }
            counts[kind] = entry
        }
        rows = counts.keys.sorted().map { Row(kind: $0, count: counts[$0]!.count, flagged: counts[$0]!.flagged, high: counts[$0]!.high) }
        self.legitimate = legitimate
        legitimateRows = legitimateCounts.keys.sorted().map { (kind: $0, count: legitimateCounts[$0]!.count, flagged: legitimateCounts[$0]!.flagged, low: legitimateCounts[$0]!.low) }
        self.falsePositives = falsePositives
        self.missed = missed
    }

    /// Classifies every domain of `corpus` (the TSV text) against `protected`, in order, and
    /// calls `body` with its kind, the domain and the verdict.
    static func forEachVerdict(
        protected: [String], corpus: String, suffixes: PublicSuffixList, _ body: (String, String, RecipientVerdict) -> Void
    ) {
        let classifier = Classifier(protectedDomains: protected, trustedDomains: [], suffixes: suffixes)
        for line in corpus.split(separator: "\n") where !line.hasPrefix("#") {
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false)
            guard fields.count >= 2 else { continue }
            let domain = String(fields[1])
            body(String(fields[0]), domain, classifier.classify(path: EmailAddress.parseAddressOrDomain("j@" + domain), input: domain))
        }
    }

    /// True when every kind meets its recall aim and false positives stay under theirs.
    var meetsAims: Bool {
        rows.allSatisfy { $0.recall >= $0.aim } && falsePositiveRate <= Self.falsePositiveAim
    }

    /// The Markdown table behind docs/performance-and-accuracy.md's "Accuracy".
    var table: String {
        var lines = ["| kind | look-alikes | flagged (≥ medium) | recall | high | aim |", "|---|---:|---:|---:|---:|---:|"]
        for row in rows {
            let mark = row.recall >= row.aim ? "" : " (missed)"
            lines.append("| \(row.kind) | \(row.count) | \(row.flagged) | \(percent(row.recall)) | \(row.high) | ≥ \(percent(row.aim, decimals: 0))\(mark) |")
        }
        let total = rows.reduce(0) { $0 + $1.count }, flagged = rows.reduce(0) { $0 + $1.flagged }
        lines.append("| **all look-alikes** | \(total) | \(flagged) | \(percent(total == 0 ? 0 : Double(flagged) / Double(total))) | | |")
        for row in legitimateRows where legitimateRows.count > 1 {
            lines.append("| \(row.kind) (false positives; low) | \(row.count) | \(row.flagged) | \(percent(Double(row.flagged) / Double(max(1, row.count)))) | \(row.low) low | |")
        }
        lines.append("| **legitimate (false positives)** | \(legitimate) | \(falsePositives.count) | \(percent(falsePositiveRate)) | | ≤ \(percent(Self.falsePositiveAim, decimals: 1)) |")
        return lines.joined(separator: "\n")
    }

    private func percent(_ value: Double, decimals: Int = 1) -> String {
        let scale = decimals == 0 ? 1.0 : 10.0
        let scaled = Int((value * 100 * scale).rounded())
        return decimals == 0 ? "\(scaled)%" : "\(scaled / 10).\(scaled % 10)%"
    }
}
