extension Classifier {
    /// Which form of the recipient domain is being looked up.
    enum ScanPath {
        /// The domain as written (Unicode labels decoded).
        case raw
        /// Its look-alike skeleton: whatever matches is a homoglyph.
        case skeleton
    }

    /// Looks `bytes` (a form of `domain`) up in the index and turns each match into a finding,
    /// or into the note that the domain is protected or trusted.
    func scan(_ bytes: UnsafeBufferPointer<UInt8>, domain: String, shown: String, path: ScanPath, into findings: inout Findings) {
        // A decoded or folded form can be several times the domain's 253 octets; past what the
        // index hashes, nothing can match it.
        guard bytes.count <= RangeHasher.maximumLength else { return }
        DomainBytes.with(bytes) { scan($0, domain: domain, shown: shown, path: path, into: &findings) }
    }

    /// ``scan(_:domain:shown:path:into:)`` with the bytes already made ready for lookups.
    func scan(_ prepared: DomainBytes, domain: String, shown: String, path: ScanPath, into findings: inout Findings) {
        let bytes = prepared.bytes
        index.forEachMatch(in: prepared) { match in
            let key = index.keys[match.key]
            let entry = index.entries[Int(key.entry)]
            let isWholeLabel = match.start == 0 || bytes[match.start - 1] == UInt8(ascii: ".")
            let isTail = match.end == bytes.count
            if key.form == .trusted {
                if path == .raw {
                    findings.cleanNote = entry.note
                    findings.isTrusted = true
                }
                return
            }
            // Under a whole protected suffix, only the more specific protected domains count.
            if entry.isWholeSuffix && findings.protectedSuffix != nil { return }
            if path == .raw, key.form == .domain, match.edit == .identical, isTail, isWholeLabel {
                if !findings.isTrusted { findings.cleanNote = entry.note }
                return
            }
            // A whole suffix inside a domain counts only when another suffix follows it
            // (`hmrc.gov.uk.com`) and the two together are no suffix of their own (`gov.in`).
            if entry.isWholeSuffix && !isTail {
                let rest = Self.text(bytes, match.end + 1, bytes.count)
                guard suffixes.isListedTopLevel(of: rest), suffixes.isSuffix(rest),
                      !suffixes.isSuffix(Self.text(bytes, match.start, bytes.count)) else { return }
                let head = Self.text(bytes, 0, match.start)
                findings.add(entry.isWholeSuffix, Finding(
                    rule: .structure, score: 0.95, suspected: head + entry.domain,
                    explanation: .holds(shown, entry.domain, .beforeSuffix)))
                return
            }
            // Labels in front of the match, kept in the suggestion (`hq.` of `hq.arny.mil`).
            let head = isWholeLabel ? Self.text(bytes, 0, match.start) : Self.text(bytes, 0, Self.labelStart(bytes, before: match.start))
            // A whole suffix after a name already under it (`army.mil.ml` for `mil`): that name.
            let suspected = if head.isEmpty {
                entry.domain
            } else if entry.isWholeSuffix && head.hasSuffix(".\(entry.domain).") {
                String(head.dropLast())
            } else {
                head + entry.domain
            }
            guard let edit = match.edit else {
                findings.add(entry.isWholeSuffix, Finding(rule: .doubleTypo, score: 0.7, suspected: suspected, explanation: .twoSlips(shown, suspected)))
                return
            }
            if path == .skeleton {
                let exact = edit == .identical && key.form != .reversed && isTail && isWholeLabel
                // The labels in front come from the skeleton, which may hold what no domain can
                // (`ґ` folds to `r'`): the verdict then suggests nothing, and the explanation
                // names the protected domain only (both decided for kept findings alone).
                findings.add(entry.isWholeSuffix, Finding(
                    rule: .homoglyph, score: exact ? 0.95 : 0.85, suspected: suspected,
                    explanation: .lookAlikeSkeleton(shown, suspected, entry.domain)))
                return
            }
            if key.form == .skeleton {
                findings.add(entry.isWholeSuffix, Finding(
                    rule: .homoglyph, score: edit == .identical ? 0.95 : 0.85, suspected: suspected,
                    explanation: .lookAlikeCharacters(shown, suspected)))
                return
            }
            if key.form == .reversed || key.form == .variant || !isTail || !isWholeLabel {
                let how: Explanation.Placement = switch key.form {
                case .reversed: .reversed
                case .variant: .dotsChanged
                default: .inside
                }
                findings.add(entry.isWholeSuffix, Finding(
                    rule: .structure, score: edit == .identical ? 0.95 : 0.9, suspected: suspected,
                    explanation: .holds(shown, entry.domain, how)))
                return
            }
            if let finding = oneEditFinding(edit, entry: entry, key: key, domain: domain, shown: shown, suspected: suspected, matchStart: match.start) {
                findings.add(entry.isWholeSuffix, finding)
            }
        }
    }

