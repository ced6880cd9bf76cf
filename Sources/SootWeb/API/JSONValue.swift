import Emissions
import Foundation
import SootStore

/// A JSON document as a value: decoded strictly (a number is never a bool) and encoded with sorted keys.
package enum JSONValue: Sendable, Equatable, Codable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    package init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    package func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .number(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }

    /// Parses JSON text; nil when it is not valid JSON.
    package static func parse(_ bytes: [UInt8]) -> JSONValue? {
        JSONParser.parse(bytes)
    }

    /// Compact JSON text with sorted object keys.
    package var serialized: String {
        var out = ""
        write(to: &out)
        return out
    }

    package var bytes: [UInt8] { Array(serialized.utf8) }

    func write(to out: inout String) {
        switch self {
        case .null: out += "null"
        case .bool(let value): out += value ? "true" : "false"
        case .number(let value): out += JSONValue.format(value)
        case .string(let value): out += JSONText.quote(value)
        case .array(let values):
            out += "["
            for (index, value) in values.enumerated() {
                if index > 0 { out += "," }
                value.write(to: &out)
            }
            out += "]"
        case .object(let members):
            out += "{"
            for (index, key) in members.keys.sorted().enumerated() {
                if index > 0 { out += "," }
                out += JSONText.quote(key)
                out += ":"
                members[key]!.write(to: &out)
            }
            out += "}"
        }
    }

    /// Integers without a fraction, other numbers in Swift's shortest round-trip form; non-finite as null.
    /// A JSON number to ten significant digits, so a sum of decimals reads as a decimal (`DecimalText`).
    static func format(_ value: Double) -> String {
        guard value.isFinite else { return "null" }
        return DecimalText.format(value)
    }

    package var stringValue: String? {
        if case .string(let text) = self { return text }
        return nil
    }

    package var arrayValue: [JSONValue] {
        if case .array(let items) = self { return items }
        return []
    }

    package var numberValue: Double? {
        if case .number(let value) = self { return value }
        return nil
    }

    /// `data` of a list envelope.
    package var items: [JSONValue] { self["data"]?.arrayValue ?? [] }

    package subscript(key: String) -> JSONValue? {
        if case .object(let members) = self { return members[key] }
        return nil
    }
}

import HTTPServer

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral,
    ExpressibleByBooleanLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral
{
    package init(stringLiteral value: String) { self = .string(value) }
    package init(integerLiteral value: Int) { self = .number(Double(value)) }
    package init(floatLiteral value: Double) { self = .number(value) }
    package init(booleanLiteral value: Bool) { self = .bool(value) }
    package init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    package init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { $1 }))
    }
}

extension JSONValue {
    /// Optional text: a string, or null.
    package static func text(_ value: String?) -> JSONValue { value.map { .string($0) } ?? .null }
    package static func number(_ value: Double?) -> JSONValue { value.map { .number($0) } ?? .null }
    package static func int(_ value: Int?) -> JSONValue { value.map { .number(Double($0)) } ?? .null }
    package static func id(_ value: UUID?) -> JSONValue { value.map { .string($0.idText) } ?? .null }
    package static func date(_ value: Date?) -> JSONValue { value.map { .string(ISOTime.format($0)) } ?? .null }
}

extension Response {
    /// A JSON response from a value.
    package static func json(_ value: JSONValue, status: HTTPStatus = .ok) -> Response {
        .json(bytes: value.bytes, status: status)
    }
}
