extension ProtectedIndex {
    /// Finds the keys within reach of a recipient domain (lower-case bytes) and calls `body`
    /// with each verified match:
    /// - windows at the end of the domain (`arny.mil` in `hq.arny.mil`) within one edit of a key,
    ///   or within two edits of a long name under the same suffix;
    /// - windows followed by more labels (`army.mil` in `army.mil.ml`, `armymil` in
    ///   `armymil.com`) and hyphen-separated parts of them (`army-mil` in `army-mil-login.com`)
    ///   equal to a key or to a key with its dots dropped or turned into hyphens.
    func forEachMatch(in domain: DomainBytes, _ body: (Match) -> Void) {
        let bytes = domain.bytes, hasher = domain.hasher, starts = domain.starts, labelCount = domain.labelCount
        let n = bytes.count
        guard n > 0, n <= 253 else { return }
        // The matches are gathered, then reported: `body` does not run while probes are made
        // (a closure live across the calls below costs reference counting of what it holds).
        withUnsafeTemporaryAllocation(of: Match.self, capacity: MatchList.inlineCapacity) { inline in
          let matches = withUnsafeTemporaryAllocation(of: PendingProbe.self, capacity: ProbeBatch.capacity) { pending in
          withUnsafeTemporaryAllocation(of: UInt64.self, capacity: 2 * n) { termStorage in
            let oneEdit = self.oneEdit.view, twoEdit = self.twoEdit.view
            var batch = ProbeBatch(index: self, bytes: bytes, pending: pending, oneEdit: oneEdit, twoEdit: twoEdit, matches: MatchList(inline))
            // Windows that end the domain are the ones probed with deletions: their hashes
            // are a window's base plus one term per deleted byte, and so are the hashes the
            // filters see, mixed (NeighbourhoodTable.mixed is linear).
            let terms = UnsafeMutableBufferPointer(rebasing: termStorage[0..<n])
            let mixedTerms = UnsafeMutableBufferPointer(rebasing: termStorage[n...])
            for deleted in 0..<n {
                terms[deleted] = hasher.deletionTerm(deleted, end: n)
                mixedTerms[deleted] = terms[deleted] &* NeighbourhoodTable.mixer
            }
            // Windows that end the domain: within one edit.
            for first in 0..<labelCount where tailWindowSizes & (1 << UInt64(labelCount - first)) != 0 {
                let start = starts[first]
                guard tailLengths.contains(labels: labelCount - first, length: n - start) else { continue }
                batch.offer(hasher.range(start, n), length: n - start, start: start, end: n, kind: .tail)
                let base = hasher.deletionBase(start, n, deleting: 1)
                let mixedBase = NeighbourhoodTable.mixed(base, length: n - start - 1)
                for deleted in start..<n where oneEdit.mayContain(mixed: mixedBase &+ mixedTerms[deleted]) {
                    batch.add(base &+ terms[deleted], length: n - start - 1, start: start, end: n, kind: .tail)
                }
            }
            // Windows followed by more labels, and their hyphen-separated parts.
            for last in 0..<(labelCount - 1) {
                let end = starts[last + 1] - 1
                for first in 0...last where innerWindowSizes & (1 << UInt64(last - first + 1)) != 0 {
                    probeParts(from: starts[first], to: end, bytes: bytes, hasher: hasher, into: &batch)
                }
            }
            batch.flush()
            // Long names under the same suffix: within two edits of the name label.
            for suffixLabels in 1..<labelCount where twoEditMaximumLength > 0 && twoEditSuffixSizes & (1 << UInt64(suffixLabels)) != 0 {
                let nameLabel = labelCount - 1 - suffixLabels
                let start = starts[nameLabel], nameEnd = starts[nameLabel + 1] - 1
                let length = nameEnd - start
                guard length >= twoEditMinimumLength - 2, length <= twoEditMaximumLength + 2,
                      twoEditLengths.contains(labels: suffixLabels, length: n - start) else { continue }
                // A probe with k bytes deleted from a name of `length` bytes can only meet
                // names of length - k to length - k + 2 bytes (0, 1 or 2 deleted from them).
                var lengths: UInt64 = 0
                twoEditSuffixes.view.forEachValue(hasher.range(nameEnd + 1, n), length: n - nameEnd - 1) { lengths |= 1 << UInt64($0) }
                let probesWhole = (lengths >> length) & 0b111 != 0
                let probesOne = (lengths >> (length - 1)) & 0b111 != 0
                let probesTwo = (lengths >> (length - 2)) & 0b111 != 0
                guard probesWhole || probesOne || probesTwo else { continue }
                // A pair one deletion apart on each side also met in the one-edit table,
                // where it failed as a one-edit match: it gets its own record here.
                batch.startTwoEdits()
                if probesWhole {
                    batch.offer(hasher.range(start, n), length: n - start, start: start, end: n, kind: .twoEdit)
                }
                let oneBase = hasher.deletionBase(start, n, deleting: 1), twoBase = hasher.deletionBase(start, n, deleting: 2)
                for first in start..<nameEnd {
                    if probesOne {
                        batch.offer(oneBase &+ terms[first], length: n - start - 1, start: start, end: n, kind: .twoEdit)
                    }
                    guard probesTwo else { continue }
                    let firstBase = twoBase &+ hasher.deletionTerm(first, end: n - 1)
                    let mixedBase = NeighbourhoodTable.mixed(firstBase, length: n - start - 2)
                    for second in (first + 1)..<nameEnd where twoEdit.mayContain(mixed: mixedBase &+ mixedTerms[second]) {
                        batch.add(firstBase &+ terms[second], length: n - start - 2, start: start, end: n, kind: .twoEdit)
                    }
                }
                batch.flush()
            }
            return batch.matches
          }
          }
          matches.forEach(body)
        }
    }

