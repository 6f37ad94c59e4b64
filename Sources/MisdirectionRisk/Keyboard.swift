/// Which keys neighbour each other on a QWERTY keyboard: a substitution between neighbours is
/// the likeliest slip of a typist, and weighs more than one between distant keys.
enum Keyboard {
    private static let rows = ["1234567890-", "qwertyuiop", "asdfghjkl", "zxcvbnm"]

    /// Bit set of neighbours per ASCII byte: (row, column) within one of each other, counting the
    /// half-key stagger of the rows.
    private static let neighbours: [UInt64] = {
        var positions: [UInt8: (row: Int, column: Double)] = [:]
        for (row, keys) in rows.enumerated() {
            for (column, key) in keys.utf8.enumerated() {
                positions[key] = (row, Double(column) + Double(row) * 0.5)
            }
        }
        var table = [UInt64](repeating: 0, count: 128 * 2)
        for (a, pa) in positions {
            for (b, pb) in positions where a != b && abs(pa.row - pb.row) <= 1 && abs(pa.column - pb.column) <= 1.0 {
                let index = Int(b)
                table[Int(a) * 2 + index / 64] |= 1 << UInt64(index % 64)
            }
        }
        return table
    }()

    /// True when the two ASCII bytes are neighbouring keys.
    static func areNeighbours(_ a: UInt8, _ b: UInt8) -> Bool {
        guard a < 128, b < 128 else { return false }
        return neighbours[Int(a) * 2 + Int(b) / 64] & (1 << UInt64(b % 64)) != 0
    }
}
