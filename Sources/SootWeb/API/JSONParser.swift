import SootStore
import Glibc
import HTTPServer

/// A strict, allocation-light JSON parser (RFC 8259) producing `JSONValue`: no comments, no trailing commas,
/// no NaN or Infinity, nesting at most 64 deep. Foundation's decoder was a sixth of the ingest CPU time.
struct JSONParser {
    static let maximumDepth = 64

    private let bytes: UnsafeBufferPointer<UInt8>
    private var index = 0

    private init(_ bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    /// The value, or nil for anything that is not exactly one JSON value (surrounding whitespace allowed).
    static func parse(_ input: [UInt8]) -> JSONValue? {
        input.withUnsafeBufferPointer { buffer in
            var parser = JSONParser(buffer)
            guard let value = parser.value(depth: 0) else { return nil }
            parser.skipWhitespace()
            return parser.index == buffer.count ? value : nil
        }
    }

    /// What `parseObject` found.
    enum ObjectReading {
        case object([JSONValue?])
        case notObject
        case invalid
    }

    /// Parses `input` as one JSON object, keeping only the members named in `keys` (by position; the last of
    /// duplicates wins, as in `parse`) and checking the rest without building them. Exactly `parse`'s grammar and
    /// limits; no dictionary, and no string for a key without escapes.
    static func parseObject(_ input: [UInt8], keys: JSONSlotKeys) -> ObjectReading {
        input.withUnsafeBufferPointer { buffer in
            var parser = JSONParser(buffer)
            parser.skipWhitespace()
            guard parser.index < buffer.count else { return .invalid }
            guard buffer[parser.index] == UInt8(ascii: "{") else {
                // Not an object (or not JSON): the general parser tells which.
                return parse(input) == nil ? .invalid : .notObject
            }
            guard let slots = parser.slotObject(keys) else { return .invalid }
            parser.skipWhitespace()
            return parser.index == buffer.count ? .object(slots) : .invalid
        }
    }

    private mutating func slotObject(_ keys: JSONSlotKeys) -> [JSONValue?]? {
        index += 1
        var slots = [JSONValue?](repeating: nil, count: keys.names.count)
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
            index += 1
            return slots
        }
        // Agents send their members in one order: the slot after the last one found is tried first.
        var expected = 0
        while true {
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { return nil }
            let slot: Int?
            if let raw = plainString() {
                slot = keys.slot(raw, expected: expected)
                if let slot { expected = slot + 1 }
            } else {
                guard let key = string() else { return nil }
                slot = keys.names.firstIndex(of: key)
            }
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { return nil }
            index += 1
            guard let member = value(depth: 1) else { return nil }
            if let slot { slots[slot] = member }
            skipWhitespace()
            guard index < bytes.count else { return nil }
            if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
            if bytes[index] == UInt8(ascii: "}") { index += 1; return slots }
            return nil
        }
    }

    /// At an opening quote: the bytes of a string without escapes, control characters or non-ASCII, and the index
    /// past its closing quote; nil (index unchanged) for any other string, which `string()` then reads.
    private mutating func plainString() -> UnsafeBufferPointer<UInt8>? {
        var end = index + 1
        while end < bytes.count {
            let byte = bytes[end]
            if byte == UInt8(ascii: "\"") {
                let slice = UnsafeBufferPointer(rebasing: bytes[(index + 1)..<end])
                index = end + 1
                return slice
            }
            if byte == UInt8(ascii: "\\") || byte < 0x20 || byte >= 0x80 { return nil }
            end += 1
        }
        return nil
    }

    private mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    private mutating func value(depth: Int) -> JSONValue? {
        guard depth < JSONParser.maximumDepth else { return nil }
        skipWhitespace()
        guard index < bytes.count else { return nil }
        switch bytes[index] {
        case UInt8(ascii: "{"): return object(depth: depth)
        case UInt8(ascii: "["): return array(depth: depth)
        case UInt8(ascii: "\""): return string().map { .string($0) }
        case UInt8(ascii: "t"): return literal("true", .bool(true))
        case UInt8(ascii: "f"): return literal("false", .bool(false))
        case UInt8(ascii: "n"): return literal("null", .null)
        default: return number()
        }
    }

