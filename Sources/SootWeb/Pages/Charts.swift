import Emissions
import Foundation
import SootStore

/// Charts drawn on the server as inline SVG, with a `<title>` and a data table alternative.
///
/// Each chart is drawn twice, for a wide screen (800 units across) and for a phone (360), and the stylesheet shows
/// the one that fits, so text stays readable at any width. Value axes step in round numbers (`ChartScale`), in the
/// unit of the page's totals. Every mark carries a `<title>` with its exact value; `/static/soot.js` turns those
/// into a tip shown on hover and touch (the page works without it). A component (CPU, GPU, RAM) has the same colour
/// on every chart.
enum Charts {
    /// The drawing area of one rendition.
    struct Frame {
        let width: Double
        let left: Double
        let right: Double
        let top: Double
        let bottom: Double
        /// The most date labels under a time axis.
        let dateLabels: Int
        /// `only-wide` or `only-narrow`, and the suffix that keeps element ids unique.
        let variant: String

        static let wide = Frame(width: 800, left: 64, right: 12, top: 26, bottom: 28, dateLabels: 14, variant: "wide")
        static let narrow = Frame(width: 360, left: 52, right: 10, top: 26, bottom: 28, dateLabels: 5, variant: "narrow")

        var plotWidth: Double { width - left - right }
        var svgClass: HTML { "only-\(variant)" }
    }

    /// The same chart for each frame.
    static func twice(_ draw: (Frame) -> HTML) -> HTML { draw(.wide) + draw(.narrow) }

    /// The colour class of a series: components keep theirs everywhere, other series take the palette in order.
    static func colour(_ name: String, index: Int) -> HTML {
        switch name {
        case "CPU": return "c-cpu"
        case "GPU": return "c-gpu"
        case "RAM": return "c-ram"
        default: return "part-\(index % 6 + 1)"
        }
    }

