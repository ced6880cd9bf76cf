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
        let ticks = yAxis(maximum: maximum, left: left, right: width - right, top: top, height: plotHeight)
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

    /// Five horizontal grid lines from 0 to `maximum`, labelled on the left.
    static func yAxis(maximum: Double, left: Double, right: Double, top: Double, height: Double) -> String {
        var ticks = ""
        for step in 0...4 {
            let value = maximum * Double(step) / 4
            let y = top + height - height * Double(step) / 4
            ticks += "<line x1=\"\(f(left))\" x2=\"\(f(right))\" y1=\"\(f(y))\" y2=\"\(f(y))\" class=\"grid\"/>"
                + "<text x=\"\(f(left - 6))\" y=\"\(f(y + 4))\" text-anchor=\"end\" class=\"axis\">\(HTML.escape(Formatting.significant(value)))</text>"
        }
        return ticks
    }

    static func f(_ value: Double) -> String { Formatting.number(value, decimals: 1).replacingOccurrences(of: ",", with: "") }

    /// Dots at (x: time in seconds since the epoch, y: value), radius by `size`, each linking to its page.
    static func scatter(_ points: [(x: Double, y: Double, size: Double, label: String, link: String)], unit: String, title: String) -> String {
        let width = 800.0, height = 260.0, left = 64.0, bottom = 28.0, top = 26.0, right = 16.0
        let minX = points.map(\.x).min()!, maxX = max(points.map(\.x).max()!, minX + 1)
        let maxY = max(points.map(\.y).max()!, 1e-12), maxSize = max(points.map(\.size).max()!, 1e-9)
        let plotWidth = width - left - right, plotHeight = height - top - bottom
        var dots = ""
        for point in points {
            let x = left + (point.x - minX) / (maxX - minX) * plotWidth
            let y = top + plotHeight - point.y / maxY * plotHeight
            let radius = 3 + 9 * (point.size / maxSize).squareRoot()
            dots += "<a href=\"\(HTML.escape(point.link))\"><circle cx=\"\(f(x))\" cy=\"\(f(y))\" r=\"\(f(radius))\" class=\"dot\">"
                + "<title>\(HTML.escape(point.label)): \(HTML.escape(Formatting.significant(point.y))) \(HTML.escape(unit))</title></circle></a>"
        }
        let ticks = yAxis(maximum: maxY, left: left, right: width - right, top: top, height: plotHeight)
        let labels = "<text x=\"\(f(left))\" y=\"\(f(height - 8))\" class=\"axis\">\(HTML.escape(UTCDay.string(minX)))</text>"
            + "<text x=\"\(f(width - right))\" y=\"\(f(height - 8))\" text-anchor=\"end\" class=\"axis\">\(HTML.escape(UTCDay.string(maxX)))</text>"
            + "<text x=\"4\" y=\"12\" class=\"axis\">\(HTML.escape(unit))</text>"
        return """
            <figure class="chart"><svg viewBox="0 0 \(f(width)) \(f(height))" role="img" aria-labelledby="scatter-title">
            <title id="scatter-title">\(HTML.escape(title))</title>\(ticks)\(dots)\(labels)</svg>
            <p class="muted">Each dot is a run; larger dots ran longer. The table below lists them.</p></figure>
            """
    }

    /// One horizontal bar split into parts (the CPU/GPU/RAM energy of a run), with a legend.
    static func split(_ parts: [(label: String, value: Double)], unit: String, title: String) -> String {
        let total = parts.reduce(0) { $0 + $1.value }
        guard total > 0 else { return "" }
        var x = 0.0
        var bars = "", legend = ""
        for (index, part) in parts.enumerated() where part.value > 0 {
            let width = part.value / total * 800
            bars += "<rect x=\"\(f(x))\" y=\"0\" width=\"\(f(width))\" height=\"28\" class=\"part part-\(index + 1)\"><title>\(HTML.escape(part.label)): \(HTML.escape(Formatting.significant(part.value))) \(HTML.escape(unit))</title></rect>"
            x += width
        }
        for (index, part) in parts.enumerated() {
            legend += "<li><span class=\"swatch part-\(index + 1)\"></span>\(HTML.escape(part.label)) \(HTML.escape(Formatting.significant(part.value))) \(HTML.escape(unit)) (\(HTML.escape(Formatting.number(part.value / total * 100))) %)</li>"
        }
        return """
            <figure class="chart"><svg viewBox="0 0 800 28" role="img" aria-label="\(HTML.escape(title))">\(bars)</svg>
            <ul class="legend">\(legend)</ul></figure>
            """
    }
}

import HTTPServer

/// `?sort=` and `?dir=` of a table, limited to known columns, with header links that toggle the direction.
struct TableSort {
    let key: String
    let descending: Bool

    init(request: Request, allowed: [String], defaultKey: String) {
        let asked = request.query("sort") ?? defaultKey
        key = allowed.contains(asked) ? asked : defaultKey
        descending = (request.query("dir") ?? (key == "name" ? "asc" : "desc")) != "asc"
    }

    func header(_ label: String, key column: String, base: String, numeric: Bool = false) -> String {
        let active = column == key
        let direction = active ? (descending ? "asc" : "desc") : (column == "name" ? "asc" : "desc")
        let marker = active ? (descending ? " ▼" : " ▲") : ""
        let sortState = active ? " aria-sort=\"\(descending ? "descending" : "ascending")\"" : ""
        return "<th\(numeric ? " class=\"num\"" : "")\(sortState)><a href=\"\(HTML.escape(base))&sort=\(column)&dir=\(direction)\">\(HTML.escape(label))\(marker)</a></th>"
    }
}
