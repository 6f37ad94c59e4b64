extension Classifier {
    /// What is left to look for when nothing within an edit or two of a protected domain was
    /// found: a name with several look-alike letters (`bareiays.co.uk` for `barclays.co.uk`,
    /// `i` for `l` and `e` for `c`), else a protected name under another suffix
    /// (`barclays.us`, `amazon.org`, `army.mo`).
    func scanNames(_ prepared: DomainBytes, domain: String, into findings: inout Findings) {
        let tables = index.nameTables, bytes = prepared.bytes, n = bytes.count
        guard n > 0, !prepared.traits.hasNonASCII else { return }
        // Windows that end the domain, in their visual form (dots stay, so labels line up).
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: n) { buffer in
            let length = NameTables.visualForm(bytes, into: buffer)
            let folded = UnsafeBufferPointer(rebasing: buffer[0..<length])
            RangeHasher.with(folded) { hasher in
                let table = tables.visualForms.view
                var start = 0
                while start < length {
                    table.forEachValue(hasher.range(start, length), length: length - start) { value in
                        guard findings.isEmpty else { return }
                        let entry = index.entries[Int(value)]
                        // The labels in front of the window, as written (their count is the same).
                        var label = 0
                        for position in 0..<start where folded[position] == UInt8(ascii: ".") { label += 1 }
                        let rawStart = prepared.starts[min(label, prepared.labelCount - 1)]
                        guard Self.looksAlike(entry.domain, UnsafeBufferPointer(rebasing: bytes[rawStart...])) else { return }
                        let suspected = Self.text(bytes, 0, rawStart) + entry.domain
                        findings.add(Finding(
                            rule: .homoglyph, score: 0.9, suspected: suspected,
                            explanation: .lookAlikeCharacters(domain, suspected)))
                    }
                    while start < length, folded[start] != UInt8(ascii: ".") { start += 1 }
                    start += 1
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

    /// True when `observed` is not `intended` but has the same visual form.
    static func looksAlike(_ intended: String, _ observed: UnsafeBufferPointer<UInt8>) -> Bool {
        var intended = intended
        return intended.withUTF8 { expected in
            guard !ProtectedIndex.equal(expected, observed) else { return false }
            return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: expected.count + observed.count) { buffer in
                let a = UnsafeMutableBufferPointer(rebasing: buffer[0..<expected.count])
                let b = UnsafeMutableBufferPointer(rebasing: buffer[expected.count...])
                let aLength = NameTables.visualForm(expected, into: a), bLength = NameTables.visualForm(observed, into: b)
                return ProtectedIndex.equal(UnsafeBufferPointer(rebasing: a[0..<aLength]), UnsafeBufferPointer(rebasing: b[0..<bLength]))
            }
        }
    }
}