    private mutating func literal(_ word: StaticString, _ value: JSONValue) -> JSONValue? {
        let count = word.utf8CodeUnitCount
        guard index + count <= bytes.count else { return nil }
        let start = word.utf8Start
        for offset in 0..<count where bytes[index + offset] != start[offset] { return nil }
        index += count
        return value
    }

    private mutating func object(depth: Int) -> JSONValue? {
        index += 1
        var members: [String: JSONValue] = [:]
        members.reserveCapacity(8)
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
            index += 1
            return .object(members)
        }
        while true {
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\""), let key = string() else { return nil }
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { return nil }
            index += 1
            guard let member = value(depth: depth + 1) else { return nil }
            members[key] = member
            skipWhitespace()
            guard index < bytes.count else { return nil }
            if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
            if bytes[index] == UInt8(ascii: "}") { index += 1; return .object(members) }
            return nil
        }
    }

    private mutating func array(depth: Int) -> JSONValue? {
        index += 1
        var items: [JSONValue] = []
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
            index += 1
            return .array(items)
        }
        while true {
            guard let item = value(depth: depth + 1) else { return nil }
            items.append(item)
            skipWhitespace()
            guard index < bytes.count else { return nil }
            if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
            if bytes[index] == UInt8(ascii: "]") { index += 1; return .array(items) }
            return nil
        }
    }

    private mutating func string() -> String? {
        index += 1
        let start = index
        // Fast path: no escapes (and plain ASCII needs no UTF-8 validation).
        var ascii = true
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                let slice = UnsafeBufferPointer(rebasing: bytes[start..<index])
                let text = ascii ? String(decoding: slice, as: UTF8.self) : String(validating: slice, as: UTF8.self)
                index += 1
                return text
            }
            if byte >= 0x80 { ascii = false }
            if byte == UInt8(ascii: "\\") { break }
            if byte < 0x20 { return nil }
            index += 1
        }
        var out = Array(bytes[start..<index])
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "\""):
                index += 1
                return String(validating: out, as: UTF8.self)
            case UInt8(ascii: "\\"):
                index += 1
                guard index < bytes.count else { return nil }
                let escape = bytes[index]
                index += 1
                switch escape {
                case UInt8(ascii: "\""): out.append(0x22)
                case UInt8(ascii: "\\"): out.append(0x5C)
                case UInt8(ascii: "/"): out.append(0x2F)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    guard var scalar = hex4() else { return nil }
                    if (0xD800...0xDBFF).contains(scalar) {
                        guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") else { return nil }
                        index += 2
                        guard let low = hex4(), (0xDC00...0xDFFF).contains(low) else { return nil }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    } else if (0xDC00...0xDFFF).contains(scalar) {
                        return nil
                    }
                    guard let unicode = Unicode.Scalar(scalar) else { return nil }
                    out.append(contentsOf: Array(String(Character(unicode)).utf8))
                default:
                    return nil
                }
            default:
                if byte < 0x20 { return nil }
                out.append(byte)
                index += 1
            }
        }
        return nil
    }

    private mutating func hex4() -> UInt32? {
        guard index + 4 <= bytes.count else { return nil }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            let digit: UInt32
            switch byte {
            case 0x30...0x39: digit = UInt32(byte - 0x30)
            case 0x41...0x46: digit = UInt32(byte - 0x41 + 10)
            case 0x61...0x66: digit = UInt32(byte - 0x61 + 10)
            default: return nil
            }
            value = value << 4 | digit
            index += 1
        }
        return value
    }

    /// -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?
    private mutating func number() -> JSONValue? {
        let start = index
        // The digits are also gathered into an integer, for the exact fast path at the end.
        var mantissa: UInt64 = 0
        var mantissaExact = true
        func digits(counting: Bool) -> Int {
            let first = index
            while index < bytes.count, bytes[index] >= 0x30, bytes[index] <= 0x39 {
                if counting {
                    if mantissa < 100_000_000_000_000_000 { mantissa = mantissa * 10 + UInt64(bytes[index] - 0x30) } else { mantissaExact = false }
                }
                index += 1
            }
            return index - first
        }
        let negative = index < bytes.count && bytes[index] == UInt8(ascii: "-")
        if negative { index += 1 }
        guard index < bytes.count else { return nil }
        if bytes[index] == UInt8(ascii: "0") {
            index += 1
        } else if digits(counting: true) == 0 {
            return nil
        }
        var fractionDigits = 0
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            fractionDigits = digits(counting: true)
            guard fractionDigits > 0 else { return nil }
        }
        var exponent = 0
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            index += 1
            var exponentNegative = false
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
                exponentNegative = bytes[index] == UInt8(ascii: "-")
                index += 1
            }
            let exponentStart = index
            guard digits(counting: false) > 0 else { return nil }
            if index - exponentStart > 4 {
                mantissaExact = false
            } else {
                for position in exponentStart..<index { exponent = exponent * 10 + Int(bytes[position] - 0x30) }
                if exponentNegative { exponent = -exponent }
            }
        }
        guard index - start <= 64 else { return nil }
        // Exact fast path (as in strtod): a mantissa below 2^53 and a power of ten up to 10^22 are both exact
        // doubles, so one multiplication or division rounds correctly.
        let power = exponent - fractionDigits
        if mantissaExact, mantissa <= 1 << 53, power >= -22, power <= 22 {
            let magnitude = power < 0 ? Double(mantissa) / JSONParser.powersOfTen[-power] : Double(mantissa) * JSONParser.powersOfTen[power]
            return .number(negative ? -magnitude : magnitude)
        }
        guard let number = Double(String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)),
              number.isFinite else { return nil }
        return .number(number)
    }

    /// 10^0 ... 10^22, each exactly representable as a double.
    static let powersOfTen: [Double] = (0...22).map { power in (0..<power).reduce(1.0) { value, _ in value * 10 } }
}

