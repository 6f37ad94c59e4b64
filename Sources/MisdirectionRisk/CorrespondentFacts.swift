/// What past mail says about one recipient domain: how many messages went to it, on how many
/// distinct days, and when first and last. Days are counted in UTC since 1970-01-01.
public struct CorrespondentFacts: Sendable, Hashable {
    /// Messages delivered to the domain (a message to two addresses there counts once per
    /// sender domain it came from).
    public var messages: Int
    /// Distinct days on which mail went to the domain.
    public var days: Int
    /// The first and the last of those days.
    public var firstDay: Int
    public var lastDay: Int

    public init(messages: Int, days: Int, firstDay: Int, lastDay: Int) {
        self.messages = messages
        self.days = days
        self.firstDay = firstDay
        self.lastDay = lastDay
    }

    /// `14 messages over 9 days, 2026-03-02 to 2026-04-11`.
    public var summary: String {
        let span = firstDay == lastDay ? "on \(Self.date(ofDay: firstDay))" : "\(Self.date(ofDay: firstDay)) to \(Self.date(ofDay: lastDay))"
        return "\(messages) message\(messages == 1 ? "" : "s") over \(days) day\(days == 1 ? "" : "s"), \(span)"
    }

    /// The day number (days since 1970-01-01, UTC) of a Unix time.
    public static func day(ofUnixTime seconds: Int) -> Int {
        seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
    }

    /// The day number of a civil date (proleptic Gregorian).
    public static func day(year: Int, month: Int, day: Int) -> Int {
        // Howard Hinnant's days_from_civil.
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// `YYYY-MM-DD` of a day number.
    public static func date(ofDay number: Int) -> String {
        let (year, month, day) = civil(ofDay: number)
        func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(year)-\(two(month))-\(two(day))"
    }

    /// The day number of `YYYY-MM-DD`, or nil when it is not a date (`2026-02-30`, `2026-1-1`).
    public static func day(ofDate text: String) -> Int? {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, let year = Int(parts[0]), let month = Int(parts[1]), let day = Int(parts[2]),
              (1970...9999).contains(year), (1...12).contains(month), (1...31).contains(day)
        else { return nil }
        let number = Self.day(year: year, month: month, day: day)
        return date(ofDay: number) == text ? number : nil
    }

    /// The civil date (proleptic Gregorian) of a day number.
    public static func civil(ofDay number: Int) -> (year: Int, month: Int, day: Int) {
        // Howard Hinnant's civil_from_days.
        let z = number + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}

/// When a recipient domain counts as an established correspondent: enough messages over enough
/// distinct days, so that a typo sent twice does not teach itself.
public struct EstablishedThreshold: Sendable, Hashable {
    /// At least this many messages (3 by default).
    public var messages: Int
    /// On at least this many distinct days (2 by default).
    public var days: Int

    public init(messages: Int = 3, days: Int = 2) {
        self.messages = messages
        self.days = days
    }

    public func isMet(by facts: CorrespondentFacts) -> Bool {
        facts.messages >= messages && facts.days >= days
    }
}
