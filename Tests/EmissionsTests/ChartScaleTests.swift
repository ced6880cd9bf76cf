import Emissions
import Testing

@Suite struct ChartScaleTests {
    @Test func axesStepInRoundNumbers() {
        // The example: a maximum of 98.8 gets 0 / 25 / 50 / 75 / 100, not 0 / 32.9 / 65.8 / 98.8.
        #expect(ChartScale.axis(maximum: 98.8).ticks == [0, 25, 50, 75, 100])
        #expect(ChartScale.axis(maximum: 100).ticks == [0, 25, 50, 75, 100])
        #expect(ChartScale.axis(maximum: 7).ticks == [0, 2, 4, 6, 8])
        #expect(ChartScale.axis(maximum: 0.00847).top == 0.01)
        #expect(ChartScale.axis(maximum: 1234).ticks == [0, 500, 1000, 1500])
        #expect(ChartScale.axis(maximum: 0).ticks == [0, 0.25, 0.5, 0.75, 1])
        // Labels carry exactly the digits the step needs.
        #expect(ChartScale.axis(maximum: 5.3).ticks.map(ChartScale.axis(maximum: 5.3).label) == ["0", "2", "4", "6"])
        #expect(ChartScale.axis(maximum: 0.9).ticks.map(ChartScale.axis(maximum: 0.9).label) == ["0", "0.25", "0.50", "0.75", "1.00"])
        #expect(ChartScale.axis(maximum: 0.0084).ticks.map(ChartScale.axis(maximum: 0.0084).label) == ["0", "0.0025", "0.0050", "0.0075", "0.0100"])
        #expect(ChartScale.axis(maximum: 1234).label(1500) == "1,500")
        for maximum in [0.003, 0.17, 1, 3.3, 42, 59.1, 999, 12_345, 7.7e6] {
            let axis = ChartScale.axis(maximum: maximum)
            #expect(axis.top >= maximum && axis.ticks.count <= 5 && axis.ticks.count >= 2, "\(maximum): \(axis)")
            // Every step is 1, 2, 2.5 or 5 times a power of ten.
            var mantissa = axis.step
            while mantissa >= 10 { mantissa /= 10 }
            while mantissa < 1 { mantissa *= 10 }
            #expect([1, 2, 2.5, 5, 10].contains { abs($0 - mantissa) < 1e-9 }, "\(maximum): step \(axis.step)")
        }
    }

    @Test func chartsUseTheTotalsUnit() {
        #expect(ChartScale.massUnit(forTotalKilograms: 0.0591).unit == "g")
        #expect(ChartScale.massUnit(forTotalKilograms: 0.0591).perKilogram == 1000)
        #expect(ChartScale.massUnit(forTotalKilograms: 59.1).unit == "kg")
        #expect(ChartScale.massUnit(forTotalKilograms: 5910).unit == "t")
        #expect(Formatting.mass(kilograms: 0.0591).unit == ChartScale.massUnit(forTotalKilograms: 0.0591).unit)
    }

    func days(from first: String, count: Int) -> [String] {
        let start = UTCDay.daysSinceEpoch(first)!
        return (0..<count).map { UTCDay.string(Double(start + $0) * 86_400) }
    }

    @Test func timeAxesLabelEnoughDatesToPlaceABar() {
        #expect(ChartScale.isMonday("2026-12-07") && !ChartScale.isMonday("2026-12-06"))
        // A week: every day.
        #expect(ChartScale.dateLabels(days(from: "2026-12-01", count: 7), weekly: false) == Array(0..<7))
        // 90 days: each Monday (13 of them), 5 of them at phone width.
        let quarter = days(from: "2026-09-09", count: 90)
        let mondays = ChartScale.dateLabels(quarter, weekly: false, maximumLabels: 14)
        #expect(mondays.count >= 12 && mondays.allSatisfy { ChartScale.isMonday(quarter[$0]) })
        #expect(ChartScale.dateLabels(quarter, weekly: false, maximumLabels: 5).count <= 5)
        // A year of weeks: each month.
        let weeks = (0..<52).map { UTCDay.string(Double(UTCDay.daysSinceEpoch("2026-01-05")! + 7 * $0) * 86_400) }
        let months = ChartScale.dateLabels(weeks, weekly: true)
        #expect(months.count == 12)
        #expect(Set(months.map { weeks[$0].prefix(7) }).count == 12)
        #expect(UTCDay.shortLabel("2026-03-04") == "Mar 4" && UTCDay.shortLabel("2026-03-04", monthOnly: true) == "Mar 2026")
    }
}

@Suite struct DecimalTextTests {
    @Test func sumsOfDecimalsReadAsDecimals() {
        // The figures.
        #expect(DecimalText.format(713.0000000000007) == "713")
        #expect(DecimalText.format(1.9999999999999916) == "2")
        #expect(DecimalText.format(0.1 + 0.2) == "0.3")
        // A sum of many decimal samples, added in binary.
        var sum = 0.0
        for _ in 0..<100_000 { sum += 0.0001 }
        #expect(sum != 10 && DecimalText.format(sum) == "10")
        // Values with few digits stay exactly as they were; negative and tiny ones keep their sign and exponent.
        #expect(DecimalText.format(0.25) == "0.25" && DecimalText.format(-12.5) == "-12.5" && DecimalText.format(42) == "42")
        #expect(DecimalText.format(1.5e-05) == "1.5e-05")
        #expect(DecimalText.rounded("1.2345678901234567e-05") == "1.23456789e-05")
        #expect(DecimalText.rounded("-0.000123456789012345") == "-0.000123456789")
        #expect(DecimalText.rounded("99999999999999.99") == "100000000000000")
        #expect(DecimalText.rounded("1234567.891234567") == "1234567.891")
        // Counts are exact: a whole number without a point is never rounded.
        #expect(DecimalText.rounded("12345678901234567") == "12345678901234567")
        #expect(DecimalText.rounded("-0.0000000000000001") == "-0.0000000000000001")
        // Not a number: unchanged.
        for text in ["", "-", "abc", "1.2.3", "1e", "12,5", "NaN", "Infinity"] { #expect(DecimalText.rounded(text) == text) }
        var out: [UInt8] = []
        Array("2.0000000000000004".utf8).withUnsafeBufferPointer { DecimalText.append($0, to: &out) }
        Array(",".utf8).withUnsafeBufferPointer { DecimalText.append($0, to: &out) }
        #expect(String(decoding: out, as: UTF8.self) == "2,")
    }
}