    /// Bars per period (day or week) stacked by child, the largest children first and the rest as "Other", with a
    /// legend and a data table (one column per series). Values are kilograms, drawn in `scale`'s unit.
    static func stackedBars(periods: [String], series: [(name: String, values: [Double])], scale: (unit: String, perKilogram: Double),
                            title: String, periodLabel: String, weekly: Bool,
                            allowance: (label: String, kilograms: Double)? = nil) -> HTML {
        guard !periods.isEmpty, !series.isEmpty else { return "<p class=\"muted\">No data in this range.</p>" }
        let unit = "\(scale.unit) CO2e"
        let series = series.map { (name: $0.name, values: $0.values.map { $0 * scale.perKilogram }) }
        let totals = periods.indices.map { index in series.reduce(0) { $0 + $1.values[index] } }
        let allowed = allowance.map { $0.kilograms * scale.perKilogram }
        let axis = ChartScale.axis(maximum: max(totals.max() ?? 0, allowed ?? 0))
        let height = 250.0
        let svg = twice { frame in
            let plotHeight = height - frame.top - frame.bottom
            let slot = frame.plotWidth / Double(periods.count)
            let barWidth = max(1, slot * 0.8)
            var bars: HTML = ""
            for (index, period) in periods.enumerated() {
                var base = frame.top + plotHeight
                let x = frame.left + Double(index) * slot + (slot - barWidth) / 2
                for (number, line) in series.enumerated() where line.values[index] > 0 {
                    let barHeight = line.values[index] / axis.top * plotHeight
                    base -= barHeight
                    bars += "<rect x=\"\(f(x))\" y=\"\(f(base))\" width=\"\(f(barWidth))\" height=\"\(f(barHeight))\" class=\"part \(colour(line.name, index: number))\">"
                        + "<title>\(period), \(line.name): \(Formatting.significant(line.values[index])) \(unit)</title></rect>"
                }
            }
            var labels: HTML = ""
            let monthly = weekly || periods.count > 124
            for (position, index) in ChartScale.dateLabels(periods, weekly: weekly, maximumLabels: frame.dateLabels).enumerated() {
                let x = frame.left + (Double(index) + 0.5) * slot
                let day = periods[index]
                // Months on a long axis (the year on the first label and on January), days otherwise.
                let text = !monthly ? UTCDay.shortLabel(day)
                    : position == 0 || day.dropFirst(5).hasPrefix("01") ? UTCDay.shortLabel(day, monthOnly: true)
                    : String(UTCDay.shortLabel(day).prefix(3))
                labels += "<line x1=\"\(f(x))\" x2=\"\(f(x))\" y1=\"\(f(frame.top + plotHeight))\" y2=\"\(f(frame.top + plotHeight + 4))\" class=\"grid\"/>"
                labels += "<text x=\"\(f(x))\" y=\"\(f(height - 8))\" text-anchor=\"middle\" class=\"axis\">\(text)</text>"
            }
            // The budget's allowance per bar, as a dashed line across the plot.
            var line: HTML = ""
            if let allowed, let allowance, allowed > 0 {
                let y = frame.top + plotHeight - allowed / axis.top * plotHeight
                line = "<line x1=\"\(f(frame.left))\" x2=\"\(f(frame.left + frame.plotWidth))\" y1=\"\(f(y))\" y2=\"\(f(y))\" class=\"allowance\">"
                    + "<title>\(allowance.label): \(Formatting.significant(allowed)) \(unit)</title></line>"
            }
            return """
                <svg viewBox="0 0 \(f(frame.width)) \(f(height))" class="\(frame.svgClass)" role="img" aria-labelledby="stack-title-\(frame.variant)">\
                <title id="stack-title-\(frame.variant)">\(title)</title>\(yAxis(axis, frame: frame, height: plotHeight))\(bars)\(line)\(labels)\(unitLabel(unit))</svg>
                """
        }
        var legend: HTML = ""
        for (number, line) in series.enumerated() {
            let total = line.values.reduce(0, +)
            legend += "<li><span class=\"swatch \(colour(line.name, index: number))\"></span>\(line.name) \(Formatting.significant(total)) \(unit)</li>"
        }
        if let allowance, let allowed, allowed > 0 {
            legend += "<li><span class=\"swatch allowance\"></span>\(allowance.label.prefix(1).uppercased() + allowance.label.dropFirst()) \(Formatting.significant(allowed)) \(unit)</li>"
        }
        var header: HTML = "<th scope=\"col\">\(periodLabel)</th>"
        for line in series { header += "<th scope=\"col\" class=\"num\">\(line.name)</th>" }
        var rows: HTML = ""
        for (index, period) in periods.enumerated() {
            rows += "<tr><td>\(period)</td>"
            for line in series { rows += "<td class=\"num\">\(Formatting.significant(line.values[index]))</td>" }
            rows += "</tr>"
        }
        return """
            <figure class="chart">\(svg)
            <ul class="legend">\(legend)</ul>
            <details><summary>Data table (\(unit))</summary><div class="table-scroll" tabindex="0"><table><thead><tr>\(header)</tr></thead><tbody>\(rows)</tbody></table></div></details></figure>
            """
    }

    /// Horizontal bars, one per child, largest first. The table below the chart links each child; the bars do not
    /// (links inside an image are not reachable by everyone).
    static func breakdown(_ items: [(label: String, value: Double)], scale: (unit: String, perKilogram: Double), title: String) -> HTML {
        let shown = items.filter { $0.value > 0 }.prefix(10).map { (label: $0.label, value: $0.value * scale.perKilogram) }
        guard shown.count > 1 else { return "" }
        let unit = "\(scale.unit) CO2e"
        let maximum = max(shown.map(\.value).max() ?? 0, 1e-12)
        let rowHeight = 26.0
        let height = rowHeight * Double(shown.count)
        let svg = twice { frame in
            let labelWidth = frame.variant == "wide" ? 220.0 : 120.0
            let characters = frame.variant == "wide" ? 30 : 15
            var bars: HTML = ""
            for (index, item) in shown.enumerated() {
                let y = Double(index) * rowHeight
                let barWidth = max(1, item.value / maximum * (frame.width - labelWidth - 70))
                let label = item.label.count > characters ? String(item.label.prefix(characters - 1)) + "…" : item.label
                bars += "<text x=\"\(f(labelWidth - 8))\" y=\"\(f(y + 17))\" text-anchor=\"end\" class=\"axis\">\(label)</text>"
                    + "<rect x=\"\(f(labelWidth))\" y=\"\(f(y + 4))\" width=\"\(f(barWidth))\" height=\"\(f(rowHeight - 8))\" class=\"bar\">"
                    + "<title>\(item.label): \(Formatting.significant(item.value)) \(unit)</title></rect>"
                    + "<text x=\"\(f(labelWidth + barWidth + 6))\" y=\"\(f(y + 17))\" class=\"axis\">\(Formatting.significant(item.value))</text>"
            }
            return """
                <svg viewBox="0 0 \(f(frame.width)) \(f(height))" class="\(frame.svgClass)" role="img" aria-labelledby="breakdown-title-\(frame.variant)">\
                <title id="breakdown-title-\(frame.variant)">\(title)</title>\(bars)</svg>
                """
        }
        return """
            <figure class="chart">\(svg)
            <p class="muted">\(unit); the table below has every figure.</p></figure>
            """
    }

