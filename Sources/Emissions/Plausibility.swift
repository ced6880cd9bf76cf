/// Bounds beyond which a measurement is refused as absurd rather than stored. Generous enough for a whole
/// month of a large GPU cluster in one report, tight enough to catch unit mistakes (Wh sent as kWh, ms as s).
public enum Plausibility {
    /// Longest single sample: 31 days, in seconds.
    public static let maximumSampleDuration: Double = 31 * 24 * 3600
    /// Longest run report: 366 days, in seconds.
    public static let maximumRunDuration: Double = 366 * 24 * 3600
    /// Most energy in one sample or report: 1 GWh, in kWh.
    public static let maximumEnergyKWh: Double = 1_000_000
    /// Most emissions in one sample or report: 1,000 t, in kg.
    public static let maximumEmissionsKg: Double = 1_000_000
    /// Highest average power: 100 MW, in W.
    public static let maximumPowerW: Double = 100_000_000
    /// Highest emissions rate: 1 t per second, in kg/s.
    public static let maximumEmissionsRate: Double = 1_000
    /// Most water in one sample or report, in litres.
    public static let maximumWaterLiters: Double = 1_000_000_000
    /// How far in the future a timestamp may be (clock skew), in seconds: one day.
    public static let maximumFutureSkew: Double = 24 * 3600
    /// Earliest accepted timestamp: 2000-01-01T00:00:00Z.
    public static let earliestTimestamp: Double = 946_684_800
}

/// One emission sample: what a tracker measured over `durationSeconds` ending at `timestamp`. Energies and
/// emissions are amounts for that interval (deltas), powers are the tracker's running averages.
public struct SampleMeasure: Sendable, Equatable {
    public var timestamp: Double
    public var durationSeconds: Double
    public var emissionsKg: Double
    public var emissionsRate: Double?
    public var cpuPowerW: Double?
    public var gpuPowerW: Double?
    public var ramPowerW: Double?
    public var cpuEnergyKWh: Double
    public var gpuEnergyKWh: Double
    public var ramEnergyKWh: Double
    public var energyKWh: Double
    public var cpuUtilization: Double?
    public var gpuUtilization: Double?
    public var ramUtilization: Double?
    public var waterLiters: Double

    public init(
        timestamp: Double, durationSeconds: Double, emissionsKg: Double, emissionsRate: Double? = nil,
        cpuPowerW: Double? = nil, gpuPowerW: Double? = nil, ramPowerW: Double? = nil,
        cpuEnergyKWh: Double = 0, gpuEnergyKWh: Double = 0, ramEnergyKWh: Double = 0, energyKWh: Double,
        cpuUtilization: Double? = nil, gpuUtilization: Double? = nil, ramUtilization: Double? = nil, waterLiters: Double = 0
    ) {
        self.timestamp = timestamp
        self.durationSeconds = durationSeconds
        self.emissionsKg = emissionsKg
        self.emissionsRate = emissionsRate
        self.cpuPowerW = cpuPowerW
        self.gpuPowerW = gpuPowerW
        self.ramPowerW = ramPowerW
        self.cpuEnergyKWh = cpuEnergyKWh
        self.gpuEnergyKWh = gpuEnergyKWh
        self.ramEnergyKWh = ramEnergyKWh
        self.energyKWh = energyKWh
        self.cpuUtilization = cpuUtilization
        self.gpuUtilization = gpuUtilization
        self.ramUtilization = ramUtilization
        self.waterLiters = waterLiters
    }

    /// The UTC day (`YYYY-MM-DD`) the sample's timestamp falls on.
    public var utcDay: String { UTCDay.string(timestamp) }
}

/// Calendar days in UTC without Foundation.
public enum UTCDay {
    /// `YYYY-MM-DD` for seconds since the Unix epoch (civil-from-days, proleptic Gregorian).
    public static func string(_ seconds: Double) -> String {
        let days = Int((seconds / 86_400).rounded(.down))
        let (year, month, day) = civil(days)
        func pad(_ value: Int, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))"
    }

    /// Year, month (1–12) and day of a day number (days since 1970-01-01; H. Hinnant's civil-from-days).
    public static func civil(_ daysSinceEpoch: Int) -> (year: Int, month: Int, day: Int) {
        let z = daysSinceEpoch + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (m <= 2 ? y + 1 : y, m, d)
    }

    /// The day number (days since 1970-01-01) of a date (days-from-civil); `month` 1–12.
    public static func days(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }
}
