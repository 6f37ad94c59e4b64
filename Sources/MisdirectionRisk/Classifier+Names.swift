extension Classifier {
    /// What is left to look for when nothing within an edit or two of a protected domain was
    /// found: a name with several look-alike letters (`bareiays.co.uk` for `barclays.co.uk`,
    /// `i` for `l` and `e` for `c`), a sub-domain without its dot (`mailarmy.mil`), else a
    /// protected name under another suffix (`barclays.us`, `amazon.org`, `army.mo`).
    func scanNames(_ prepared: DomainBytes, domain: String, into findings: inout Findings) {
        let bytes = prepared.bytes, n = bytes.count
        guard n > 0, n <= 253, !prepared.traits.hasNonASCII else { return }
        // Windows that end the domain, in their visual form: one pass hashes it, keeping the
        // prefix hash at each label start.
        let tables = index.nameTables
        let visualForms = tables.visualForms.view
        var windows = 0
        for label in 0..<(prepared.labelCount - 1) where tables.visualLengths.contains(labels: prepared.labelCount - label, length: n - prepared.starts[label]) {
            windows += 1
        }
        if windows > 0 {
            withUnsafeTemporaryAllocation(of: UInt64.self, capacity: DomainBytes.maximumLabels + 1) { starts in
                NameTables.visualClass.withUnsafeBufferPointer { classes in
                    let (hash, labels) = NameTables.visualHash(bytes, classes: classes, labelStarts: starts)
                    let powers = prepared.hasher.powers
                    for label in 0..<min(labels - 1, prepared.labelCount - 1) {
                        let window = n - prepared.starts[label]
                        visualForms.forEachValue(hash &- starts[label] &* powers[window], length: window) { value in
                            guard findings.isEmpty else { return }
                            let entry = index.entries[Int(value)]
                            let rawStart = prepared.starts[label]
                            guard Self.looksAlike(entry.domain, UnsafeBufferPointer(rebasing: bytes[rawStart...])) else { return }
                            let suspected = Self.text(bytes, 0, rawStart) + entry.domain
                            findings.add(Finding(
                                rule: .homoglyph, score: 0.9, suspected: suspected,
                                explanation: .lookAlikeCharacters(domain, suspected)))
                        }
                    }
                }
            }
        }
        guard findings.isEmpty else { return }
        // A sub-domain written without its dot (`mailarmy.mil`, `uscitibank.com`: the
        // "doppelganger domains" of 2011): a label that ends in a protected name, followed by
        // that name's suffix.
        let registrables = tables.registrables.view, tails = tables.registrableTails.view
        for suffixLabels in 1..<prepared.labelCount where tables.registrableSuffixSizes & (1 << UInt64(suffixLabels)) != 0 {
            let label = prepared.labelCount - 1 - suffixLabels
            let start = prepared.starts[label], end = prepared.starts[label + 1] - 1
            guard end - start >= NameTables.minimumJoinedPrefix + NameTables.minimumJoinedNameLength else { continue }
            let tail = end - NameTables.minimumJoinedNameLength
            guard tails.mayContain(prepared.hasher.range(tail, n), length: n - tail) else { continue }
            for nameStart in (start + NameTables.minimumJoinedPrefix)...(end - NameTables.minimumJoinedNameLength) {
                registrables.forEachValue(prepared.hasher.range(nameStart, n), length: n - nameStart) { value in
                    guard findings.isEmpty else { return }
                    let entry = index.entries[Int(value)]
                    guard entry.domain.utf8.elementsEqual(bytes[nameStart..<n]) else { return }
                    let suspected = Self.text(bytes, 0, nameStart) + "." + entry.domain
                    findings.add(Finding(rule: .structure, score: 0.9, suspected: suspected, explanation: .punctuation(domain, suspected)))
                }
            }
            if !findings.isEmpty { return }
        }
        // Each label but the last, as the name of a protected domain.
        let names = tables.names.view
        for label in 0..<(prepared.labelCount - 1) {
            let start = prepared.starts[label], end = prepared.starts[label + 1] - 1
            guard end - start >= NameTables.minimumNameLength else { continue }
            names.forEachValue(prepared.hasher.range(start, end), length: end - start) { value in
                guard findings.isEmpty else { return }
                let entry = index.entries[Int(value)]
                guard let range = NameTables.nameRange(of: entry) else { return }
                let name = Array(entry.domain.utf8)[range]
                guard name.elementsEqual(bytes[start..<end]) else { return }
                // The label must be the registrable name of the recipient, under a suffix other
                // than the protected domain's.
                let suffix = suffixes.suffix(of: domain)
                let entrySuffix = String(decoding: Array(entry.domain.utf8)[(range.upperBound + 1)...], as: UTF8.self)
                guard n - end - 1 == suffix.utf8.count, suffix != entrySuffix else { return }
                let suspected = Self.text(bytes, 0, start) + entry.domain
                findings.add(Finding(
                    rule: .otherSuffix, score: 0.3, suspected: suspected,
                    explanation: .otherSuffix(domain, entry.domain, suffix)))
            }
            if !findings.isEmpty { return }
        }
    }

    /// True when `observed` is not `intended` but has the same visual form.
    static func looksAlike(_ intended: String, _ observed: UnsafeBufferPointer<UInt8>) -> Bool {
        guard !intended.utf8.elementsEqual(observed) else { return false }
        return NameTables.visualForm(intended.utf8) == NameTables.visualForm(observed)
    }
}
