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

    /// The trusted or protected entry the domain is, or is under (trusted first), found with one
    /// probe per label: such a recipient is clean whatever else it resembles.
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
                    guard key.form == .domain || key.form == .trusted, Int(key.length) == n - start,
                          found?.isTrusted != true else { return }
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

    /// One probe waiting in a ``ProbeBatch``.
    fileprivate struct PendingProbe {
        enum Kind: UInt8 {
            /// A window that ends the domain, within one edit of a key.
            case tail
            /// A window followed by more labels (or a part of one), equal to a key's form.
            case inner
            /// A name label and its suffix, within two edits of a long name.
            case twoEdit
        }

        var hash: UInt64
        var slot: Int32 = 0
        var length: Int16
        var start: Int16
        var end: Int16
        var wanted: UInt16 = 0
        var kind: Kind
    }

    /// Probes gathered, then looked up together: first where each one's search starts (loads
    /// that do not wait for each other, so the processor overlaps their cache misses), then the
    /// searches themselves, in the order the probes were added, so matches are reported in that
    /// order.
    fileprivate struct ProbeBatch {
        /// 32 probes of 24 bytes: small enough for Swift to keep the batch on the stack (a
        /// temporary allocation over 1 KB comes from the heap).
        static let capacity = 32

        /// Not reference counted: the batch lives inside a lookup of the index.
        unowned(unsafe) let index: ProtectedIndex
        let bytes: UnsafeBufferPointer<UInt8>
        let pending: UnsafeMutableBufferPointer<PendingProbe>
        let oneEdit: NeighbourhoodTable.View
        let twoEdit: NeighbourhoodTable.View
        var count = 0
        var seen = SeenMatches()
        var seenTwo = SeenMatches()
        /// What the probes found, verified, in order.
        var matches: MatchList

        init(index: ProtectedIndex, bytes: UnsafeBufferPointer<UInt8>, pending: UnsafeMutableBufferPointer<PendingProbe>,
             oneEdit: NeighbourhoodTable.View, twoEdit: NeighbourhoodTable.View, matches: MatchList) {
            self.index = index
            self.bytes = bytes
            self.pending = pending
            self.oneEdit = oneEdit
            self.twoEdit = twoEdit
            self.matches = matches
        }

        /// Adds a probe for the polynomial hash of a string of `length` bytes that stands for
        /// `bytes[start..<end]`, unless the table's filter rules it out; looks the batch up when
        /// it is full.
        @inline(__always)
        mutating func offer(_ hash: UInt64, length: Int, start: Int, end: Int, kind: PendingProbe.Kind) {
            guard (kind == .twoEdit ? twoEdit : oneEdit).mayContain(hash, length: length) else { return }
            add(hash, length: length, start: start, end: end, kind: kind)
        }

        /// ``offer(_:length:start:end:kind:_:)`` for a probe the filter has let through.
        @inline(__always)
        mutating func add(_ hash: UInt64, length: Int, start: Int, end: Int, kind: PendingProbe.Kind) {
            pending[count] = PendingProbe(hash: hash, length: Int16(length), start: Int16(start), end: Int16(end), kind: kind)
            count += 1
            if count == Self.capacity { flush() }
        }

        /// Starts the two-edit probes of one name label: the pairs reported so far are forgotten.
        mutating func startTwoEdits() {
            seenTwo = SeenMatches()
        }

        /// Looks up the probes added since the last call and reports what they find.
        mutating func flush() {
            for position in 0..<count {
                let probe = pending[position]
                let (slot, wanted) = (probe.kind == .twoEdit ? twoEdit : oneEdit).start(probe.hash, length: Int(probe.length))
                pending[position].slot = Int32(slot)
                pending[position].wanted = wanted
            }
            for position in 0..<count {
                let probe = pending[position]
                let start = Int(probe.start), end = Int(probe.end)
                switch probe.kind {
                case .tail, .inner:
                    oneEdit.forEachValue(from: Int(probe.slot), wanted: probe.wanted) { key in
                        guard seen.insert(key, start, end) else { return }
                        if let match = index.verify(Int(key), bytes: bytes, start: start, end: end, tail: probe.kind == .tail) {
                            matches.append(match)
                        }
                    }
                case .twoEdit:
                    twoEdit.forEachValue(from: Int(probe.slot), wanted: probe.wanted) { key in
                        guard seenTwo.insert(key, start, end) else { return }
                        if let match = index.verifyTwoEdits(Int(key), bytes: bytes, start: start) { matches.append(match) }
                    }
                }
            }
            count = 0
        }
    }

    /// Checks a one-edit candidate against the key's bytes: the match, if it holds.
    fileprivate func verify(_ keyIndex: Int, bytes: UnsafeBufferPointer<UInt8>, start: Int, end: Int, tail: Bool) -> Match? {
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
                // A whole suffix only ends a domain, under at least one name of the same shape.
                guard tail, isWholeLabel, start > 0, !Self.isStructural(edit) else { return nil }
            } else if !tail || !isWholeLabel {
                guard edit == .identical || Self.isStructural(edit) else { return nil }
            }
        }
        return Match(key: keyIndex, start: start, end: end, edit: edit)
    }

    /// Checks a two-edit candidate: the same suffix, two edits in the name label.
    fileprivate func verifyTwoEdits(_ keyIndex: Int, bytes: UnsafeBufferPointer<UInt8>, start: Int) -> Match? {
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

/// The matches found in one recipient domain, in order: the first few on the stack.
private struct MatchList {
    static let inlineCapacity = 16
    private let inline: UnsafeMutableBufferPointer<ProtectedIndex.Match>
    private var count = 0
    private var overflow: [ProtectedIndex.Match]?

    init(_ inline: UnsafeMutableBufferPointer<ProtectedIndex.Match>) {
        self.inline = inline
    }

    mutating func append(_ match: ProtectedIndex.Match) {
        if count < inline.count {
            (inline.baseAddress! + count).initialize(to: match)
            count += 1
        } else {
            overflow = (overflow ?? []) + [match]
        }
    }

    func forEach(_ body: (ProtectedIndex.Match) -> Void) {
        for index in 0..<count { body(inline[index]) }
        overflow?.forEach(body)
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
