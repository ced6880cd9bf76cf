@testable import SootApp
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
}
