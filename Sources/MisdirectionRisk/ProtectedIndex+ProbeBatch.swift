extension ProtectedIndex {
    /// One probe waiting in a ``ProbeBatch``.
    struct PendingProbe {
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
    struct ProbeBatch {
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
}

/// The matches found in one recipient domain, in order: the first few on the stack.
struct MatchList {
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
struct SeenMatches {
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
