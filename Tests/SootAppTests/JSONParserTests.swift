@testable import SootStore
@testable import SootWeb
import Testing

@Suite struct JSONParserTests {
    func parse(_ text: String) -> JSONValue? { JSONValue.parse(Array(text.utf8)) }

    @Test func parsesEveryKindOfValue() throws {
        let value = try #require(parse(#" { "a": [1, -2.5e-3, 0, 1E2, true, false, null], "b": "x\"\\\/\b\f\n\r\t\u00e9\ud83c\udf0d", "c": {} } "#))
        #expect(value["a"] == [1, -0.0025, 0, 100, true, false, .null])
        #expect(value["b"] == .string("x\"\\/\u{8}\u{c}\n\r\té🌍"))
        #expect(value["c"] == .object([:]))
        #expect(parse("\"caf\u{e9}\"") == .string("café"))
        #expect(parse("0.1")?.numberValue == 0.1)
        #expect(parse("[]") == .array([]))
    }

    @Test(arguments: ["", " ", "{", "[1,]", "{\"a\":1,}", "01", "-", "1.", ".5", "1e", "+1", "NaN", "Infinity", "tru", "nul",
                      "\"unterminated", "\"tab\there\"", "\"\\x\"", "\"\\ud800\"", "\"\\udc00\"", "{a:1}", "[1 2]", "1 2",
                      "{\"a\" 1}", "1e400", String(repeating: "[", count: 100) + String(repeating: "]", count: 100)])
    func refusesWhatIsNotJSON(_ text: String) {
        #expect(parse(text) == nil, "\(text.debugDescription)")
    }

    @Test func refusesInvalidUTF8() {
        #expect(JSONValue.parse([0x22, 0xFF, 0x22]) == nil)
    }

    @Test func serializesBackToTheSameValue() throws {
        let value: JSONValue = ["text": "quote \" backslash \\ newline \n control \u{1}", "n": 0.1, "i": 42, "list": [.null, true]]
        #expect(JSONValue.parse(value.bytes) == value)
        #expect(value.serialized.contains("\\u0001"))
    }

    /// Numbers take an exact fast path (small mantissa, power of ten up to 22) and otherwise the C library's
    /// conversion: every number must come out bit for bit as `Double(String)` reads it, including -0, leading
    /// zeros in the fraction, long mantissas, large exponents and the edges of the fast path.
    @Test func numbersReadExactlyAsTheStandardConversion() throws {
        var generator = SplitMix64(seed: 0x5007)
        var texts = ["0", "-0", "0.0", "-0.0e5", "9007199254740992", "9007199254740993", "0.000000525", "1e22", "1e23", "1e-22",
                     "1e-23", "123456789012345678901234567890", "0.1", "2.5E+3", "4.9e-324", "1.7976931348623157e308",
                     "0.30000000000000004", "1.00000000000000000000000001", "100000000000000000000000", "42.5", "-37.5e-2"]
        for _ in 0..<20_000 {
            let digits = Int.random(in: 1...20, using: &generator)
            var text = Bool.random(using: &generator) ? "-" : ""
            let integer = Int.random(in: 0...3, using: &generator)
            text += integer == 0 ? "0" : String((0..<integer).map { i in Character(String(Int.random(in: (i == 0 ? 1 : 0)...9, using: &generator))) })
            if Bool.random(using: &generator) {
                text += "." + String((0..<digits).map { _ in Character(String(Int.random(in: 0...9, using: &generator))) })
            }
            if Int.random(in: 0...3, using: &generator) == 0 {
                text += (Bool.random(using: &generator) ? "e" : "E") + ["", "+", "-"].randomElement(using: &generator)!
                    + String(Int.random(in: 0...40, using: &generator))
            }
            texts.append(text)
        }
        for text in texts {
            let expected = try #require(Double(text))
            let read = try #require(parse(text)?.numberValue, "\(text)")
            #expect(read.bitPattern == expected.bitPattern, "\(text): \(read) instead of \(expected)")
        }
    }
}
