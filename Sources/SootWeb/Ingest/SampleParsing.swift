import Emissions
import Foundation
import SootStore

/// Validation of measurements, one place for every way samples arrive. Each failure is a 422 naming the field.
enum SampleParsing {
    /// A timestamp that is neither before 2000 nor more than a day ahead.
    static func timestamp(_ body: some JSONFields, _ key: String, required: Bool = true) throws -> Date? {
        guard let date = try body.date(key, required: required) else { return nil }
        let seconds = date.timeIntervalSince1970
        if seconds < Plausibility.earliestTimestamp { throw AppError.invalid(key, "\(key) is before the year 2000.") }
        if seconds > Date().timeIntervalSince1970 + Plausibility.maximumFutureSkew {
            throw AppError.invalid(key, "\(key) is more than a day in the future.")
        }
        return date
    }

    static func amount(_ body: some JSONFields, _ key: String, maximum: Double, required: Bool = false) throws -> Double? {
        try body.double(key, required: required, range: 0...maximum)
    }

    /// The members of CodeCarbon's `EmissionCreate` that `codeCarbonEmission` reads, plus `run_id`: the hot path
    /// reads its body into these slots (`JSONSlots`) instead of a dictionary.
    static let codeCarbonEmissionKeys = JSONSlotKeys([
        "run_id", "timestamp", "duration", "emissions_sum", "emissions_rate", "cpu_power", "gpu_power", "ram_power",
        "cpu_energy", "gpu_energy", "ram_energy", "energy_consumed", "cpu_utilization_percent", "gpu_utilization_percent",
        "ram_utilization_percent", "wue",
    ])

    /// CodeCarbon's `EmissionCreate` (deltas since the previous post).
    static func codeCarbonEmission(_ body: some JSONFields) throws -> SampleMeasure {
        let timestamp = try timestamp(body, "timestamp")!
        guard let duration = try body.double("duration", required: true, range: 0...Plausibility.maximumSampleDuration), duration > 0 else {
            throw AppError.invalid("duration", "duration must be greater than 0 seconds.")
        }
        let energy = try amount(body, "energy_consumed", maximum: Plausibility.maximumEnergyKWh) ?? 0
        let wue = try body.double("wue", range: 0...1_000) ?? 0
        return SampleMeasure(
            timestamp: timestamp.timeIntervalSince1970,
            durationSeconds: duration,
            emissionsKg: try amount(body, "emissions_sum", maximum: Plausibility.maximumEmissionsKg, required: true)!,
            emissionsRate: try amount(body, "emissions_rate", maximum: Plausibility.maximumEmissionsRate),
            cpuPowerW: try amount(body, "cpu_power", maximum: Plausibility.maximumPowerW),
            gpuPowerW: try amount(body, "gpu_power", maximum: Plausibility.maximumPowerW),
            ramPowerW: try amount(body, "ram_power", maximum: Plausibility.maximumPowerW),
            cpuEnergyKWh: try amount(body, "cpu_energy", maximum: Plausibility.maximumEnergyKWh) ?? 0,
            gpuEnergyKWh: try amount(body, "gpu_energy", maximum: Plausibility.maximumEnergyKWh) ?? 0,
            ramEnergyKWh: try amount(body, "ram_energy", maximum: Plausibility.maximumEnergyKWh) ?? 0,
            energyKWh: energy,
            cpuUtilization: try body.double("cpu_utilization_percent", range: 0...100_000),
            gpuUtilization: try body.double("gpu_utilization_percent", range: 0...100_000),
            ramUtilization: try body.double("ram_utilization_percent", range: 0...100_000),
            waterLiters: wue * energy)
    }

    /// A sample in Soot's own API (units in the field names). `prefix` names the array element in errors.
    static func sample(_ body: JSONBody, prefix: String = "") throws -> (SampleMeasure, String?) {
        func field(_ name: String) -> String { prefix + name }
        do {
            let timestamp = try timestamp(body, "timestamp")!
            guard let duration = try body.double("duration_seconds", required: true, range: 0...Plausibility.maximumSampleDuration),
                  duration > 0 else {
                throw AppError.invalid("duration_seconds", "duration_seconds must be greater than 0.")
            }
            let measure = SampleMeasure(
                timestamp: timestamp.timeIntervalSince1970,
                durationSeconds: duration,
                emissionsKg: try amount(body, "emissions_kg", maximum: Plausibility.maximumEmissionsKg, required: true)!,
                emissionsRate: try amount(body, "emissions_rate", maximum: Plausibility.maximumEmissionsRate),
                cpuPowerW: try amount(body, "cpu_power_w", maximum: Plausibility.maximumPowerW),
                gpuPowerW: try amount(body, "gpu_power_w", maximum: Plausibility.maximumPowerW),
                ramPowerW: try amount(body, "ram_power_w", maximum: Plausibility.maximumPowerW),
                cpuEnergyKWh: try amount(body, "cpu_energy_kwh", maximum: Plausibility.maximumEnergyKWh) ?? 0,
                gpuEnergyKWh: try amount(body, "gpu_energy_kwh", maximum: Plausibility.maximumEnergyKWh) ?? 0,
                ramEnergyKWh: try amount(body, "ram_energy_kwh", maximum: Plausibility.maximumEnergyKWh) ?? 0,
                energyKWh: try amount(body, "energy_kwh", maximum: Plausibility.maximumEnergyKWh, required: true)!,
                cpuUtilization: try body.double("cpu_utilization_percent", range: 0...100_000),
                gpuUtilization: try body.double("gpu_utilization_percent", range: 0...100_000),
                ramUtilization: try body.double("ram_utilization_percent", range: 0...100_000),
                waterLiters: try amount(body, "water_liters", maximum: Plausibility.maximumWaterLiters) ?? 0)
            let key = try body.string("id", maxLength: 200)
            return (measure, key)
        } catch let error as AppError where error.field != nil {
            throw AppError.invalid(field(error.field!), error.message)
        }
    }
}

extension Machine {
    /// A run's machine from a JSON body (CodeCarbon's RunCreate, the run report, the emissions endpoint, a CSV row).
    init(_ body: some JSONFields) throws {
        self.init()
        os = try body.string("os", maxLength: 500)
        pythonVersion = try body.string("python_version", maxLength: 100)
        codecarbonVersion = try body.string("codecarbon_version", maxLength: 100)
        cpuCount = try body.int("cpu_count", range: 0...1_000_000)
        cpuModel = try body.string("cpu_model", maxLength: 500)
        gpuCount = try body.int("gpu_count", range: 0...1_000_000)
        gpuModel = try body.string("gpu_model", maxLength: 1000)
        longitude = try body.double("longitude", range: -180...180)
        latitude = try body.double("latitude", range: -90...90)
        region = try body.string("region", maxLength: 200)
        provider = try body.string("provider", maxLength: 100)
        countryName = try body.string("country_name", maxLength: 200)
        countryISOCode = try body.string("country_iso_code", maxLength: 3)
        cloudProvider = try body.string("cloud_provider", maxLength: 100)
        cloudRegion = try body.string("cloud_region", maxLength: 100)
        ramTotalSize = try body.double("ram_total_size", range: 0...1e12)
        trackingMode = try body.string("tracking_mode", maxLength: 100)
    }
}