    /// Lines over time (x: seconds since the epoch), each series with its own colour; gaps where a value is nil.
    static func lines(_ x: [Double], series: [(name: String, values: [Double?])], unit: String, title: String) -> HTML {
        guard x.count > 1, let minX = x.first, let maxX = x.last, maxX > minX else { return "" }
        let height = 220.0
        let axis = ChartScale.axis(maximum: series.flatMap { $0.values.compactMap { $0 } }.max() ?? 0)
        let id = abs(title.hashValue % 10_000)
        func clock(_ seconds: Double) -> String { ISOTime.format(Date(timeIntervalSince1970: seconds)).prefix(16).replacingOccurrences(of: "T", with: " ") }
        let svg = twice { frame in
            let plotHeight = height - frame.top - frame.bottom
            var paths: HTML = ""
            for (number, line) in series.enumerated() {
                var d = "", pen = "M"
                for (index, value) in line.values.enumerated() {
                    guard let value else { pen = "M"; continue }
                    let px = frame.left + (x[index] - minX) / (maxX - minX) * frame.plotWidth
                    let py = frame.top + plotHeight - value / axis.top * plotHeight
                    d += "\(pen)\(f(px)) \(f(py)) "
                    pen = "L"
                }
                paths += "<path d=\"\(d)\" class=\"line \(colour(line.name, index: number))\"><title>\(line.name)</title></path>"
            }
            let ends = "<text x=\"\(f(frame.left))\" y=\"\(f(height - 8))\" class=\"axis\">\(clock(minX))</text>"
                + "<text x=\"\(f(frame.width - frame.right))\" y=\"\(f(height - 8))\" text-anchor=\"end\" class=\"axis\">\(clock(maxX))</text>" as HTML
            return """
                <svg viewBox="0 0 \(f(frame.width)) \(f(height))" class="\(frame.svgClass)" role="img" aria-labelledby="lines-title-\(id)-\(frame.variant)">\
                <title id="lines-title-\(id)-\(frame.variant)">\(title)</title>\(yAxis(axis, frame: frame, height: plotHeight))\(paths)\(ends)\(unitLabel(unit))</svg>
                """
        }
        var legend: HTML = ""
        for (number, line) in series.enumerated() {
            legend += "<li><span class=\"swatch \(colour(line.name, index: number))\"></span>\(line.name)</li>"
        }
        var header: HTML = "<th scope=\"col\">Time (UTC)</th>"
        for line in series { header += "<th scope=\"col\" class=\"num\">\(line.name)</th>" }
        var rows: HTML = ""
        for (index, moment) in x.enumerated() {
            rows += "<tr><td>\(clock(moment))</td>"
            for line in series { rows += "<td class=\"num\">\(line.values[index].map { Formatting.significant($0) } ?? "–")</td>" }
            rows += "</tr>"
        }
        return """
            <figure class="chart">\(svg)
            <ul class="legend">\(legend)</ul>
            <details><summary>Data table (\(unit))</summary><div class="table-scroll" tabindex="0"><table><thead><tr>\(header)</tr></thead><tbody>\(rows)</tbody></table></div></details></figure>
            """
    }

    /// The unit at the top left of a chart.
    static func unitLabel(_ unit: String) -> HTML { "<text x=\"4\" y=\"12\" class=\"axis\">\(unit)</text>" }