    /// The trusted or protected entry the domain is, or is under, found with one probe per
    /// label: a trusted one first, else the most specific protected one (`army.mil` rather than
    /// `mil` for `hq.army.mil`). Under a trusted or a specific protected entry a recipient is
    /// clean whatever else it resembles; under a whole protected suffix only, it is still
    /// compared with the other protected domains under that suffix (see ``Classifier``).
    func cleanEntry(for domain: DomainBytes) -> Entry? {
        let bytes = domain.bytes, n = bytes.count
        guard n > 0, n <= 253 else { return nil }
        var found: Entry?
        let table = oneEdit.view
        // Every label start: those DomainBytes counted, then (past its 32 labels) the rest.
        var start = 0, label = 0
        while start < n {
            let hash = domain.hasher.range(start, n)
            if table.mayContain(hash, length: n - start) {
                let (slot, wanted) = table.start(hash, length: n - start)
                table.forEachValue(from: slot, wanted: wanted) { value in
                    let key = keys[Int(value)]
                    // Labels are visited from the longest window down: keep the first (most
                    // specific) protected entry unless a trusted one comes after it.
                    guard key.form == .domain || key.form == .trusted, Int(key.length) == n - start,
                          found == nil || (key.form == .trusted && found?.isTrusted != true) else { return }
                    let matches = withKeyBytes(key) { keyBytes in
                        Self.equal(keyBytes, UnsafeBufferPointer(rebasing: bytes[start..<n]))
                    }
                    if matches { found = entries[Int(key.entry)] }
                }
            }
            label += 1
            if label < domain.labelCount {
                start = domain.starts[label]
            } else {
                while start < n, bytes[start] != UInt8(ascii: ".") { start += 1 }
                start += 1
            }
        }
        return found
    }

