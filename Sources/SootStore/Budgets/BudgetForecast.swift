import Emissions
import Foundation

/// A budget's calendar period, in UTC days since 1970-01-01: `[start, end)`.
package struct BudgetPeriod: Sendable, Equatable {
    package enum Kind: String, Sendable, CaseIterable { case month, quarter, year }

    package let kind: Kind
    package let start: Int
    package let end: Int

    /// The period of `kind` that holds the UTC day `day`.
    package init(_ kind: Kind, containing day: Int) {
        self.kind = kind
        let (year, month, _) = BudgetPeriod.civil(day)
        let firstMonth = switch kind { case .month: month; case .quarter: (month - 1) / 3 * 3 + 1; case .year: 1 }
        let months = switch kind { case .month: 1; case .quarter: 3; case .year: 12 }
        start = BudgetPeriod.days(year: year, month: firstMonth, day: 1)
        let next = firstMonth - 1 + months
        end = BudgetPeriod.days(year: year + next / 12, month: next % 12 + 1, day: 1)
    }

    package var length: Int { end - start }

    /// Year, month (1–12) and day of a UTC day number.
    package static func civil(_ days: Int) -> (year: Int, month: Int, day: Int) { UTCDay.civil(days) }

    /// The UTC day number of a date.
    package static func days(year: Int, month: Int, day: Int) -> Int { UTCDay.days(year: year, month: month, day: day) }

    /// `YYYY-MM-DD` of a UTC day number.
    package static func text(_ days: Int) -> String {
        let (y, m, d) = civil(days)
        return String(format: "%04d-%02d-%02d", y, m, d)
    }

    /// Saturday or Sunday (1970-01-01 was a Thursday).
    package static func isWeekend(_ days: Int) -> Bool {
        let weekday = ((days % 7) + 7 + 3) % 7  // 0 = Monday
        return weekday >= 5
    }
}

/// Where a budget's period will end at the current pace, from the period's daily totals.
///
/// The pace is the mean of the last 14 complete days of the period (or of the complete days so far when fewer; on a
/// period's first day, today's amount so far scaled to a whole day). Weekdays and weekends get a pace each when that
/// fits the window clearly better: both have at least two days in it and separating them at least halves the sum
/// of squared deviations. The forecast is what is used so far plus each remaining day's pace (the rest of today
/// counted as its unelapsed fraction). Its range is a 90 % interval: the day-to-day spread of the window around its
/// pace, over the remaining days, plus the uncertainty of the pace itself (the spread over the window's size).
package struct BudgetForecast: Sendable, Equatable {
    package let used: Double
    package let forecast: Double
    package let low: Double
    package let high: Double
    /// The daily pace, weekdays and weekends (equal unless they are told apart).
    package let weekdayPace: Double
    package let weekendPace: Double
    package let splitWeekends: Bool
    /// The UTC day the limit was or would be reached (nil: not within the period at this pace).
    package let limitReachedOn: Int?

    package static let window = 14
    package static let z90 = 1.6449

    /// `daily`: the period's amounts by UTC day (missing days are 0); `today` the current UTC day inside the period
    /// and `elapsed` how much of it has passed (0–1).
    package init(period: BudgetPeriod, daily: [Int: Double], today: Int, elapsed: Double, limit: Double) {
        let today = min(max(today, period.start), period.end - 1)
        let elapsed = min(max(elapsed, 0), 1)
        var used = 0.0, crossed: Int? = nil
        for day in period.start...today {
            used += daily[day] ?? 0
            if crossed == nil && used >= limit { crossed = day }
        }
        let complete = Array(max(period.start, today - BudgetForecast.window)..<today)
        var weekdayPace: Double, weekendPace: Double, split = false, spread = 0.0, count = complete.count
        if complete.isEmpty {
            // The period's first day: today so far, scaled to a day (at least an hour of it seen).
            let pace = (daily[today] ?? 0) / max(elapsed, 1.0 / 24)
            (weekdayPace, weekendPace, count) = (pace, pace, 1)
        } else {
            let values = complete.map { daily[$0] ?? 0 }
            let mean = values.reduce(0, +) / Double(values.count)
            let sse = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) }
            let weekdays = complete.filter { !BudgetPeriod.isWeekend($0) }.map { daily[$0] ?? 0 }
            let weekends = complete.filter(BudgetPeriod.isWeekend).map { daily[$0] ?? 0 }
            (weekdayPace, weekendPace, spread) = (mean, mean, values.count > 1 ? sse / Double(values.count - 1) : 0)
            if sse > 0 && weekdays.count >= 2 && weekends.count >= 2 {
                let wd = weekdays.reduce(0, +) / Double(weekdays.count), we = weekends.reduce(0, +) / Double(weekends.count)
                let splitSSE = weekdays.reduce(0) { $0 + ($1 - wd) * ($1 - wd) } + weekends.reduce(0) { $0 + ($1 - we) * ($1 - we) }
                if splitSSE <= sse / 2 {
                    (weekdayPace, weekendPace, split) = (wd, we, true)
                    spread = values.count > 2 ? splitSSE / Double(values.count - 2) : 0
                }
            }
        }
        // The rest of today, then each day to the period's end.
        var forecast = used, weights = 0.0, reached = crossed
        for day in today..<period.end {
            let weight = day == today ? 1 - elapsed : 1
            let pace = BudgetPeriod.isWeekend(day) ? weekendPace : weekdayPace
            forecast += pace * weight
            weights += weight
            if reached == nil && forecast >= limit && pace > 0 { reached = day }
        }
        let deviation = (spread * weights + weights * weights * spread / Double(max(count, 1))).squareRoot()
        self.used = used
        self.forecast = forecast
        self.low = max(used, forecast - BudgetForecast.z90 * deviation)
        self.high = forecast + BudgetForecast.z90 * deviation
        self.weekdayPace = weekdayPace
        self.weekendPace = weekendPace
        self.splitWeekends = split
        self.limitReachedOn = reached
    }

    /// over: the limit is spent; at_risk: the forecast passes it; on_track otherwise.
    package func state(limit: Double) -> String {
        used >= limit ? "over" : forecast > limit ? "at_risk" : "on_track"
    }
}