    /// Grid lines at the axis's round steps, labelled on the left.
    static func yAxis(_ axis: ChartScale.Axis, frame: Frame, height: Double) -> HTML {
        var ticks: HTML = ""
        for value in axis.ticks {
            let y = frame.top + height - height * value / axis.top
            ticks += "<line x1=\"\(f(frame.left))\" x2=\"\(f(frame.width - frame.right))\" y1=\"\(f(y))\" y2=\"\(f(y))\" class=\"grid\"/>"
                + "<text x=\"\(f(frame.left - 6))\" y=\"\(f(y + 4))\" text-anchor=\"end\" class=\"axis\">\(axis.label(value))</text>"
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

    /// Dots at (x: time in seconds since the epoch, y: kilograms), radius by `size`. The runs table below links
    /// each run.
    static func scatter(_ points: [(x: Double, y: Double, size: Double, label: String)], scale: (unit: String, perKilogram: Double),
                        title: String) -> HTML {
        let unit = "\(scale.unit) CO2e"
        let points = points.map { (x: $0.x, y: $0.y * scale.perKilogram, size: $0.size, label: $0.label) }
        let height = 260.0
        let minX = points.map(\.x).min()!, maxX = max(points.map(\.x).max()!, minX + 1)
        let axis = ChartScale.axis(maximum: points.map(\.y).max()!)
        let maxSize = max(points.map(\.size).max()!, 1e-9)
        let svg = twice { frame in
            let plotHeight = height - frame.top - frame.bottom
            var dots: HTML = ""
            for point in points {
                let x = frame.left + (point.x - minX) / (maxX - minX) * frame.plotWidth
                let y = frame.top + plotHeight - point.y / axis.top * plotHeight
                let radius = 3 + 9 * (point.size / maxSize).squareRoot()
                dots += "<circle cx=\"\(f(x))\" cy=\"\(f(y))\" r=\"\(f(radius))\" class=\"dot\">"
                    + "<title>\(point.label): \(Formatting.significant(point.y)) \(unit)</title></circle>"
            }
            let ends = "<text x=\"\(f(frame.left))\" y=\"\(f(height - 8))\" class=\"axis\">\(UTCDay.string(minX))</text>"
                + "<text x=\"\(f(frame.width - frame.right))\" y=\"\(f(height - 8))\" text-anchor=\"end\" class=\"axis\">\(UTCDay.string(maxX))</text>" as HTML
            return """
                <svg viewBox="0 0 \(f(frame.width)) \(f(height))" class="\(frame.svgClass)" role="img" aria-labelledby="scatter-title-\(frame.variant)">\
                <title id="scatter-title-\(frame.variant)">\(title)</title>\(yAxis(axis, frame: frame, height: plotHeight))\(dots)\(ends)\(unitLabel(unit))</svg>
                """
        }
        return """
            <figure class="chart">\(svg)
            <p class="muted">Each dot is a run; larger dots ran longer. The table below lists them.</p></figure>
            """
    }

    /// One horizontal bar split into parts (the CPU/GPU/RAM energy of a run), with a legend. One drawing serves
    /// every width: it has no text.
    static func split(_ parts: [(label: String, value: Double)], unit: String, title: String) -> HTML {
        let total = parts.reduce(0) { $0 + $1.value }
        guard total > 0 else { return "" }
        var x = 0.0
        var bars: HTML = "", legend: HTML = ""
        for (index, part) in parts.enumerated() where part.value > 0 {
            let width = part.value / total * 800
            bars += "<rect x=\"\(f(x))\" y=\"0\" width=\"\(f(width))\" height=\"28\" class=\"part \(colour(part.label, index: index))\"><title>\(part.label): \(Formatting.significant(part.value)) \(unit)</title></rect>"
            x += width
        }
        for (index, part) in parts.enumerated() {
            legend += "<li><span class=\"swatch \(colour(part.label, index: index))\"></span>\(part.label) \(Formatting.significant(part.value)) \(unit) (\(Formatting.number(part.value / total * 100)) %)</li>"
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
        return "<th scope=\"col\"\(numericClass)\(sortState)><a href=\"\(base)&sort=\(column)&dir=\(direction)\">\(label)\(marker)</a></th>"
    }
}
