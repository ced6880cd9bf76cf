@testable import SootStore
@testable import SootWeb
import Testing

/// The hot path reads CodeCarbon samples into fixed slots instead of a dictionary; whatever the body, it must
/// decide exactly as the general reader does: the same values, or the same error.
@Suite struct JSONSlotsTests {
    let keys = SampleParsing.codeCarbonEmissionKeys

    /// Both readings of `text`, as the outcome the caller would see: every kept member's value and the sample,
    /// or the error's description.
    func outcomes(_ text: String) -> (slots: String, body: String) {
        func describe(_ read: () throws -> any JSONFields) -> String {
            do {
                let fields = try read()
                var parts = keys.names.map { "\($0)=\(String(describing: fields.value($0)))" }
                do {
                    let measure = try SampleParsing.codeCarbonEmission(fields)
                    parts.append("measure=\(measure)")
                    parts.append("run=\(String(describing: try fields.uuid("run_id", required: true)))")
                } catch {
                    parts.append("invalid: \(error)")
                }
                return parts.joined(separator: " ")
            } catch {
                return "refused: \(error)"
            }
        }
        let bytes = Array(text.utf8)
        return (describe { try JSONSlots(bytes: bytes, keys: keys) }, describe { try JSONBody(bytes: bytes) })
    }

    @Test(arguments: [
        #"{"run_id":"0191a5e4-7f2a-7cc0-8a00-000000000001","timestamp":"2026-11-29T10:00:00+00:00","duration":2,"emissions_sum":0.001,"energy_consumed":0.01,"cpu_power":42.5,"wue":0}"#,
        #"{"duration":2,"duration":3,"emissions_sum":1,"timestamp":"2026-11-29T10:00:00Z"}"#,
        #"{"dur\u0061tion":5,"emissions_sum":1,"timestamp":"2026-11-29T10:00:00Z"}"#,
        #"{"duration":"2","emissions_sum":1,"timestamp":"2026-11-29T10:00:00Z"}"#,
        #"{"duration":null,"emissions_sum":1,"timestamp":"2026-11-29T10:00:00Z"}"#,
        #"{"extra":{"nested":[1,2,{"a":null}]},"duration":1,"emissions_sum":1,"timestamp":"2026-11-29T10:00:00Z","café":"é"}"#,
        #"{"run_id":" 0191a5e4-7f2a-7cc0-8a00-000000000001 ","duration":1,"emissions_sum":1,"timestamp":"2026-11-29T10:00:00Z"}"#,
        #"{"run_id":"not-a-uuid","duration":1,"emissions_sum":1,"timestamp":"1999-01-01T00:00:00Z"}"#,
        #"{"duration":1e400}"#, #"{"duration":-1}"#, #"{}"#, #"[]"#, #"[1,2]"#, #""text""#, "42", "null", "", " ",
        #"{"a":1,}"#, #"{"a" 1}"#, #"{"a":1} x"#, #"{"\ud800":1}"#, "{\"tab\tkey\":1}", #"{"k":"\u0000"}"#,
        String(repeating: "{\"a\":", count: 70) + "1" + String(repeating: "}", count: 70),
    ])
    func decidesAsTheGeneralReader(_ text: String) {
        let (slots, body) = outcomes(text)
        #expect(slots == body, "\(text.debugDescription)")
    }

    /// Random objects over the known members and others: numbers, strings, nulls, booleans, nesting, duplicates
    /// and escaped keys, from a fixed seed so a failure repeats.
    @Test func agreesOnRandomBodies() {
        var random = SplitMix64(seed: 0x50_07)
        let names = keys.names + ["project_name", "country_name", "x", "cpu_utilization_percent_extra", ""]
        func value() -> String {
            switch random.next() % 9 {
            case 0: return "null"
            case 1: return random.next() % 2 == 0 ? "true" : "false"
            case 2: return "\"2026-11-2\(random.next() % 9)T10:00:00+00:00\""
            case 3: return "\"0191a5e4-7f2a-7cc0-8a00-00000000000\(random.next() % 10)\""
            case 4: return "[1,{\"a\":\"b\"},[]]"
            case 5: return "-\(random.next() % 5)"
            case 6: return "\"é\\n\""
            default: return "\(Double(random.next() % 100_000) / 1000)e\(Int(random.next() % 7) - 3)"
            }
        }
        for _ in 0..<2_000 {
            var members: [String] = []
            for _ in 0..<(random.next() % 20) {
                var key = names[Int(random.next() % UInt64(names.count))]
                if random.next() % 10 == 0, let first = key.first {  // the same key, spelled with an escape
                    key = "\\u00\(String(first.asciiValue!, radix: 16))" + key.dropFirst()
                }
                members.append("\"\(key)\":\(value())")
            }
            var text = "{" + members.joined(separator: random.next() % 50 == 0 ? " , " : ",") + "}"
            if random.next() % 40 == 0 { text.removeLast() }  // now invalid
            let (slots, body) = outcomes(text)
            #expect(slots == body, "\(text)")
            if slots != body { return }
        }
    }
}

/// A small deterministic generator (SplitMix64) for repeatable random tests.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
