extension ProtectedIndex {
    /// Most labels and hyphens looked at in one recipient domain; longer ones are cut short.
    static let maximumLabels = 32

    /// Finds the keys within reach of a recipient domain (lower-case bytes) and calls `body`
    /// with each verified match:
    /// - windows at the end of the domain (`arny.mil` in `hq.arny.mil`) within one edit of a key,
    ///   or within two edits of a long name under the same suffix;
    /// - windows followed by more labels (`army.mil` in `army.mil.ml`, `armymil` in
    ///   `armymil.com`) and hyphen-separated parts of them (`army-mil` in `army-mil-login.com`)
    ///   equal to a key or to a key with its dots dropped or turned into hyphens.
    func forEachMatch(in bytes: UnsafeBufferPointer<UInt8>, _ body: (Match) -> Void) {
        let n = bytes.count
        guard n > 0, n <= 253 else { return }
        withUnsafeTemporaryAllocation(of: UInt64.self, capacity: n + 1) { storage in
            withUnsafeTemporaryAllocation(of: Int.self, capacity: Self.maximumLabels + 1) { starts in
                Self.powers.withUnsafeBufferPointer { powers in
                  oneEdit.withView { oneEdit in
                  twoEdit.withView { twoEdit in
                    let hasher = RangeHasher(bytes, storage: storage, powers: powers)
                    var labelCount = 1
                    starts[0] = 0
                    for index in 0..<n where bytes[index] == UInt8(ascii: ".") && labelCount < Self.maximumLabels {
                        starts[labelCount] = index + 1
                        labelCount += 1
                    }
                    starts[labelCount] = n + 1
                    var seen = SeenMatches()
                    func report(_ key: UInt32, _ start: Int, _ end: Int, tail: Bool) {
                        guard seen.insert(key, start, end) else { return }
                        verify(Int(key), bytes: bytes, start: start, end: end, tail: tail, body)
                    }
                    func probe(_ hash: UInt64, _ length: Int, _ start: Int, _ end: Int, tail: Bool) {
                        oneEdit.forEachValue(RangeHasher.finished(hash, length: length, space: Self.oneEditSpace)) {
                            report($0, start, end, tail: tail)
                        }
                    }
                    // Windows that end the domain: within one edit.
                    for first in 0..<labelCount where tailWindowSizes & (1 << UInt64(labelCount - first)) != 0 {
                        let start = starts[first]
                        guard tailLengths.contains(labels: labelCount - first, length: n - start) else { continue }
                        probe(hasher.range(start, n), n - start, start, n, tail: true)
                        for deleted in start..<n {
                            probe(hasher.range(start, n, deleting: deleted), n - start - 1, start, n, tail: true)
                        }
                    }
                    // Windows followed by more labels, and their hyphen-separated parts.
                    for last in 0..<(labelCount - 1) {
                        let end = starts[last + 1] - 1
                        for first in 0...last where innerWindowSizes & (1 << UInt64(last - first + 1)) != 0 {
                            probeParts(from: starts[first], to: end, bytes: bytes, hasher: hasher) { hash, length, start, end in
                                probe(hash, length, start, end, tail: false)
                            }
                        }
                    }
                    // Long names under the same suffix: within two edits of the name label.
                    guard twoEditMaximumLength > 0 else { return }
                    for suffixLabels in 1..<labelCount where twoEditSuffixSizes & (1 << UInt64(suffixLabels)) != 0 {
                        let nameLabel = labelCount - 1 - suffixLabels
                        let start = starts[nameLabel], nameEnd = starts[nameLabel + 1] - 1
                        let length = nameEnd - start
                        guard length >= twoEditMinimumLength - 2, length <= twoEditMaximumLength + 2,
                              twoEditLengths.contains(labels: suffixLabels, length: n - start) else { continue }
                        var suffixKnown = false
                        twoEditSuffixes.withView { suffixes in
                            suffixes.forEachValue(RangeHasher.finished(hasher.range(nameEnd + 1, n), length: length, space: Self.suffixSpace)) { _ in
                                suffixKnown = true
                            }
                        }
                        guard suffixKnown else { continue }
                        // A pair one deletion apart on each side also met in the one-edit table,
                        // where it failed as a one-edit match: it gets its own record here.
                        var seenTwo = SeenMatches()
                        func probeTwo(_ hash: UInt64, _ length: Int) {
                            twoEdit.forEachValue(RangeHasher.finished(hash, length: length, space: Self.twoEditSpace)) { key in
                                guard seenTwo.insert(key, start, n) else { return }
                                verifyTwoEdits(Int(key), bytes: bytes, start: start, body)
                            }
                        }
                        probeTwo(hasher.range(start, n), n - start)
                        for first in start..<nameEnd {
                            probeTwo(hasher.range(start, n, deleting: first), n - start - 1)
                            for second in (first + 1)..<nameEnd {
                                probeTwo(hasher.range(start, n, deleting: first, second), n - start - 2)
                            }
                        }
                    }
                  }
                  }
                }
            }
        }
    }

