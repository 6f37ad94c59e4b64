/// Damerau–Levenshtein distance in its "optimal string alignment" form: insertions, deletions,
/// substitutions and transpositions of adjacent characters, each costing 1.
public enum EditDistance {
    /// The distance between `a` and `b`, or nil once it is certain to exceed `limit`.
    public static func distance(_ a: some Collection<UInt8>, _ b: some Collection<UInt8>, limit: Int) -> Int? {
        let a = Array(a), b = Array(b)
        return a.withUnsafeBufferPointer { a in b.withUnsafeBufferPointer { b in distance(a, b, limit: limit) } }
    }

    /// ``distance(_:_:limit:)`` on bytes in place, its three rows of the table on the stack.
    public static func distance(_ a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8>, limit: Int) -> Int? {
        if abs(a.count - b.count) > limit { return nil }
        if a.elementsEqual(b) { return 0 }
        let n = b.count
        return withUnsafeTemporaryAllocation(of: Int.self, capacity: 3 * (n + 1)) { rows in
            var previous2 = UnsafeMutableBufferPointer(rebasing: rows[0...n])
            var previous = UnsafeMutableBufferPointer(rebasing: rows[(n + 1)...(2 * n + 1)])
            var current = UnsafeMutableBufferPointer(rebasing: rows[(2 * n + 2)...(3 * n + 2)])
            for j in 0...n {
                previous2[j] = 0
                previous[j] = j
                current[j] = 0
            }
            for i in 1...max(a.count, 1) where !a.isEmpty {
                current[0] = i
                var rowMinimum = current[0]
                for j in stride(from: 1, through: n, by: 1) {
                    let cost = a[i - 1] == b[j - 1] ? 0 : 1
                    var value = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
                    if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                        value = min(value, previous2[j - 2] + 1)
                    }
                    current[j] = value
                    rowMinimum = min(rowMinimum, value)
                }
                if rowMinimum > limit { return nil }
                swap(&previous2, &previous)
                swap(&previous, &current)
            }
            let result = a.isEmpty ? n : previous[n]
            return result <= limit ? result : nil
        }
    }

    /// The single edit that turns `intended` into `observed`, or nil when they are further apart.
    /// Linear time: compares from both ends instead of filling a table.
    public static func singleEdit(from intended: UnsafeBufferPointer<UInt8>, to observed: UnsafeBufferPointer<UInt8>) -> Edit? {
        let n = intended.count, m = observed.count
        var start = 0
        while start < n, start < m, intended[start] == observed[start] { start += 1 }
        if n == m && start == n { return .identical }
        var endIntended = n, endObserved = m
        while endIntended > start, endObserved > start, intended[endIntended - 1] == observed[endObserved - 1] {
            endIntended -= 1
            endObserved -= 1
        }
        switch (endIntended - start, endObserved - start) {
        case (1, 1): return .substitution(at: start, intended: intended[start], observed: observed[start])
        case (0, 1): return .insertion(at: start, observed: observed[start])
        case (1, 0): return .omission(at: start, intended: intended[start])
        case (2, 2) where intended[start] == observed[start + 1] && intended[start + 1] == observed[start]:
            return .transposition(at: start)
        default:
            // A run like "aab" → "ab" is trimmed from both ends to an empty/one-byte middle above;
            // anything else is at least two edits.
            return nil
        }
    }
}

/// One edit between an intended string and the one observed, positions in the intended one.
public enum Edit: Sendable, Hashable {
    case identical
    /// `observed` stands where `intended` was meant.
    case substitution(at: Int, intended: UInt8, observed: UInt8)
    /// `observed` was added before position `at`.
    case insertion(at: Int, observed: UInt8)
    /// The byte at `at` was left out.
    case omission(at: Int, intended: UInt8)
    /// The bytes at `at` and `at + 1` were swapped.
    case transposition(at: Int)

    /// The position in the intended string.
    public var position: Int {
        switch self {
        case .identical: 0
        case .substitution(let at, _, _), .insertion(let at, _), .omission(let at, _), .transposition(let at): at
        }
    }
}
