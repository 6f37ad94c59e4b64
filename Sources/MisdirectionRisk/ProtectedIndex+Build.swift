extension ProtectedIndex {
    /// The keys of the protected and trusted domains, and what each is stored under: worked out
    /// before the tables, so that they can be made at their final size and filled in place.
    struct KeyPlan {
        private(set) var keys: [Key] = []
        private(set) var keyBytes: [UInt8] = []
        /// Per key: the length of the name label stored for two-edit typos, or -1.
        private var twoEditNames: [Int16] = []
        private(set) var tailSizes: UInt64 = 0
        private(set) var innerSizes: UInt64 = 0
        private(set) var twoSuffixSizes: UInt64 = 0
        private(set) var longest = 0
        private(set) var tailLengths = LengthFilter()
        private(set) var twoEditLengths = LengthFilter()

        init(entries: [Entry], skeleton: (String) -> [UInt8], twoEditMinimumLength: Int) {
            keys.reserveCapacity(entries.count * 3)
            keyBytes.reserveCapacity(entries.reduce(0) { $0 + $1.domain.utf8.count } * 3)
            for (index, entry) in entries.enumerated() {
                let bytes = Array(entry.domain.utf8)
                if entry.isTrusted {
                    add(bytes, entry: index, form: .trusted)
                    continue
                }
                if entry.isWholeSuffix {
                    add(bytes, entry: index, form: .domain)
                    continue
                }
                // The registrable domain's name label, when the key is exactly name + suffix.
                let labels = bytes.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
                let nameLength = entry.suffixStart - 1
                let isRegistrable = labels.count == entry.suffixLabelCount + 1
                let twoEdit = isRegistrable && nameLength >= twoEditMinimumLength && nameLength < 64 ? nameLength : nil
                if let twoEdit {
                    longest = max(longest, twoEdit)
                    twoSuffixSizes |= 1 << UInt64(entry.suffixLabelCount)
                }
                add(bytes, entry: index, form: .domain, twoEditName: twoEdit)
                if labels.count >= 2 {
                    add(Array(labels.reversed().joined(separator: [UInt8(ascii: ".")])), entry: index, form: .reversed)
                }
                if labels.count >= 3 {
                    add(Array(labels.joined()), entry: index, form: .variant)
                    add(Array(labels.joined(separator: [UInt8(ascii: "-")])), entry: index, form: .variant)
                }
                let folded = skeleton(entry.domain)
                if folded != bytes { add(folded, entry: index, form: .skeleton) }
            }
        }

        private mutating func add(_ bytes: [UInt8], entry: Int, form: Key.Form, twoEditName: Int? = nil) {
            // A form too long to hash cannot be matched by any recipient either.
            guard bytes.count <= RangeHasher.maximumLength else { return }
            let labelCount = bytes.reduce(1) { $0 + ($1 == UInt8(ascii: ".") ? 1 : 0) }
            keys.append(Key(entry: Int32(entry), start: Int32(keyBytes.count), length: Int16(bytes.count), labelCount: Int8(clamping: labelCount), form: form))
            keyBytes += bytes
            twoEditNames.append(Int16(twoEditName ?? -1))
            if twoEditName != nil {
                twoEditLengths.insert(labels: labelCount - 1, lengths: (bytes.count - 2)...(bytes.count + 2))
            }
            // A name can have up to 127 labels; the size masks count up to 63 (and an empty
            // range would trap).
            if form != .trusted, labelCount <= 64 {
                for size in max(1, labelCount - 1)...min(63, labelCount + 1) {
                    tailSizes |= 1 << UInt64(size)
                    tailLengths.insert(labels: size, lengths: (bytes.count - 1)...(bytes.count + 1))
                }
            }
            // One-label keys are whole suffixes (`mil`), looked for inside as `x.mil.com`.
            if form != .trusted {
                innerSizes |= 1 << UInt64(labelCount)
                if labelCount > 1 { innerSizes |= 1 << UInt64(labelCount - 1) }
            }
        }

        /// The one-edit table (each key and each string left by deleting one of its bytes, or
        /// one of its dots for the structural forms), the two-edit table (long name labels with
        /// up to two bytes deleted, followed by their suffix) and the lengths of those names
        /// under each suffix (the suffix is the key, each length a value).
        func buildTables() -> (oneEdit: NeighbourhoodTable, twoEdit: NeighbourhoodTable, twoEditSuffixes: NeighbourhoodTable) {
            var oneCount = 0, twoCount = 0
            // A set: thousands of long names share a few (suffix, length) pairs, and stored once
            // each they would make runs of thousands of equal slots that every probe walks.
            var suffixPairs = Set<SuffixPair>()
            keyBytes.withUnsafeBufferPointer { all in
                for (index, key) in keys.enumerated() {
                    let bytes = UnsafeBufferPointer(rebasing: all[Int(key.start)..<(Int(key.start) + Int(key.length))])
                    oneCount += 1 + Self.deletedPositionCount(bytes, form: key.form)
                    let nameEnd = Int(twoEditNames[index])
                    guard nameEnd >= 0 else { continue }
                    twoCount += 1 + nameEnd + nameEnd * (nameEnd - 1) / 2
                    RangeHasher.with(bytes) { hasher in
                        _ = suffixPairs.insert(SuffixPair(
                            hash: hasher.range(nameEnd + 1, bytes.count), length: bytes.count - nameEnd - 1, nameLength: nameEnd))
                    }
                }
            }
            var oneEdit = NeighbourhoodTable.Builder(count: oneCount, space: ProtectedIndex.oneEditSpace)
            var twoEdit = NeighbourhoodTable.Builder(count: twoCount, space: ProtectedIndex.twoEditSpace)
            var twoEditSuffixes = NeighbourhoodTable.Builder(count: suffixPairs.count, space: ProtectedIndex.suffixSpace)
            // In a fixed order, so that a table is the same from one load to the next.
            for pair in suffixPairs.sorted(by: { ($0.hash, $0.nameLength) < ($1.hash, $1.nameLength) }) {
                twoEditSuffixes.insert(pair.hash, length: pair.length, value: UInt32(pair.nameLength))
            }
            keyBytes.withUnsafeBufferPointer { all in
                for (index, key) in keys.enumerated() {
                    let bytes = UnsafeBufferPointer(rebasing: all[Int(key.start)..<(Int(key.start) + Int(key.length))])
                    let value = UInt32(index), n = bytes.count
                    RangeHasher.with(bytes) { hasher in
                        oneEdit.insert(hasher.range(0, n), length: n, value: value)
                        Self.forEachDeletedPosition(bytes, form: key.form) { deleted in
                            oneEdit.insert(hasher.range(0, n, deleting: deleted), length: n - 1, value: value)
                        }
                        let nameEnd = Int(twoEditNames[index])
                        guard nameEnd >= 0 else { return }
                        twoEdit.insert(hasher.range(0, n), length: n, value: value)
                        for first in 0..<nameEnd {
                            twoEdit.insert(hasher.range(0, n, deleting: first), length: n - 1, value: value)
                            for second in (first + 1)..<nameEnd {
                                twoEdit.insert(hasher.range(0, n, deleting: first, second), length: n - 2, value: value)
                            }
                        }
                    }
                }
            }
            return (oneEdit.build(), twoEdit.build(), twoEditSuffixes.build())
        }

        /// A suffix (its hash and length) and the length of a name under it stored for
        /// two-edit typos.
        private struct SuffixPair: Hashable {
            let hash: UInt64
            let length: Int
            let nameLength: Int
        }

        /// The positions whose deletion a key is stored under: every byte but the second of two
        /// equal neighbours (deleting either leaves the same string), or the dots of the
        /// structural forms.
        @inline(__always)
        private static func forEachDeletedPosition(_ bytes: UnsafeBufferPointer<UInt8>, form: Key.Form, _ body: (Int) -> Void) {
            switch form {
            case .domain, .skeleton:
                for index in 0..<bytes.count where index == 0 || bytes[index] != bytes[index - 1] { body(index) }
            case .reversed, .variant:
                for index in 0..<bytes.count where bytes[index] == UInt8(ascii: ".") { body(index) }
            case .trusted:
                break
            }
        }

        private static func deletedPositionCount(_ bytes: UnsafeBufferPointer<UInt8>, form: Key.Form) -> Int {
            var count = 0
            forEachDeletedPosition(bytes, form: form) { _ in count += 1 }
            return count
        }
    }
}
