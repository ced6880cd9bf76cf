/// A thing people can picture, with how much CO2e one of it stands for (as seeded in the `equivalents` table).
public struct Equivalent: Sendable, Equatable {
    public let key: String
    public let label: String
    public let unit: String
    public let kgPerUnit: Double
    public let source: String
    public let year: Int?
    public let note: String

    public init(key: String, label: String, unit: String, kgPerUnit: Double, source: String, year: Int?, note: String = "") {
        self.key = key
        self.label = label
        self.unit = unit
        self.kgPerUnit = kgPerUnit
        self.source = source
        self.year = year
        self.note = note
    }

    /// How many units `kilograms` of CO2e amounts to.
    public func units(for kilograms: Double) -> Double { kilograms / kgPerUnit }
}

/// Where the same energy would have emitted less: each grid's intensity applied to the energy used.
public struct GridAlternative: Sendable, Equatable {
    public let name: String
    public let code: String
    public let provider: String
    public let gramsPerKWh: Double
    public let emissionsKg: Double
    /// Positive when this grid would have emitted less than the actual figure.
    public let savingKg: Double
    public let savingFraction: Double
}

public enum GridComparison {
    /// The same `energyKWh` at each grid's intensity, lowest emissions first, measured against `actualKg`.
    public static func alternatives(
        energyKWh: Double, actualKg: Double, grids: [(name: String, code: String, provider: String, gramsPerKWh: Double)]
    ) -> [GridAlternative] {
        grids.map { grid in
            let emissions = energyKWh * grid.gramsPerKWh / 1000
            let saving = actualKg - emissions
            return GridAlternative(name: grid.name, code: grid.code, provider: grid.provider, gramsPerKWh: grid.gramsPerKWh,
                                   emissionsKg: emissions, savingKg: saving, savingFraction: actualKg > 0 ? saving / actualKg : 0)
        }.sorted { ($0.emissionsKg, $0.code) < ($1.emissionsKg, $1.code) }
    }

    /// The effective intensity of a total (g CO2e per kWh); nil without energy.
    public static func intensity(emissionsKg: Double, energyKWh: Double) -> Double? {
        energyKWh > 0 ? emissionsKg * 1000 / energyKWh : nil
    }
}
