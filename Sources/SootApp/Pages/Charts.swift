import Emissions

/// Charts drawn on the server as inline SVG, with a `<title>` and a data table alternative.
enum Charts {
    /// Vertical bars, one per day, with a y axis in the values' unit.
    static func dailyBars(_ points: [(day: String, value: Double)], unit: String, title: String) -> String {
        guard !points.isEmpty else { return "<p class=\"muted\">No data in this range.</p>" }
        let width = 800.0, height = 250.0, left = 64.0, bottom = 28.0, top = 26.0, right = 8.0
        let maximum = max(points.map(\.value).max() ?? 0, 1e-12)
        let plotWidth = width - left - right, plotHeight = height - top - bottom
        let slot = plotWidth / Double(points.count)
        let barWidth = max(1, slot * 0.8)
        var bars = ""
        for (index, point) in points.enumerated() {
            let barHeight = point.value / maximum * plotHeight
            let x = left + Double(index) * slot + (slot - barWidth) / 2
            bars += "<rect x=\"\(f(x))\" y=\"\(f(top + plotHeight - barHeight))\" width=\"\(f(barWidth))\" height=\"\(f(barHeight))\" class=\"bar\">"
                + "<title>\(HTML.escape(point.day)): \(HTML.escape(Formatting.significant(point.value))) \(HTML.escape(unit))</title></rect>"
        }
        var ticks = ""
        for step in 0...4 {
            let value = maximum * Double(step) / 4
            let y = top + plotHeight - plotHeight * Double(step) / 4
            ticks += "<line x1=\"\(f(left))\" x2=\"\(f(width - right))\" y1=\"\(f(y))\" y2=\"\(f(y))\" class=\"grid\"/>"
                + "<text x=\"\(f(left - 6))\" y=\"\(f(y + 4))\" text-anchor=\"end\" class=\"axis\">\(HTML.escape(Formatting.significant(value)))</text>"
        }
        let labels = "<text x=\"\(f(left))\" y=\"\(f(height - 8))\" class=\"axis\">\(HTML.escape(points.first!.day))</text>"
            + "<text x=\"\(f(width - right))\" y=\"\(f(height - 8))\" text-anchor=\"end\" class=\"axis\">\(HTML.escape(points.last!.day))</text>"
            + "<text x=\"4\" y=\"12\" class=\"axis\">\(HTML.escape(unit))</text>"
        var rows = ""
        for point in points {
            rows += "<tr><td>\(HTML.escape(point.day))</td><td class=\"num\">\(HTML.escape(Formatting.significant(point.value)))</td></tr>"
        }
        return """
            <figure class="chart"><svg viewBox="0 0 \(f(width)) \(f(height))" role="img" aria-labelledby="chart-title">
            <title id="chart-title">\(HTML.escape(title))</title>\(ticks)\(bars)\(labels)</svg>
            <details><summary>Data table</summary><table><thead><tr><th>Day (UTC)</th><th class="num">\(HTML.escape(unit))</th></tr></thead>
            <tbody>\(rows)</tbody></table></details></figure>
            """
    }

    static func f(_ value: Double) -> String { Formatting.number(value, decimals: 1).replacingOccurrences(of: ",", with: "") }
}
