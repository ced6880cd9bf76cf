/// The scales of a chart as people read them: a value axis of round steps (1, 2, 2.5 or 5 × 10ⁿ) in the unit the
/// page's totals use, and a time axis that labels enough dates to place a bar without crowding.
public enum ChartScale {
    /// A value axis from 0: `step` between grid lines, `top` the last line (at least the data's maximum).
    public struct Axis: Sendable, Equatable {
        public let step: Double
        public let top: Double
        /// Digits after the point that every tick needs (0 for steps of 1, 2 or 5; 2 for 0.25).
        public let decimals: Int
        /// The grid lines' values, 0 first.
        public var ticks: [Double] {
            let count = Int((top / step).rounded())
            return (0...max(count, 1)).map { Double($0) * step }
        }

        /// A tick's label: `0`, `2.5`, `0.025`, `1,500`.
        public func label(_ value: Double) -> String { value == 0 ? "0" : Formatting.number(value, decimals: decimals) }
    }

    /// Round steps so that `maximum` fits under at most `lines` steps (4 by default): 0 / 25 / 50 / 75 / 100,
    /// never 0 / 32.9 / 65.8 / 98.8. A maximum of 0 (or less) gives the axis 0 to 1.
    public static func axis(maximum: Double, lines: Int = 4) -> Axis {
        guard maximum.isFinite, maximum > 0 else { return Axis(step: 0.25, top: 1, decimals: 2) }
        let lines = max(lines, 1)
        let rough = maximum / Double(lines)
        var power = 1.0, exponent = 0
        while power * 10 <= rough { power *= 10; exponent += 1 }
        while power > rough { power /= 10; exponent -= 1 }
        for multiple in [1.0, 2, 2.5, 5, 10] {
            let step = multiple * power
            let count = (maximum / step - 1e-9).rounded(.up)
            if count <= Double(lines) {
                let decimals = multiple == 10 ? max(0, -exponent - 1) : max(0, -exponent + (multiple == 2.5 ? 1 : 0))
                return Axis(step: step, top: max(count, 1) * step, decimals: decimals)
            }
        }
        return Axis(step: 10 * power, top: (maximum / (10 * power)).rounded(.up) * 10 * power, decimals: max(0, -exponent - 1))
    }

    /// A mass unit for a chart: the one `Formatting.mass` gives the page's total, and the factor from kilograms.
    public static func massUnit(forTotalKilograms total: Double) -> (unit: String, perKilogram: Double) {
        let magnitude = abs(total)
        if magnitude > 0 && magnitude < 1 { return ("g", 1000) }
        if magnitude >= 1000 { return ("t", 0.001) }
        return ("kg", 1)
    }

    /// Which of `periods` (UTC days `YYYY-MM-DD`, each a day or, when `weekly`, the Monday starting a week) get a
    /// date under the axis: every day up to two weeks, Mondays up to about four months, the first period of each
    /// month beyond; thinned evenly to at most `maximumLabels`. Indices into `periods`, ascending.
    public static func dateLabels(_ periods: [String], weekly: Bool, maximumLabels: Int = 12) -> [Int] {
        guard !periods.isEmpty else { return [] }
        var candidates: [Int]
        if !weekly && periods.count <= 14 {
            candidates = Array(periods.indices)
        } else if !weekly && periods.count <= 124 {
            candidates = periods.indices.filter { isMonday(periods[$0]) }
        } else {
            candidates = periods.indices.filter { index in
                // The first period of each month; the very first only when it is its month's first week (or day).
                index == 0 ? (Int(periods[0].suffix(2)) ?? 99) <= (weekly ? 7 : 1) : periods[index].prefix(7) != periods[index - 1].prefix(7)
            }
        }
        if candidates.isEmpty { candidates = [0] }
        let limit = max(maximumLabels, 1)
        guard candidates.count > limit else { return candidates }
        let stride = (candidates.count + limit - 1) / limit
        return candidates.enumerated().filter { $0.offset % stride == 0 }.map(\.element)
    }

    /// Whether a `YYYY-MM-DD` day is a Monday.
    public static func isMonday(_ day: String) -> Bool {
        guard let days = UTCDay.daysSinceEpoch(day) else { return false }
        // 1970-01-01 was a Thursday: day 4 after a Monday.
        return ((days % 7) + 7) % 7 == 4
    }
}

extension UTCDay {
    /// Days since 1970-01-01 of a `YYYY-MM-DD` day; nil for anything else.
    public static func daysSinceEpoch(_ day: String) -> Int? {
        let parts = day.split(separator: "-")
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
              let year = Int(parts[0]), let month = Int(parts[1]), let date = Int(parts[2]),
              (1...12).contains(month), (1...31).contains(date) else { return nil }
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + date - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// A short label for a day on an axis: `Mar 4`, or `Mar 2026` for the first of a month on a long axis.
    public static func shortLabel(_ day: String, monthOnly: Bool = false) -> String {
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        let parts = day.split(separator: "-")
        guard parts.count == 3, let month = Int(parts[1]), (1...12).contains(month), let date = Int(parts[2]) else { return day }
        return monthOnly ? "\(months[month - 1]) \(parts[0])" : "\(months[month - 1]) \(date)"
    }
}
