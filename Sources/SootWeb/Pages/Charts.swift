import Emissions
import Foundation
import SootStore

/// Charts drawn on the server as inline SVG, with a `<title>` and a data table alternative.
enum Charts {
    /// Bars per period (day or week) stacked by child, the largest children first and the rest as "Other", with a
    /// legend and a data table (one column per series).
    static func stackedBars(periods: [String], series: [(name: String, values: [Double])], unit: String, title: String,
                            periodLabel: String) -> HTML {
        guard !periods.isEmpty, !series.isEmpty else { return "<p class=\"muted\">No data in this range.</p>" }
        let width = 800.0, height = 250.0, left = 64.0, bottom = 28.0, top = 26.0, right = 8.0
        let totals = periods.indices.map { index in series.reduce(0) { $0 + $1.values[index] } }
        let maximum = max(totals.max() ?? 0, 1e-12)
        let plotWidth = width - left - right, plotHeight = height - top - bottom
        let slot = plotWidth / Double(periods.count)
        let barWidth = max(1, slot * 0.8)
        var bars: HTML = ""
        for (index, period) in periods.enumerated() {
            var base = top + plotHeight
            let x = left + Double(index) * slot + (slot - barWidth) / 2
            for (number, line) in series.enumerated() where line.values[index] > 0 {
                let barHeight = line.values[index] / maximum * plotHeight
                base -= barHeight
                bars += "<rect x=\"\(f(x))\" y=\"\(f(base))\" width=\"\(f(barWidth))\" height=\"\(f(barHeight))\" class=\"part part-\(number % 6 + 1)\">"
                    + "<title>\(period), \(line.name): \(Formatting.significant(line.values[index])) \(unit)</title></rect>"
            }
        }
        let ticks = yAxis(maximum: maximum, left: left, right: width - right, top: top, height: plotHeight)
        let labels = axisLabels(first: periods.first!, last: periods.last!, unit: unit, left: left, right: width - right, bottom: height - 8)
        var legend: HTML = ""
        for (number, line) in series.enumerated() {
            let total = line.values.reduce(0, +)
            legend += "<li><span class=\"swatch part-\(number % 6 + 1)\"></span>\(line.name) \(Formatting.significant(total)) \(unit)</li>"
        }
        var header: HTML = "<th>\(periodLabel)</th>"
        for line in series { header += "<th class=\"num\">\(line.name)</th>" }
        var rows: HTML = ""
        for (index, period) in periods.enumerated() {
            rows += "<tr><td>\(period)</td>"
            for line in series { rows += "<td class=\"num\">\(Formatting.significant(line.values[index]))</td>" }
            rows += "</tr>"
        }
        return """
            <figure class="chart"><svg viewBox="0 0 \(f(width)) \(f(height))" role="img" aria-labelledby="stack-title">
            <title id="stack-title">\(title)</title>\(ticks)\(bars)\(labels)</svg>
            <ul class="legend">\(legend)</ul>
            <details><summary>Data table (\(unit))</summary><table><thead><tr>\(header)</tr></thead><tbody>\(rows)</tbody></table></details></figure>
            """
    }

    /// Horizontal bars, one per child, largest first, each linking to its page.
    static func breakdown(_ items: [(label: String, value: Double, link: String?)], unit: String, title: String) -> HTML {
        let shown = items.filter { $0.value > 0 }.prefix(10)
        guard shown.count > 1 else { return "" }
        let maximum = max(shown.map(\.value).max() ?? 0, 1e-12)
        let rowHeight = 26.0, labelWidth = 220.0, width = 800.0
        let height = rowHeight * Double(shown.count)
        var bars: HTML = ""
        for (index, item) in shown.enumerated() {
            let y = Double(index) * rowHeight
            let barWidth = max(1, item.value / maximum * (width - labelWidth - 90))
            let label = item.label.count > 30 ? String(item.label.prefix(29)) + "…" : item.label
            var bar: HTML = "<text x=\"\(f(labelWidth - 8))\" y=\"\(f(y + 17))\" text-anchor=\"end\" class=\"axis\">\(label)</text>"
                + "<rect x=\"\(f(labelWidth))\" y=\"\(f(y + 4))\" width=\"\(f(barWidth))\" height=\"\(f(rowHeight - 8))\" class=\"bar\">"
                + "<title>\(item.label): \(Formatting.significant(item.value)) \(unit)</title></rect>"
                + "<text x=\"\(f(labelWidth + barWidth + 6))\" y=\"\(f(y + 17))\" class=\"axis\">\(Formatting.significant(item.value))</text>"
            if let link = item.link { bar = "<a href=\"\(link)\">\(bar)</a>" }
            bars += bar
        }
        return """
            <figure class="chart"><svg viewBox="0 0 \(f(width)) \(f(height))" role="img" aria-labelledby="breakdown-title">
            <title id="breakdown-title">\(title)</title>\(bars)</svg>
            <p class="muted">\(unit); the table below has every figure.</p></figure>
            """
    }

