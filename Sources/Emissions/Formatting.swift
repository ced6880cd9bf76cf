/// Numbers as people read them: thousands separators, sensible precision, and units that switch scale
/// (g, kg, t; Wh, kWh, MWh) so a figure never reads as 0.000012 or 1250000.
public enum Formatting {
    /// `1,234,567.9` with `decimals` digits after the point (rounded half away from zero).
    public static func number(_ value: Double, decimals: Int = 0) -> String {
        guard value.isFinite else { return "–" }
        let negative = value < 0
        let scale = pow10(decimals)
        let rounded = (abs(value) * scale).rounded(.toNearestOrAwayFromZero)
        let whole = (rounded / scale).rounded(.towardZero)
        var digits = String(UInt64(min(whole, 9.2e18)))
        var grouped = ""
        while digits.count > 3 {
            grouped = "," + String(digits.suffix(3)) + grouped
            digits.removeLast(3)
        }
        grouped = digits + grouped
        if decimals > 0 {
            let fraction = UInt64(rounded - whole * scale)
            let text = String(fraction)
            grouped += "." + String(repeating: "0", count: decimals - text.count) + text
        }
        return (negative && rounded > 0 ? "-" : "") + grouped
    }

    /// About three significant digits, with separators: 0.00123, 1.23, 12.3, 123, 1,234.
    public static func significant(_ value: Double) -> String {
        guard value.isFinite else { return "–" }
        let magnitude = abs(value)
        if magnitude == 0 { return "0" }
        if magnitude >= 100 { return number(value, decimals: 0) }
        if magnitude >= 10 { return number(value, decimals: 1) }
        if magnitude >= 1 { return number(value, decimals: 2) }
        var decimals = 2
        var probe = magnitude
        while probe < 1 && decimals < 12 {
            probe *= 10
            decimals += 1
        }
        return number(value, decimals: decimals)
    }

    /// Emissions in the unit that reads best: `12.3 g`, `4.56 kg`, `1.23 t` (CO2e).
    public static func mass(kilograms: Double) -> (value: String, unit: String) {
        let magnitude = abs(kilograms)
        if magnitude > 0 && magnitude < 1 { return (significant(kilograms * 1000), "g") }
        if magnitude >= 1000 { return (significant(kilograms / 1000), "t") }
        return (significant(kilograms), "kg")
    }

    /// Energy in the unit that reads best: `850 Wh`, `12.5 kWh`, `3.2 MWh`.
    public static func energy(kilowattHours: Double) -> (value: String, unit: String) {
        let magnitude = abs(kilowattHours)
        if magnitude > 0 && magnitude < 1 { return (significant(kilowattHours * 1000), "Wh") }
        if magnitude >= 1000 { return (significant(kilowattHours / 1000), "MWh") }
        return (significant(kilowattHours), "kWh")
    }

    /// A fraction as a percentage people can trust: `42`, `99.7` (never 100 unless it is), `0.3`.
    public static func percent(_ fraction: Double) -> String {
        guard fraction.isFinite else { return "–" }
        let value = fraction * 100
        let magnitude = abs(value)
        if magnitude == 0 || magnitude == 100 { return number(value) }
        if magnitude >= 99.5 && magnitude < 100 { return number(min(magnitude, 99.9) * (value < 0 ? -1 : 1), decimals: 1) }
        if magnitude < 1 { return significant(value) }
        if magnitude < 10 { return number(value, decimals: 1) }
        return number(value)
    }

    /// A duration as `45 s`, `12 min`, `3.5 h`, `2.1 days`.
    public static func duration(seconds: Double) -> String {
        if seconds < 60 { return "\(number(seconds, decimals: 0)) s" }
        if seconds < 3600 { return "\(number(seconds / 60, decimals: 0)) min" }
        if seconds < 86_400 * 2 { return "\(significant(seconds / 3600)) h" }
        return "\(significant(seconds / 86_400)) days"
    }

    static func pow10(_ exponent: Int) -> Double {
        var result = 1.0
        for _ in 0..<max(0, exponent) { result *= 10 }
        return result
    }
}