/// The member names a `JSONSlots` reading keeps, with their bytes for matching keys in place.
final class JSONSlotKeys: Sendable {
    let names: [String]
    private let bytes: [[UInt8]]

    init(_ names: [String]) {
        self.names = names
        bytes = names.map { Array($0.utf8) }
    }

    /// The slot of a name a handler asks for, matched on bytes like the keys of the body (cheaper than hashing
    /// or comparing Strings, for the twenty lookups of every ingested sample).
    func position(of name: String) -> Int? {
        var name = name
        return name.withUTF8 { slot($0) }
    }

    /// The slot of `key`, trying `expected` first.
    func slot(_ key: UnsafeBufferPointer<UInt8>, expected: Int) -> Int? {
        if expected < bytes.count, !key.isEmpty {
            let matches = bytes[expected].withUnsafeBufferPointer { name in
                name.count == key.count && memcmp(name.baseAddress!, key.baseAddress!, key.count) == 0
            }
            if matches { return expected }
        }
        return slot(key)
    }

    func slot(_ key: UnsafeBufferPointer<UInt8>) -> Int? {
        if key.isEmpty { return names.firstIndex(of: "") }
        for (position, name) in bytes.enumerated() where name.count == key.count && name.first == key.first {
            if name.withUnsafeBufferPointer({ memcmp($0.baseAddress!, key.baseAddress!, key.count) == 0 }) { return position }
        }
        return nil
    }
}

/// A JSON object body read into fixed slots for the members a handler knows, instead of a dictionary: for hot
/// paths whose body has a known shape (CodeCarbon's samples). The same parser, accessors and errors as `JSONBody`.
struct JSONSlots: JSONFields {
    let keys: JSONSlotKeys
    private let values: [JSONValue?]

    /// 415, 400 or 422 exactly as `JSONBody(request)`.
    init(_ request: Request, keys: JSONSlotKeys) throws {
        try JSONBody.requireJSON(request)
        try self.init(bytes: request.body, keys: keys)
    }

    init(bytes: [UInt8], keys: JSONSlotKeys) throws {
        guard !bytes.isEmpty else { throw JSONBody.emptyBody }
        switch JSONParser.parseObject(bytes, keys: keys) {
        case .object(let values):
            self.keys = keys
            self.values = values
        case .notObject: throw JSONBody.notAnObject
        case .invalid: throw JSONBody.notJSON
        }
    }

    func value(_ key: String) -> JSONValue? {
        guard let position = keys.position(of: key) else { return nil }
        return values[position]
    }
}
