import Foundation
@testable import Postgres
import Testing

/// The hand-written text parsers on the ingest path, checked against the C library and Foundation.
@Suite struct TextFormatTests {
    @Test func daysSinceEpochMatchTimegm() {
        // Every day of the month up to 31 (past a month's end counts on, as timegm normalizes), for years around
        // the leap rules (1900, 2000, 2100) and far from them.
        for year in [1899, 1900, 1969, 1970, 1999, 2000, 2001, 2023, 2024, 2025, 2026, 2099, 2100, 2101, 2400, 2401] {
            for month in 1...12 {
                for day in 1...31 {
                    var parts = tm()
                    parts.tm_year = Int32(year - 1900)
                    parts.tm_mon = Int32(month - 1)
                    parts.tm_mday = Int32(day)
                    let expected = Int(timegm(&parts)) / 86_400
                    #expect(PostgresTime.daysSinceEpoch(year: year, month: month, day: day) == expected, "\(year)-\(month)-\(day)")
                }
            }
        }
    }

    @Test func timestampsParseToTheSecondsTimegmGives() throws {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2_000 {
            let seconds = Int.random(in: 946_684_800...4_102_444_800, using: &generator)
            let micros = Int.random(in: 0..<1_000_000, using: &generator)
            var t = time_t(seconds)
            var parts = tm()
            gmtime_r(&t, &parts)
            let text = String(format: "%04d-%02d-%02dT%02d:%02d:%02d.%06d+00:00", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1,
                              Int(parts.tm_mday), Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec), micros)
            let date = try #require(PostgresTime.parse(text), "\(text)")
            #expect(floor(date.timeIntervalSince1970) == Double(seconds), "\(text)")
        }
        // A leap second and a day past the month's end are normalized as before (timegm's rules).
        #expect(PostgresTime.parse("2026-02-31T00:00:00Z") == PostgresTime.parse("2026-03-03T00:00:00Z"))
        #expect(PostgresTime.parse("2026-06-30T23:59:60Z") == PostgresTime.parse("2026-07-01T00:00:00Z"))
        #expect(PostgresTime.parse("2026-11-29T10:00:00+05:30")!.timeIntervalSince1970 == 1_795_926_600)  // 04:30 UTC
    }

    @Test func uuidTextIsStrict() {
        for _ in 0..<1_000 {
            let id = UUID()
            #expect(UUID(postgresText: id.uuidString) == id)
            #expect(UUID(postgresText: id.uuidString.lowercased()) == id)
        }
        for id in [UUID(uuid: (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)), UUID(uuidString: "FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF")!,
                   UUID(uuidString: "0A1B2C3D-4E5F-6789-9ABC-DEF012345678")!] + (0..<1_000).map({ _ in UUID() }) {
            #expect(id.lowercaseText == id.uuidString.lowercased())
        }
        let good = "01a227a6-bbd3-70ae-b69b-44b95564cdbe"
        #expect(UUID(postgresText: good) == UUID(uuidString: good))
        var bad = [
            "", "01a227a6bbd370aeb69b44b95564cdbe", "01a227a6-bbd3-70ae-b69b-44b95564cdb", "01a227a6-bbd3-70ae-b69b-44b95564cdbe0",
            "01a227a6-bbd3-70ae-b69b-44b95564cdbg", "01a227a-6bbd3-70ae-b69b-44b95564cdbe", "{01a227a6-bbd3-70ae-b69b-44b95564cdb}",
            "01a227a6-bbd3-70ae-b69b-44b95564cdé",
        ]
        // Every position: a dash where a digit belongs, a digit where a dash belongs, a byte that is not hex.
        // (Foundation's parser is no oracle here: it takes a dash for a digit.)
        for position in 0..<36 {
            var bytes = Array(good.utf8)
            bytes[position] = [8, 13, 18, 23].contains(position) ? UInt8(ascii: "0") : UInt8(ascii: "-")
            bad.append(String(decoding: bytes, as: UTF8.self))
            bytes = Array(good.utf8)
            bytes[position] = UInt8(ascii: "x")
            bad.append(String(decoding: bytes, as: UTF8.self))
        }
        for text in bad {
            #expect(UUID(postgresText: text) == nil, "\(text)")
        }
    }
}