    /// Probes `bytes[start..<end]` and each part of it between hyphens, as they are and with one
    /// hyphen deleted (`army-mil` → `armymil`, which the key `army.mil` holds without its dot).
    private func probeParts(
        from start: Int, to end: Int, bytes: UnsafeBufferPointer<UInt8>, hasher: RangeHasher,
        into batch: inout ProbeBatch
    ) {
        var hyphens: (Int, Int, Int, Int) = (0, 0, 0, 0)
        withUnsafeMutableBytes(of: &hyphens) { raw in
            let hyphens = raw.bindMemory(to: Int.self)
            var hyphenCount = 0
            for index in start..<end where bytes[index] == UInt8(ascii: "-") && hyphenCount < hyphens.count {
                hyphens[hyphenCount] = index
                hyphenCount += 1
            }
            // Part boundaries: the window's ends and its hyphens.
            for left in -1..<hyphenCount {
                let partStart = left < 0 ? start : hyphens[left] + 1
                for right in (left + 1)...hyphenCount {
                    let partEnd = right == hyphenCount ? end : hyphens[right]
                    guard partEnd > partStart else { continue }
                    batch.offer(hasher.range(partStart, partEnd), length: partEnd - partStart, start: partStart, end: partEnd, kind: .inner)
                    for inner in (left + 1)..<right {
                        batch.offer(
                            hasher.range(partStart, partEnd, deleting: hyphens[inner]), length: partEnd - partStart - 1,
                            start: partStart, end: partEnd, kind: .inner)
                    }
                }
            }
        }
    }

    /// Checks a one-edit candidate against the key's bytes: the match, if it holds.
    func verify(_ keyIndex: Int, bytes: UnsafeBufferPointer<UInt8>, start: Int, end: Int, tail: Bool) -> Match? {
        let key = keys[keyIndex]
        let observed = UnsafeBufferPointer(rebasing: bytes[start..<end])
        guard let edit = withKeyBytes(key, { EditDistance.singleEdit(from: $0, to: observed) }) else { return nil }
        let isWholeLabel = start == 0 || bytes[start - 1] == UInt8(ascii: ".")
        switch key.form {
        case .trusted:
            guard tail, isWholeLabel, edit == .identical else { return nil }
        case .reversed, .variant:
            guard Self.isStructural(edit) || edit == .identical else { return nil }
        case .domain, .skeleton:
            if entries[Int(key.entry)].isWholeSuffix {
                // A whole suffix ends a domain, under at least one name of the same shape
                // (`army.ml` for `mil`); one of two or more labels may also be mistyped as a
                // name of its own (`gob.uk` for `gov.uk`). Inside a domain it counts only as it
                // is, as whole labels followed by more (`hmrc.gov.uk.com`); the classifier
                // checks that a suffix follows.
                guard isWholeLabel, start > 0 || key.labelCount >= 2 else { return nil }
                if !tail {
                    guard edit == .identical, end < bytes.count, bytes[end] == UInt8(ascii: ".") else { return nil }
                }
            } else if !tail || !isWholeLabel {
                guard edit == .identical || Self.isStructural(edit) else { return nil }
            }
        }
        return Match(key: keyIndex, start: start, end: end, edit: edit)
    }

    /// Checks a two-edit candidate: the same suffix, two edits in the name label.
    func verifyTwoEdits(_ keyIndex: Int, bytes: UnsafeBufferPointer<UInt8>, start: Int) -> Match? {
        let key = keys[keyIndex]
        let observed = UnsafeBufferPointer(rebasing: bytes[start...])
        let distance = withKeyBytes(key) { EditDistance.distance($0, observed, limit: 2) }
        guard distance == 2 else { return nil }
        return Match(key: keyIndex, start: start, end: bytes.count, edit: nil)
    }

    /// True when the two byte strings are the same.
    @inline(__always)
    static func equal(_ a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8>) -> Bool {
        guard a.count == b.count else { return false }
        for index in 0..<a.count where a[index] != b[index] { return false }
        return true
    }

    /// True for edits of dots and hyphens only: one dropped or added, or one turned into the other.
    static func isStructural(_ edit: Edit) -> Bool {
        let dot = UInt8(ascii: "."), hyphen = UInt8(ascii: "-")
        switch edit {
        case .insertion(_, let byte), .omission(_, let byte): return byte == dot || byte == hyphen
        case .substitution(_, let intended, let observed): return (intended == dot && observed == hyphen) || (intended == hyphen && observed == dot)
        default: return false
        }
    }
}