    /// Lines over time (x: seconds since the epoch), each series with its own colour; gaps where a value is nil.
    static func lines(_ x: [Double], series: [(name: String, values: [Double?])], unit: String, title: String) -> HTML {
        guard x.count > 1, let minX = x.first, let maxX = x.last, maxX > minX else { return "" }
        let width = 800.0, height = 220.0, left = 64.0, bottom = 28.0, top = 26.0, right = 16.0
        let maximum = max(series.flatMap { $0.values.compactMap { $0 } }.max() ?? 0, 1e-12)
        let plotWidth = width - left - right, plotHeight = height - top - bottom
        var paths: HTML = "", legend: HTML = ""
        for (number, line) in series.enumerated() {
            var d = "", pen = "M"
            for (index, value) in line.values.enumerated() {
                guard let value else { pen = "M"; continue }
                let px = left + (x[index] - minX) / (maxX - minX) * plotWidth
                let py = top + plotHeight - value / maximum * plotHeight
                d += "\(pen)\(f(px)) \(f(py)) "
                pen = "L"
            }
            paths += "<path d=\"\(d)\" class=\"line line-\(number % 6 + 1)\"><title>\(line.name)</title></path>"
            legend += "<li><span class=\"swatch part-\(number % 6 + 1)\"></span>\(line.name)</li>"
        }
        let ticks = yAxis(maximum: maximum, left: left, right: width - right, top: top, height: plotHeight)
        func clock(_ seconds: Double) -> String { ISOTime.format(Date(timeIntervalSince1970: seconds)).prefix(16).replacingOccurrences(of: "T", with: " ") }
        let labels = axisLabels(first: clock(minX), last: clock(maxX), unit: unit, left: left, right: width - right, bottom: height - 8)
        var header: HTML = "<th>Time (UTC)</th>"
        for line in series { header += "<th class=\"num\">\(line.name)</th>" }
        var rows: HTML = ""
        for (index, moment) in x.enumerated() {
            rows += "<tr><td>\(clock(moment))</td>"
            for line in series { rows += "<td class=\"num\">\(line.values[index].map { Formatting.significant($0) } ?? "–")</td>" }
            rows += "</tr>"
        }
        return """
            <figure class="chart"><svg viewBox="0 0 \(f(width)) \(f(height))" role="img" aria-labelledby="lines-title-\(abs(title.hashValue % 10_000))">
            <title id="lines-title-\(abs(title.hashValue % 10_000))">\(title)</title>\(ticks)\(paths)\(labels)</svg>
            <ul class="legend">\(legend)</ul>
            <details><summary>Data table (\(unit))</summary><table><thead><tr>\(header)</tr></thead><tbody>\(rows)</tbody></table></details></figure>
            """
    }

    /// The first and last x values under the plot's ends, and the unit at the top left.
    static func axisLabels(first: String, last: String, unit: String, left: Double, right: Double, bottom: Double) -> HTML {
        "<text x=\"\(f(left))\" y=\"\(f(bottom))\" class=\"axis\">\(first)</text>"
            + "<text x=\"\(f(right))\" y=\"\(f(bottom))\" text-anchor=\"end\" class=\"axis\">\(last)</text>"
            + "<text x=\"4\" y=\"12\" class=\"axis\">\(unit)</text>"
    }

    /// Five horizontal grid lines from 0 to `maximum`, labelled on the left.
    static func yAxis(maximum: Double, left: Double, right: Double, top: Double, height: Double) -> HTML {
        var ticks: HTML = ""
        for step in 0...4 {
            let value = maximum * Double(step) / 4
            let y = top + height - height * Double(step) / 4
            ticks += "<line x1=\"\(f(left))\" x2=\"\(f(right))\" y1=\"\(f(y))\" y2=\"\(f(y))\" class=\"grid\"/>"
                + "<text x=\"\(f(left - 6))\" y=\"\(f(y + 4))\" text-anchor=\"end\" class=\"axis\">\(Formatting.significant(value))</text>"
        }
        return ticks
    }

