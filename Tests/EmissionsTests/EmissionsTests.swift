import Emissions
import Testing

@Suite struct FormattingTests {
    @Test func numbersHaveSeparatorsAndSensiblePrecision() {
        #expect(Formatting.number(1_234_567.891, decimals: 1) == "1,234,567.9")
        #expect(Formatting.number(999.5) == "1,000")
        #expect(Formatting.number(-12_345) == "-12,345")
        #expect(Formatting.number(0.004, decimals: 2) == "0.00")
        #expect(Formatting.significant(0.0012345) == "0.00123")
        #expect(Formatting.significant(1.2345) == "1.23")
        #expect(Formatting.significant(12.345) == "12.3")
        #expect(Formatting.significant(12_345.6) == "12,346")
        #expect(Formatting.significant(0) == "0")
        #expect(Formatting.significant(.nan) == "–")
    }

    @Test func unitsSwitchScale() {
        #expect(Formatting.mass(kilograms: 0.0123) == ("12.3", "g"))
        #expect(Formatting.mass(kilograms: 4.567) == ("4.57", "kg"))
        #expect(Formatting.mass(kilograms: 1234) == ("1.23", "t"))
        #expect(Formatting.energy(kilowattHours: 0.85) == ("850", "Wh"))
        #expect(Formatting.energy(kilowattHours: 3200) == ("3.20", "MWh"))
        #expect(Formatting.duration(seconds: 45) == "45 s")
        #expect(Formatting.duration(seconds: 3 * 3600 + 1800) == "3.50 h")
        #expect(Formatting.duration(seconds: 5 * 86_400) == "5.00 days")
    }

    @Test func utcDays() {
        #expect(UTCDay.string(0) == "1970-01-01")
        #expect(UTCDay.string(1_795_940_430) == "2026-11-29")
        #expect(UTCDay.string(951_782_400) == "2000-02-29")
        #expect(UTCDay.string(-1) == "1969-12-31")
    }
}

@Suite struct EquivalentTests {
    @Test func equivalentsDivideByTheirFactor() {
        let car = Equivalent(key: "car_miles", label: "Miles", unit: "miles", kgPerUnit: 0.393, source: "EPA", year: 2025)
        #expect(abs(car.units(for: 39.3) - 100) < 1e-9)
    }

    @Test func alternativesAreSortedWithTheirSaving() throws {
        let grids: [(name: String, code: String, provider: String, gramsPerKWh: Double)] = [
            ("Poland", "POL", "", 662), ("France", "FRA", "", 56), ("europe-north1", "europe-north1", "gcp", 112),
        ]
        // 100 kWh that emitted 40 kg (400 g/kWh).
        let alternatives = GridComparison.alternatives(energyKWh: 100, actualKg: 40, grids: grids)
        #expect(alternatives.map(\.code) == ["FRA", "europe-north1", "POL"])
        #expect(abs(alternatives[0].emissionsKg - 5.6) < 1e-12)
        #expect(abs(alternatives[0].savingKg - 34.4) < 1e-12)
        #expect(abs(alternatives[0].savingFraction - 0.86) < 1e-12)
        #expect(alternatives[2].savingKg < 0)
        #expect(GridComparison.intensity(emissionsKg: 40, energyKWh: 100) == 400)
        #expect(GridComparison.intensity(emissionsKg: 1, energyKWh: 0) == nil)
    }

    @Test func gridsAreNamedForPeopleAndIdenticalRegionsShareARow() {
        let grids: [(name: String, code: String, provider: String, gramsPerKWh: Double)] = [
            ("norway", "norway", "azure", 7.6), ("norwayeast", "norwayeast", "azure", 7.6), ("norwaywest", "norwaywest", "azure", 7.6),
            ("swedencentral", "swedencentral", "azure", 5.7), ("Norway", "NOR", "", 30.08), ("Stockholm", "eu-north-1", "aws", 8.8),
        ]
        let names = GridComparison.alternatives(energyKWh: 10, actualKg: 6.9, grids: grids).map(\.name)
        #expect(names == ["Azure swedencentral", "Azure norway, norwayeast, norwaywest", "AWS eu-north-1 (Stockholm)", "Norway"])
        #expect(!names.joined().contains("AZURE") && !names.joined().contains("(swedencentral)"))
    }

    @Test func equivalentsFitTheAmount() {
        let all = [("car_miles", 0.393), ("tv_hours", 0.097), ("household_days", 22.88), ("eu_car_km", 0.133),
                   ("smartphone_charges", 0.0124), ("tree_seedlings", 60), ("flights_nyc_london", 810)]
            .map { Equivalent(key: $0.0, label: $0.0, unit: "", kgPerUnit: $0.1, source: "", year: nil) }
        // 60 g: no "0.0000729 flights", no household days; one car distance only.
        let small = Equivalent.fitting(all, kilograms: 0.06)
        #expect(small.shown.count >= 2 && small.shown.count <= 3)
        for shown in small.shown { #expect(shown.units(for: 0.06) >= 0.5, "\(shown.key)") }
        #expect(!small.shown.contains { $0.key == "flights_nyc_london" })
        #expect(small.shown.filter { $0.key == "car_miles" || $0.key == "eu_car_km" }.count <= 1)
        #expect(small.shown.count + small.more.count == all.count)
        // 5 t: flights and household days read well, smartphone charges do not.
        let large = Equivalent.fitting(all, kilograms: 5_000)
        #expect(large.shown.contains { $0.key == "flights_nyc_london" } && !large.shown.contains { $0.key == "smartphone_charges" })
        #expect(Equivalent.fitting(all, kilograms: 0).shown.isEmpty)
    }

    @Test func percentagesAreNeverRoundedToAHundred() {
        #expect(Formatting.percent(0.997) == "99.7")
        #expect(Formatting.percent(0.99996) == "99.9")
        #expect(Formatting.percent(1) == "100")
        #expect(Formatting.percent(0.86) == "86")
        #expect(Formatting.percent(0.053) == "5.3")
        #expect(Formatting.percent(0.003) == "0.300")
        #expect(Formatting.percent(0) == "0")
    }
}