    private static let powers = RangeHasher.powers

    /// The trusted or protected entry the domain is, or is under (trusted first), found with one
    /// probe per label: such a recipient is clean whatever else it resembles.
    func cleanEntry(for bytes: UnsafeBufferPointer<UInt8>) -> Entry? {
        let n = bytes.count
        guard n > 0, n <= 253 else { return nil }
        var found: Entry?
        withUnsafeTemporaryAllocation(of: UInt64.self, capacity: n + 1) { storage in
            Self.powers.withUnsafeBufferPointer { powers in
                let hasher = RangeHasher(bytes, storage: storage, powers: powers)
                oneEdit.withView { table in
                    var start = 0
                    while start < n {
                        table.forEachValue(RangeHasher.finished(hasher.range(start, n), length: n - start, space: Self.oneEditSpace)) { value in
                            let key = keys[Int(value)]
                            guard key.form == .domain || key.form == .trusted, Int(key.length) == n - start,
                                  found?.isTrusted != true else { return }
                            let matches = withKeyBytes(key) { keyBytes in
                                keyBytes.elementsEqual(UnsafeBufferPointer(rebasing: bytes[start..<n]))
                            }
                            if matches { found = entries[Int(key.entry)] }
                        }
                        while start < n, bytes[start] != UInt8(ascii: ".") { start += 1 }
                        start += 1
                    }
                }
            }
        }
        return found
    }

    /// Probes `bytes[start..<end]` and each part of it between hyphens, as they are and with one
    /// hyphen deleted (`army-mil` → `armymil`, which the key `army.mil` holds without its dot).
    private func probeParts(
        from start: Int, to end: Int, bytes: UnsafeBufferPointer<UInt8>, hasher: RangeHasher,
        _ probe: (UInt64, Int, Int, Int) -> Void
    ) {
        withUnsafeTemporaryAllocation(of: Int.self, capacity: 4) { hyphens in
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
                    probe(hasher.range(partStart, partEnd), partEnd - partStart, partStart, partEnd)
                    for inner in (left + 1)..<right {
                        probe(hasher.range(partStart, partEnd, deleting: hyphens[inner]), partEnd - partStart - 1, partStart, partEnd)
                    }
                }
            }
        }
    }

    /// Checks a one-edit candidate against the key's bytes and reports it if it holds.
    private func verify(_ keyIndex: Int, bytes: UnsafeBufferPointer<UInt8>, start: Int, end: Int, tail: Bool, _ body: (Match) -> Void) {
        let key = keys[keyIndex]
        let observed = UnsafeBufferPointer(rebasing: bytes[start..<end])
        guard let edit = withKeyBytes(key, { EditDistance.singleEdit(from: $0, to: observed) }) else { return }
        let isWholeLabel = start == 0 || bytes[start - 1] == UInt8(ascii: ".")
        switch key.form {
        case .trusted:
            guard tail, isWholeLabel, edit == .identical else { return }
        case .reversed, .variant:
            guard Self.isStructural(edit) || edit == .identical else { return }
        case .domain, .skeleton:
            if entries[Int(key.entry)].isWholeSuffix {
                // A whole suffix only ends a domain, under at least one name of the same shape.
                guard tail, isWholeLabel, start > 0, !Self.isStructural(edit) else { return }
            } else if !tail || !isWholeLabel {
                guard edit == .identical || Self.isStructural(edit) else { return }
            }
        }
        body(Match(key: keyIndex, start: start, end: end, edit: edit))
    }

    /// Checks a two-edit candidate: the same suffix, two edits in the name label.
    private func verifyTwoEdits(_ keyIndex: Int, bytes: UnsafeBufferPointer<UInt8>, start: Int, _ body: (Match) -> Void) {
        let key = keys[keyIndex]
        let observed = UnsafeBufferPointer(rebasing: bytes[start...])
        let distance = withKeyBytes(key) { EditDistance.distance($0, observed, limit: 2) }
        guard distance == 2 else { return }
        body(Match(key: keyIndex, start: start, end: bytes.count, edit: nil))
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

/// The (key, range) pairs already reported for one recipient, so that a key reached through
/// several deletions is verified once. Holds the first 16; later ones are verified again, which
/// costs time but never changes the result.
private struct SeenMatches {
    private var items: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64,
                        UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) =
        (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    private var count = 0

    /// Records the pair; false when it was already there.
    mutating func insert(_ key: UInt32, _ start: Int, _ end: Int) -> Bool {
        let item = UInt64(key) << 32 | UInt64(start) << 16 | UInt64(end) | 1 << 63
        return withUnsafeMutableBytes(of: &items) { raw in
            let buffer = raw.bindMemory(to: UInt64.self)
            for index in 0..<count where buffer[index] == item { return false }
            if count < buffer.count {
                buffer[count] = item
                count += 1
            }
            return true
        }
    }
}