    /// A coordinate with one decimal, no grouping (SVG attributes), without Foundation.
    static func f(_ value: Double) -> String {
        guard value.isFinite else { return "0" }
        let tenths = Int((value * 10).rounded())
        let sign = tenths < 0 ? "-" : ""
        let magnitude = abs(tenths)
        return "\(sign)\(magnitude / 10).\(magnitude % 10)"
    }

    /// Dots at (x: time in seconds since the epoch, y: value), radius by `size`, each linking to its page.
    static func scatter(_ points: [(x: Double, y: Double, size: Double, label: String, link: String)], unit: String, title: String) -> HTML {
        let width = 800.0, height = 260.0, left = 64.0, bottom = 28.0, top = 26.0, right = 16.0
        let minX = points.map(\.x).min()!, maxX = max(points.map(\.x).max()!, minX + 1)
        let maxY = max(points.map(\.y).max()!, 1e-12), maxSize = max(points.map(\.size).max()!, 1e-9)
        let plotWidth = width - left - right, plotHeight = height - top - bottom
        var dots: HTML = ""
        for point in points {
            let x = left + (point.x - minX) / (maxX - minX) * plotWidth
            let y = top + plotHeight - point.y / maxY * plotHeight
            let radius = 3 + 9 * (point.size / maxSize).squareRoot()
            dots += "<a href=\"\(point.link)\"><circle cx=\"\(f(x))\" cy=\"\(f(y))\" r=\"\(f(radius))\" class=\"dot\">"
                + "<title>\(point.label): \(Formatting.significant(point.y)) \(unit)</title></circle></a>"
        }
        let ticks = yAxis(maximum: maxY, left: left, right: width - right, top: top, height: plotHeight)
        let labels = axisLabels(first: UTCDay.string(minX), last: UTCDay.string(maxX), unit: unit, left: left, right: width - right, bottom: height - 8)
        return """
            <figure class="chart"><svg viewBox="0 0 \(f(width)) \(f(height))" role="img" aria-labelledby="scatter-title">
            <title id="scatter-title">\(title)</title>\(ticks)\(dots)\(labels)</svg>
            <p class="muted">Each dot is a run; larger dots ran longer. The table below lists them.</p></figure>
            """
    }

    /// One horizontal bar split into parts (the CPU/GPU/RAM energy of a run), with a legend.
    static func split(_ parts: [(label: String, value: Double)], unit: String, title: String) -> HTML {
        let total = parts.reduce(0) { $0 + $1.value }
        guard total > 0 else { return "" }
        var x = 0.0
        var bars: HTML = "", legend: HTML = ""
        for (index, part) in parts.enumerated() where part.value > 0 {
            let width = part.value / total * 800
            bars += "<rect x=\"\(f(x))\" y=\"0\" width=\"\(f(width))\" height=\"28\" class=\"part part-\(index + 1)\"><title>\(part.label): \(Formatting.significant(part.value)) \(unit)</title></rect>"
            x += width
        }
        for (index, part) in parts.enumerated() {
            legend += "<li><span class=\"swatch part-\(index + 1)\"></span>\(part.label) \(Formatting.significant(part.value)) \(unit) (\(Formatting.number(part.value / total * 100)) %)</li>"
        }
        return """
            <figure class="chart"><svg viewBox="0 0 800 28" role="img" aria-label="\(title)">\(bars)</svg>
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

    func header(_ label: String, key column: String, base: String, numeric: Bool = false) -> HTML {
        let active = column == key
        let direction = active ? (descending ? "asc" : "desc") : (column == "name" ? "asc" : "desc")
        let marker = active ? (descending ? " ▼" : " ▲") : ""
        let sortState: HTML = active ? " aria-sort=\"\(descending ? "descending" : "ascending")\"" : ""
        let numericClass: HTML = numeric ? " class=\"num\"" : ""
        return "<th\(numericClass)\(sortState)><a href=\"\(base)&sort=\(column)&dir=\(direction)\">\(label)\(marker)</a></th>"
    }
}