    /// The finding for a window at the end of the domain one edit from a protected key.
    private func oneEditFinding(
        _ edit: Edit, entry: ProtectedIndex.Entry, key: ProtectedIndex.Key, domain: String, shown: String,
        suspected: String, matchStart: Int
    ) -> Finding? {
        let position = edit.position
        let startsLabel: Bool = {
            if case .transposition = edit { return false }
            return position == 0 || index.withKeyBytes(key) { $0[position - 1] } == UInt8(ascii: ".")
        }()
        let misspelling = Explanation.misspelling(shown, suspected)

        if ProtectedIndex.isStructural(edit) {
            return Finding(rule: .structure, score: 0.9, suspected: suspected, explanation: .punctuation(shown, suspected))
        }
        if entry.isWholeSuffix {
            // `anything.ml` for `mil`, but not a name under a longer registry suffix such as
            // `ac.il`: the sender would not have written `x.ac.mil`.
            let suffixLabels = suffixes.suffix(of: domain).utf8.reduce(1) { $0 + ($1 == UInt8(ascii: ".") ? 1 : 0) }
            guard suffixLabels <= Int(key.labelCount) else { return nil }
            return Finding(rule: .suffixConfusion, score: startsLabel ? 0.7 : 0.95, suspected: suspected, explanation: misspelling)
        }
        // An edit after the dot in front of the suffix changes the suffix (edits of the dot
        // itself are structural, above). The whole name is as written, so a slip on the first
        // letter of the suffix is as telling as any other: `outlook.om` is as high as
        // `outlook.co` (the `.om` typosquats of 2016 were hundreds of brands).
        if position >= entry.suffixStart {
            return Finding(rule: .suffixConfusion, score: 0.95, suspected: suspected, explanation: misspelling)
        }
        if case .substitution(_, let intended, let observed) = edit {
            if Keyboard.areNeighbours(intended, observed) {
                return Finding(rule: .typo, score: startsLabel ? 0.7 : 0.95, suspected: suspected, explanation: misspelling)
            }
            if Confusables.areLookAlikes(intended, observed) {
                return Finding(rule: .homoglyph, score: 0.9, suspected: suspected, explanation: .lookAlikeCharacters(shown, suspected))
            }
            if (intended ^ observed).nonzeroBitCount == 1 {
                return Finding(rule: .bitflip, score: 0.7, suspected: suspected, explanation: .bitFlip(shown, suspected))
            }
            return Finding(rule: .typo, score: startsLabel ? 0.7 : 0.9, suspected: suspected, explanation: misspelling)
        }
        return Finding(rule: .typo, score: startsLabel ? 0.7 : 0.95, suspected: suspected, explanation: misspelling)
    }

    static func text(_ bytes: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> String {
        String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self)
    }

    /// The start of the label holding `position`.
    static func labelStart(_ bytes: UnsafeBufferPointer<UInt8>, before position: Int) -> Int {
        var index = position
        while index > 0, bytes[index - 1] != UInt8(ascii: ".") { index -= 1 }
        return index
    }
}
