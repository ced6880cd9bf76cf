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

    /// The equivalents that read well for `kilograms`, at most `count`, in their own order, and the others. A count
    /// reads well between 0.5 and 10,000 (not "0.0000729 flights", not "2,400,000 smartphone charges"), best near 20;
    /// of the two car distances only one is shown (miles, unless kilometres read better).
    public static func fitting(_ all: [Equivalent], kilograms: Double, count: Int = 3) -> (shown: [Equivalent], more: [Equivalent]) {
        guard kilograms > 0 else { return ([], all) }
        func score(_ equivalent: Equivalent) -> Double {
            let units = equivalent.units(for: kilograms)
            guard units > 0 else { return .infinity }
            var distance = abs(magnitude(units) - 1.3)
            if units < 0.5 || units >= 10_000 { distance += 10 }
            return distance
        }
        var ranked = all.sorted { (score($0), $0.key) < (score($1), $1.key) }
        let distances: Set<String> = ["car_miles", "eu_car_km"]
        if let first = ranked.firstIndex(where: { distances.contains($0.key) }) {
            let kept = ranked[first].key
            ranked.removeAll { distances.contains($0.key) && $0.key != kept }
        }
        let readable = ranked.filter { score($0) < 10 }
        let chosen = Set((readable.count >= 2 ? readable : ranked).prefix(count).map(\.key))
        return (all.filter { chosen.contains($0.key) }, all.filter { !chosen.contains($0.key) })
    }

    /// About log10 of a positive value, without Foundation: the power of ten plus the linear position within its
    /// decade, which ranks counts by order of magnitude as well as the logarithm would.
    static func magnitude(_ value: Double) -> Double {
        var value = value, exponent = 0.0
        while value >= 10 { value /= 10; exponent += 1 }
        while value < 1 { value *= 10; exponent -= 1 }
        return exponent + (value - 1) / 9
    }
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
    /// The same `energyKWh` at each grid's intensity, lowest emissions first, measured against `actualKg`. A grid
    /// is named for people (`Norway`, `Azure swedencentral`, `AWS eu-north-1 (Stockholm)`), and cloud regions of one
    /// provider with the same intensity share one row (`Azure norway, norwayeast, norwaywest`).
    public static func alternatives(
        energyKWh: Double, actualKg: Double, grids: [(name: String, code: String, provider: String, gramsPerKWh: Double)]
    ) -> [GridAlternative] {
        var merged: [(name: String, code: String, provider: String, gramsPerKWh: Double)] = []
        for grid in grids.sorted(by: { ($0.gramsPerKWh, $0.provider, $0.code) < ($1.gramsPerKWh, $1.provider, $1.code) }) {
            if !grid.provider.isEmpty, let last = merged.last, last.provider == grid.provider, last.gramsPerKWh == grid.gramsPerKWh {
                merged[merged.count - 1].name += ", " + regionName(grid.name, code: grid.code)
                continue
            }
            merged.append((displayName(grid.name, code: grid.code, provider: grid.provider), grid.code, grid.provider, grid.gramsPerKWh))
        }
        return merged.map { grid in
            let emissions = energyKWh * grid.gramsPerKWh / 1000
            let saving = actualKg - emissions
            return GridAlternative(name: grid.name, code: grid.code, provider: grid.provider, gramsPerKWh: grid.gramsPerKWh,
                                   emissionsKg: emissions, savingKg: saving, savingFraction: actualKg > 0 ? saving / actualKg : 0)
        }.sorted { ($0.emissionsKg, $0.code) < ($1.emissionsKg, $1.code) }
    }

    /// A cloud provider as people write it.
    public static func providerName(_ provider: String) -> String {
        switch provider.lowercased() {
        case "aws": return "AWS"
        case "gcp", "google": return "Google Cloud"
        case "azure": return "Azure"
        default: return provider
        }
    }

    /// A grid's name: a country's own name, or the provider and region (the region's name after it when it says
    /// more than the code).
    public static func displayName(_ name: String, code: String, provider: String) -> String {
        provider.isEmpty ? name : "\(providerName(provider)) \(regionName(name, code: code))"
    }

    static func regionName(_ name: String, code: String) -> String {
        name.isEmpty || name.lowercased() == code.lowercased() ? code : "\(code) (\(name))"
    }

    /// The effective intensity of a total (g CO2e per kWh); nil without energy.
    public static func intensity(emissionsKg: Double, energyKWh: Double) -> Double? {
        energyKWh > 0 ? emissionsKg * 1000 / energyKWh : nil
    }
}
