extension Classifier {
    /// What is left to look for when nothing within an edit or two of a protected domain was
    /// found: a name with several look-alike letters (`bareiays.co.uk` for `barclays.co.uk`,
    /// `i` for `l` and `e` for `c`), else a protected name under another suffix
    /// (`barclays.us`, `amazon.org`, `army.mo`).
    func scanNames(_ prepared: DomainBytes, domain: String, into findings: inout Findings) {
        let tables = index.nameTables, bytes = prepared.bytes, n = bytes.count
        guard n > 0, !prepared.traits.hasNonASCII else { return }
        // Windows that end the domain, each letter replaced by its class.
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: n) { folded in
            for position in 0..<n { folded[position] = NameTables.visualClass[Int(bytes[position])] }
            RangeHasher.with(UnsafeBufferPointer(folded)) { hasher in
                let table = tables.visualForms.view
                for label in 0..<(prepared.labelCount - 1) {
                    let start = prepared.starts[label]
                    table.forEachValue(hasher.range(start, n), length: n - start) { value in
                        guard findings.isEmpty else { return }
                        let entry = index.entries[Int(value)]
                        guard let substituted = Self.visualSubstitutions(entry.domain, bytes, from: start), substituted > 0 else { return }
                        let suspected = Self.text(bytes, 0, start) + entry.domain
                        findings.add(Finding(
                            rule: .homoglyph, score: 0.9, suspected: suspected,
                            explanation: .lookAlikeCharacters(domain, suspected)))
                    }
                }
            }
        }
        guard findings.isEmpty else { return }
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
                let suspected = Self.text(bytes, 0, start) + String(decoding: Array(entry.domain.utf8)[range.lowerBound...], as: UTF8.self)
                findings.add(Finding(
                    rule: .otherSuffix, score: 0.3, suspected: suspected,
                    explanation: .otherSuffix(domain, entry.domain, suffix)))
            }
            if !findings.isEmpty { return }
        }
    }

    /// How many letters of `observed[from...]` were replaced by look-alikes of `intended`'s, or
    /// nil when the two differ otherwise.
    static func visualSubstitutions(_ intended: String, _ observed: UnsafeBufferPointer<UInt8>, from start: Int) -> Int? {
        let expected = Array(intended.utf8)
        guard expected.count == observed.count - start else { return nil }
        var count = 0
        for (offset, byte) in expected.enumerated() where byte != observed[start + offset] {
            guard NameTables.visualClass[Int(byte)] == NameTables.visualClass[Int(observed[start + offset])] else { return nil }
            count += 1
        }
        return count
    }
}
