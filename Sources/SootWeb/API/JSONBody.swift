import Foundation
import HTTPServer
import SootStore

/// The typed, validated reading of a JSON object's members, shared by every way a body is decoded: each failure
/// is a 422 naming the field, and unknown fields are ignored, consistently, everywhere. A conforming type only
/// says where a member's value is.
package protocol JSONFields {
    /// The member's value; nil when absent.
    func value(_ key: String) -> JSONValue?
}

/// A request's JSON object body, parsed into a dictionary.
package struct JSONBody: JSONFields {
    package let object: [String: JSONValue]

    /// Parses the body: 415 unless `Content-Type` is JSON, 400 for invalid JSON, 422 unless it is an object.
    package init(_ request: Request) throws {
        try JSONBody.requireJSON(request)
        try self.init(bytes: request.body)
    }

    package init(bytes: [UInt8]) throws {
        guard !bytes.isEmpty else { throw JSONBody.emptyBody }
        guard let value = JSONValue.parse(bytes) else { throw JSONBody.notJSON }
        guard case .object(let object) = value else { throw JSONBody.notAnObject }
        self.object = object
    }

    static let emptyBody = AppError.badRequest("The request body is empty; send a JSON object.")
    static let notJSON = AppError.badRequest("The request body is not valid JSON.")
    static let notAnObject = AppError.invalid("body", "The body must be a JSON object.")

    package init(object: [String: JSONValue]) { self.object = object }

    package func value(_ key: String) -> JSONValue? { object[key] }

    /// 415 unless the media type is `application/json` or `*/*+json` (ASCII case-insensitive, parameters ignored).
    package static func requireJSON(_ request: Request) throws {
        guard let type = request.headers["Content-Type"], isJSONMediaType(type) else { throw AppError.unsupportedMediaType() }
    }

    static func isJSONMediaType(_ type: String) -> Bool {
        var type = type
        return type.withUTF8 { bytes in
            var end = bytes.firstIndex(of: UInt8(ascii: ";")) ?? bytes.count
            var start = 0
            func isOWS(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 }
            while start < end, isOWS(bytes[start]) { start += 1 }
            while end > start, isOWS(bytes[end - 1]) { end -= 1 }
            func hasSuffix(_ suffix: StaticString) -> Bool {
                let count = suffix.utf8CodeUnitCount
                guard end - start >= count else { return false }
                for offset in 0..<count {
                    let byte = bytes[end - count + offset]
                    let lower = byte >= 0x41 && byte <= 0x5A ? byte + 0x20 : byte
                    if lower != suffix.utf8Start[offset] { return false }
                }
                return true
            }
            let length = end - start
            return (length == 16 && hasSuffix("application/json")) || (length >= 5 && hasSuffix("+json"))
        }
    }

    /// Trims ASCII whitespace fast; falls back to Foundation only for other Unicode whitespace at the ends.
    static func trimWhitespace(_ text: String) -> String {
        let utf8 = text.utf8
        guard let first = utf8.first, let last = utf8.last else { return text }
        func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D }
        if first < 0x80 && last < 0x80 && !isSpace(first) && !isSpace(last) { return text }
        return text.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

extension JSONFields {
    /// Whether `key` is present (even as null).
    package func has(_ key: String) -> Bool { value(key) != nil }

    /// Text: trimmed of surrounding whitespace when `trim`; control characters refused; length in characters.
    package func string(_ key: String, required: Bool = false, maxLength: Int = 10_000, allowEmpty: Bool = false,
                       trim: Bool = true) throws -> String? {
        guard let value = value(key), value != .null else {
            if required { throw AppError.invalid(key, "\(key) is required.") }
            return nil
        }
        guard case .string(var text) = value else { throw AppError.invalid(key, "\(key) must be a string.") }
        if trim { text = JSONBody.trimWhitespace(text) }
        if text.isEmpty && !allowEmpty {
            if required { throw AppError.invalid(key, "\(key) must not be empty.") }
            return nil
        }
        // Characters are never more than UTF-8 bytes: count them only when the bytes could be too many.
        if text.utf8.count > maxLength && text.count > maxLength {
            throw AppError.invalid(key, "\(key) must be at most \(maxLength) characters.")
        }
        try TextRules.check(text, field: key)
        return text
    }

    /// A flag a PATCH may leave out but not set to null.
    package func nonNullBool(_ key: String) throws -> Bool? {
        if value(key) == .null { throw AppError.invalid(key, "\(key) cannot be null; leave it out to keep it as it is.") }
        return try bool(key)
    }

    package func bool(_ key: String, required: Bool = false) throws -> Bool? {
        guard let value = value(key), value != .null else {
            if required { throw AppError.invalid(key, "\(key) is required.") }
            return nil
        }
        guard case .bool(let flag) = value else { throw AppError.invalid(key, "\(key) must be true or false.") }
        return flag
    }

    /// A finite number within `range`.
    package func double(_ key: String, required: Bool = false, range: ClosedRange<Double> = -1e15...1e15) throws -> Double? {
        guard let value = value(key), value != .null else {
            if required { throw AppError.invalid(key, "\(key) is required.") }
            return nil
        }
        guard case .number(let number) = value else { throw AppError.invalid(key, "\(key) must be a number.") }
        guard number.isFinite else { throw AppError.invalid(key, "\(key) must be a finite number.") }
        guard range.contains(number) else {
            throw AppError.invalid(key, "\(key) must be between \(JSONValue.format(range.lowerBound)) and \(JSONValue.format(range.upperBound)).")
        }
        return number
    }

    package func int(_ key: String, required: Bool = false, range: ClosedRange<Int> = 0...Int(Int32.max)) throws -> Int? {
        guard let number = try double(key, required: required, range: Double(range.lowerBound)...Double(range.upperBound)) else {
            return nil
        }
        guard number == number.rounded() else { throw AppError.invalid(key, "\(key) must be a whole number.") }
        return Int(number)
    }

    /// A UUID in its `8-4-4-4-12` hex form (either case).
    package func uuid(_ key: String, required: Bool = false) throws -> UUID? {
        guard let text = try string(key, required: required, maxLength: 64) else { return nil }
        guard let id = UUID(idText: text) else { throw AppError.invalid(key, "\(key) must be a UUID.") }
        return id
    }

    /// An ISO 8601 timestamp (a missing offset means UTC).
    package func date(_ key: String, required: Bool = false) throws -> Date? {
        guard let text = try string(key, required: required, maxLength: 64) else { return nil }
        guard let date = ISOTime.parse(text) else {
            throw AppError.invalid(key, "\(key) must be an ISO 8601 timestamp such as 2026-11-29T10:00:00+00:00.")
        }
        return date
    }

    /// One of `allowed`.
    package func choice(_ key: String, _ allowed: [String], required: Bool = false) throws -> String? {
        guard let text = try string(key, required: required, maxLength: 100) else { return nil }
        guard allowed.contains(text) else {
            throw AppError.invalid(key, "\(key) must be one of: \(allowed.joined(separator: ", ")).")
        }
        return text
    }
}

/// Names and descriptions: the rules every level of the hierarchy shares.
extension Naming {
    /// A name; `null` is refused (a PATCH that leaves the name alone omits it).
    static func name(_ body: JSONBody, required: Bool = true, key: String = "name") throws -> String? {
        if body.value(key) == .null { throw AppError.invalid(key, "\(key) cannot be null; leave it out to keep it as it is.") }
        return try body.string(key, required: required, maxLength: 200)
    }

    static func description(_ body: JSONBody) throws -> String? {
        if body.value("description") == .null {
            throw AppError.invalid("description", "description cannot be null; send \"\" to clear it, or leave it out.")
        }
        return try body.string("description", maxLength: 10_000, allowEmpty: true)
    }
}
