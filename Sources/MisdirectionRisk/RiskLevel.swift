/// How likely a recipient or message is misdirected, from `none` to `high`.
public enum RiskLevel: Int, Sendable, Hashable, Comparable, CaseIterable, CustomStringConvertible {
    case none = 0
    case low = 1
    case medium = 2
    case high = 3

    /// The level a score falls in: `high` from 0.8, `medium` from 0.5, `low` from 0.2.
    public init(score: Double) {
        switch score {
        case 0.8...: self = .high
        case 0.5..<0.8: self = .medium
        case 0.2..<0.5: self = .low
        default: self = .none
        }
    }

    /// Parses `none`, `low`, `medium` or `high`.
    public init?(name: String) {
        guard let level = RiskLevel.allCases.first(where: { $0.description == name }) else { return nil }
        self = level
    }

    public static func < (lhs: RiskLevel, rhs: RiskLevel) -> Bool { lhs.rawValue < rhs.rawValue }

    public var description: String {
        switch self {
        case .none: "none"
        case .low: "low"
        case .medium: "medium"
        case .high: "high"
        }
    }
}
