import MisdirectionRisk

/// The date a mail log line was written, from its time stamp: RFC 3339 as Postfix's own
/// `maillog_file` writes it (`2026-11-25T19:58:53.339+00:00`), or syslog's `Nov 25 19:58:53`,
/// which has no year.
public struct LogDate: Sendable, Hashable {
    /// Nil for a syslog time stamp.
    public let year: Int?
    public let month: Int
    public let day: Int

    public init(year: Int?, month: Int, day: Int) {
        self.year = year
        self.month = month
        self.day = day
    }

    private static let months: [[UInt8]] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"].map { Array($0.utf8) }

    /// The date at the start of `line`, or nil when it does not start with a time stamp.
    public init?(line: UnsafeBufferPointer<UInt8>) {
        func number(_ start: Int, _ count: Int) -> Int? {
            guard start + count <= line.count else { return nil }
            var value = 0
            for index in start..<(start + count) {
                let byte = line[index]
                if byte == UInt8(ascii: " ") && index == start && count == 2 { continue }  // syslog's " 5"
                guard byte >= 0x30 && byte <= 0x39 else { return nil }
                value = value * 10 + Int(byte - 0x30)
            }
            return value
        }
        if line.count >= 10, line[4] == UInt8(ascii: "-"), line[7] == UInt8(ascii: "-"),
           let year = number(0, 4), let month = number(5, 2), let day = number(8, 2) {
            guard (1...12).contains(month), (1...31).contains(day) else { return nil }
            self.init(year: year, month: month, day: day)
            return
        }
        guard line.count >= 6, line[3] == UInt8(ascii: " "),
              let month = Self.months.firstIndex(where: { $0.elementsEqual(line[0..<3]) }),
              let day = number(4, 2), (1...31).contains(day)
        else { return nil }
        self.init(year: nil, month: month + 1, day: day)
    }
}

extension LogDate {
    /// The day number (UTC days since 1970) of this date. A syslog date has no year: it takes
    /// `year` when given, else the year of a file last written in `fileYear`-`fileMonth` (a
    /// month after the file's is from the year before).
    public func dayNumber(year: Int?, fileYear: Int, fileMonth: Int) -> Int {
        let year = self.year ?? year ?? (month > fileMonth ? fileYear - 1 : fileYear)
        return CorrespondentFacts.day(year: year, month: month, day: day)
    }
}
