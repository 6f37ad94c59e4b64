import CorrespondentHistory
import Foundation
import MisdirectionRisk

/// Charts drawn on the server as SVG, inside the page: no script, no font or image fetched.
/// Colours are presentation attributes, not style, so the console's CSP needs no exception.
package enum Charts {
    /// One coloured series of a daily chart.
    package struct Series {
        package let name: String
        package let color: String
        package let counts: [Int: Int]
    }

    static let width = 720, height = 220
    static let left = 44, right = 8, top = 12, bottom = 28

    /// The colour of each level, as the badges have them.
    static let levelColors = ["none": "#9aa3b2", "low": "#5b6576", "medium": "#b26a00", "high": "#b3261e"]
    /// Colours for series without one of their own (rules), then grey for "other".
    static let palette = ["#1f5fbf", "#b3261e", "#b26a00", "#2e7d32", "#6a1b9a", "#00838f"]
    static let other = "#9aa3b2"

    /// Stacked bars, one per day of `days`, with a legend below.
    package static func daily(id: String, title: String, days: ClosedRange<Int>, series: [Series]) -> String {
        let plotWidth = width - left - right, plotHeight = height - top - bottom
        let count = days.count
        let totals = days.map { day in series.reduce(0) { $0 + ($1.counts[day] ?? 0) } }
        let maximum = niceMaximum(totals.max() ?? 0)
        let step = Double(plotWidth) / Double(count)
        let barWidth = max(1, step * 0.8)
        var svg = open(id: id, title: title)
        svg += axis(maximum: maximum, plotWidth: plotWidth, plotHeight: plotHeight)
        for (index, day) in days.enumerated() {
            var y = Double(top + plotHeight)
            let x = Double(left) + Double(index) * step + (step - barWidth) / 2
            for item in series {
                let value = item.counts[day] ?? 0
                guard value > 0 else { continue }
                let barHeight = Double(plotHeight) * Double(value) / Double(maximum)
                y -= barHeight
                svg += "<rect class=\"bar\" x=\"\(format(x))\" y=\"\(format(y))\" width=\"\(format(barWidth))\" height=\"\(format(barHeight))\" fill=\"\(item.color)\">"
                svg += "<title>\(escape(CorrespondentFacts.date(ofDay: day))) \(escape(item.name)): \(value)</title></rect>"
            }
        }
        let labelY = top + plotHeight + 18
        svg += "<text x=\"\(left)\" y=\"\(labelY)\" font-size=\"11\" fill=\"#5b6576\">\(CorrespondentFacts.date(ofDay: days.lowerBound))</text>"
        svg += "<text x=\"\(width - right)\" y=\"\(labelY)\" font-size=\"11\" fill=\"#5b6576\" text-anchor=\"end\">\(CorrespondentFacts.date(ofDay: days.upperBound))</text>"
        svg += "</svg>"
        return svg + legend(series.map { ($0.name, $0.color, $0.counts.values.reduce(0, +)) })
    }

    /// Horizontal bars, largest first: the top look-alike domains.
    package static func ranking(id: String, title: String, rows: [(key: String, recipients: Int)], color: String) -> String {
        guard !rows.isEmpty else { return "<p class=\"note\" id=\"\(id)-empty\">Nothing recorded.</p>" }
        let rowHeight = 22, labelWidth = 240
        let chartHeight = rows.count * rowHeight + 8
        let maximum = max(1, rows.map(\.recipients).max() ?? 1)
        let barSpace = width - labelWidth - 60
        var svg = open(id: id, title: title, height: chartHeight)
        for (index, row) in rows.enumerated() {
            let y = 4 + index * rowHeight
            let barWidth = max(1.0, Double(barSpace) * Double(row.recipients) / Double(maximum))
            svg += "<text x=\"\(labelWidth - 8)\" y=\"\(y + 15)\" font-size=\"12\" fill=\"#1d2430\" text-anchor=\"end\">\(escape(String(row.key.prefix(36))))</text>"
            svg += "<rect class=\"bar\" x=\"\(labelWidth)\" y=\"\(y + 3)\" width=\"\(format(barWidth))\" height=\"\(rowHeight - 6)\" fill=\"\(color)\">"
            svg += "<title>\(escape(row.key)): \(row.recipients)</title></rect>"
            svg += "<text x=\"\(format(Double(labelWidth) + barWidth + 6))\" y=\"\(y + 15)\" font-size=\"12\" fill=\"#5b6576\">\(row.recipients)</text>"
        }
        return svg + "</svg>"
    }

    /// Series per key of `kind`: the `limit` largest, the rest summed as "other".
    package static func series(_ summary: DecisionSummary, kind: String, limit: Int, colors: [String: String] = [:]) -> [Series] {
        let totals = summary.totals(kind)
        let all = summary.series(kind)
        var series = totals.prefix(limit).enumerated().map { index, item in
            Series(name: item.key, color: colors[item.key] ?? palette[index % palette.count], counts: all[item.key] ?? [:])
        }
        let rest = totals.dropFirst(limit)
        if !rest.isEmpty {
            var counts: [Int: Int] = [:]
            for item in rest { for (day, value) in all[item.key] ?? [:] { counts[day, default: 0] += value } }
            series.append(Series(name: "other (\(rest.count))", color: other, counts: counts))
        }
        return series
    }

    private static func open(id: String, title: String, height: Int = height) -> String {
        "<svg id=\"\(id)\" class=\"chart\" role=\"img\" viewBox=\"0 0 \(width) \(height)\" width=\"100%\" xmlns=\"http://www.w3.org/2000/svg\"><title>\(escape(title))</title>"
    }

    private static func axis(maximum: Int, plotWidth: Int, plotHeight: Int) -> String {
        var svg = ""
        for fraction in [0.0, 0.5, 1.0] {
            let y = Double(top) + Double(plotHeight) * (1 - fraction)
            svg += "<line x1=\"\(left)\" x2=\"\(left + plotWidth)\" y1=\"\(format(y))\" y2=\"\(format(y))\" stroke=\"#d9dee7\"/>"
            svg += "<text x=\"\(left - 6)\" y=\"\(format(y + 4))\" font-size=\"11\" fill=\"#5b6576\" text-anchor=\"end\">\(label(Double(maximum) * fraction))</text>"
        }
        return svg
    }

    private static func legend(_ items: [(name: String, color: String, total: Int)]) -> String {
        guard !items.isEmpty else { return "<p class=\"note\">Nothing recorded in these days.</p>" }
        var html = "<ul class=\"legend\">"
        for item in items {
            html += "<li><svg width=\"12\" height=\"12\" aria-hidden=\"true\"><rect width=\"12\" height=\"12\" fill=\"\(item.color)\"/></svg> \(escape(item.name)) <span class=\"size\">\(item.total)</span></li>"
        }
        return html + "</ul>"
    }

    /// 1, 2 or 5 times a power of ten, at least `value` (and at least 1).
    static func niceMaximum(_ value: Int) -> Int {
        var magnitude = 1
        while true {
            for factor in [1, 2, 5] where factor * magnitude >= value { return factor * magnitude }
            magnitude *= 10
        }
    }

    private static func format(_ value: Double) -> String { String(format: "%.1f", value) }

    /// A scale value: whole numbers as they are, halves (2.5) with their decimal.
    private static func label(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(format: "%.1f", value)
    }

    /// Text for XML and HTML: `&`, `<`, `>`, `"` and `'` escaped.
    package static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.count)
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
        return out
    }
}
