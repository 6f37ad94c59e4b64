import CorrespondentHistory
import MisdirectionRisk

/// The charts of recorded decisions over some days: flagged recipients per day by level and by
/// rule, the top look-alike domains, and what enforce would have refused in log-only mode. The
/// console's report page shows it; `replay --html` writes it as one self-contained file.
package struct DecisionReport {
    package let summary: DecisionSummary
    package let days: ClosedRange<Int>

    /// How many rules and domains are drawn; the rest are summed as "other".
    static let rules = 6, domains = 10

    package init(summary: DecisionSummary, days: ClosedRange<Int>) {
        self.summary = summary
        self.days = days
    }

    /// The charts and the totals, as an HTML fragment.
    package var html: String {
        let levels = ["high", "medium", "low", "none"].compactMap { level -> Charts.Series? in
            guard let counts = summary.series("level")[level] else { return nil }
            return Charts.Series(name: level, color: Charts.levelColors[level] ?? Charts.other, counts: counts)
        }
        let lookAlikes = summary.totals("domain").prefix(Self.domains).map { $0 }
        let wouldRefuse = summary.wouldRefuse
        var html = "<section class=\"report\">"
        html += "<h2>Flagged recipients per day, by level</h2>"
        html += Charts.daily(id: "chart-levels", title: "Flagged recipients per day, by level", days: days, series: levels)
        html += "<h2>Flagged recipients per day, by rule</h2>"
        html += Charts.daily(id: "chart-rules", title: "Flagged recipients per day, by rule", days: days,
                             series: Charts.series(summary, kind: "rule", limit: Self.rules))
        html += "<h2>Top look-alike domains</h2>"
        html += Charts.ranking(id: "chart-domains", title: "Recipients per flagged domain", rows: lookAlikes, color: Charts.palette[0])
        html += "<h2>What enforce would have refused</h2>"
        html += "<p class=\"note\">Recipients a rule in log-only mode let through that enforce would have rejected or deferred.</p>"
        html += Charts.daily(id: "chart-would-refuse", title: "Recipients enforce would have refused, per day", days: days,
                             series: wouldRefuse.isEmpty ? [] : [Charts.Series(name: "would refuse", color: Charts.levelColors["high"]!, counts: wouldRefuse)])
        html += "<h2>Outcomes</h2><table id=\"outcomes\"><thead><tr><th>Outcome</th><th>Recipients</th></tr></thead><tbody>"
        let outcomes = summary.totals("outcome")
        for item in outcomes { html += "<tr><td>\(Charts.escape(item.key))</td><td>\(item.recipients)</td></tr>" }
        if outcomes.isEmpty { html += "<tr><td colspan=\"2\">none</td></tr>" }
        html += "</tbody></table></section>"
        return html
    }

    /// One HTML file with everything inside it: the stylesheet inline, no script, nothing fetched.
    package func document(title: String, lead: String) -> String {
        """
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
        <title>\(Charts.escape(title))</title>
        <style>
        \(Pages.stylesheet)
        </style>
        </head>
        <body>
        <header><span class="brand">misdirect-milter <span>report</span></span></header>
        <main>
        <h1>\(Charts.escape(title))</h1>
        <p class="lead">\(Charts.escape(lead))</p>
        \(html)
        </main>
        </body>
        </html>

        """
    }
}
