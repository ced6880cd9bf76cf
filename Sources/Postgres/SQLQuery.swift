import Foundation

/// A value that can be sent as a text-format bind parameter; `nil` text means SQL NULL.
public protocol PostgresEncodable: Sendable {
    var postgresText: String? { get }
}

extension String: PostgresEncodable { public var postgresText: String? { self } }
extension Substring: PostgresEncodable { public var postgresText: String? { String(self) } }
extension Int: PostgresEncodable { public var postgresText: String? { String(self) } }
extension Int64: PostgresEncodable { public var postgresText: String? { String(self) } }
extension Int32: PostgresEncodable { public var postgresText: String? { String(self) } }
extension Bool: PostgresEncodable { public var postgresText: String? { self ? "t" : "f" } }
extension UUID: PostgresEncodable { public var postgresText: String? { lowercaseText } }

extension UUID {
    /// `8-4-4-4-12` lowercase hex, without Foundation's formatter (hot in array binds).
    public var lowercaseText: String {
        String(unsafeUninitializedCapacity: 36) { out in
            writeLowercaseText(into: UnsafeMutableRawBufferPointer(out))
            return 36
        }
    }

    /// Writes the 36 bytes of `lowercaseText` at the start of `out` (which must have room for them).
    public func writeLowercaseText(into out: UnsafeMutableRawBufferPointer) {
        precondition(out.count >= 36)
        withUnsafeBytes(of: uuid) { raw in
            var position = 0
            for index in 0..<16 {
                if index == 4 || index == 6 || index == 8 || index == 10 {
                    out[position] = UInt8(ascii: "-")
                    position += 1
                }
                let high = raw[index] >> 4, low = raw[index] & 15
                out[position] = high < 10 ? 0x30 + high : 0x57 + high
                out[position + 1] = low < 10 ? 0x30 + low : 0x57 + low
                position += 2
            }
        }
    }
}
extension Double: PostgresEncodable {
    /// Shortest text that round-trips exactly (Swift's description), so no precision is lost.
    public var postgresText: String? {
        if isNaN { return "NaN" }
        if isInfinite { return self > 0 ? "Infinity" : "-Infinity" }
        return "\(self)"
    }
}
extension Date: PostgresEncodable {
    /// ISO 8601 in UTC with microseconds.
    public var postgresText: String? { PostgresTime.format(self) }
}
extension Optional: PostgresEncodable where Wrapped: PostgresEncodable {
    public var postgresText: String? { self.flatMap { $0.postgresText } }
}
extension Array: PostgresEncodable where Element: PostgresEncodable {
    /// A one-dimensional array literal: `{"a","b"}` with quoting.
    public var postgresText: String? {
        var out: [UInt8] = [UInt8(ascii: "{")]
        out.reserveCapacity(count * 24 + 2)
        for (index, element) in enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            guard let text = element.postgresText else {
                out.append(contentsOf: "NULL".utf8)
                continue
            }
            out.append(UInt8(ascii: "\""))
            for byte in text.utf8 {
                if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") { out.append(UInt8(ascii: "\\")) }
                out.append(byte)
            }
            out.append(UInt8(ascii: "\""))
        }
        out.append(UInt8(ascii: "}"))
        return String(decoding: out, as: UTF8.self)
    }
}

/// Raw bytes, sent as a `bytea` hex literal.
public struct ByteA: PostgresEncodable {
    public let bytes: [UInt8]
    public init(_ bytes: [UInt8]) { self.bytes = bytes }
    public var postgresText: String? {
        let hex = Array("0123456789abcdef".utf8)
        var out: [UInt8] = [0x5C, 0x78]
        out.reserveCapacity(2 + bytes.count * 2)
        for byte in bytes {
            out.append(hex[Int(byte >> 4)])
            out.append(hex[Int(byte & 15)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// One bind value: text (nil is SQL NULL), or bytes in PostgreSQL's binary format for the parameter's type.
public enum BindValue: Sendable, Equatable {
    case text(String?)
    case binary([UInt8])
}

/// A one-dimensional array in PostgreSQL's binary wire format (what `array_recv` reads): no text to write here
/// or to parse in the server, for the large array binds of batched inserts.
public struct PostgresBinaryArray: Sendable {
    public let bytes: [UInt8]

    /// Variable-width elements (text): `write` appends an element's bytes and returns false for NULL.
    private init<Element>(_ values: [Element], elementType: UInt32, _ write: (Element, inout [UInt8]) -> Bool) {
        var out: [UInt8] = []
        out.reserveCapacity(20 + values.count * 20)
        func int32(_ value: UInt32, at position: Int? = nil) {
            withUnsafeBytes(of: value.bigEndian) { raw in
                if let position { for offset in 0..<4 { out[position + offset] = raw[offset] } } else { out.append(contentsOf: raw) }
            }
        }
        int32(values.isEmpty ? 0 : 1)  // dimensions
        int32(0)  // has-nulls flag: set below
        int32(elementType)
        if !values.isEmpty {
            int32(UInt32(values.count))
            int32(1)  // lower bound
        }
        var hasNulls = false
        for value in values {
            let lengthAt = out.count
            int32(0)
            if write(value, &out) {
                int32(UInt32(out.count - lengthAt - 4), at: lengthAt)
            } else {
                hasNulls = true
                int32(UInt32.max, at: lengthAt)  // -1: NULL
            }
        }
        if hasNulls { out[7] = 1 }
        bytes = out
    }

    /// Fixed-width elements, written straight into a buffer of the final size: `element(index, destination)`
    /// stores `width` bytes and returns true, or returns false for NULL. (These build every array of a sample
    /// batch, so no intermediate arrays and no per-byte appends.)
    @inlinable
    init(count: Int, elementType: UInt32, width: Int, _ element: (Int, UnsafeMutableRawPointer) -> Bool) {
        bytes = [UInt8](unsafeUninitializedCapacity: 20 + count * (4 + width)) { buffer, initialized in
            let raw = UnsafeMutableRawPointer(buffer.baseAddress!)
            func int32(_ value: UInt32, at offset: Int) { raw.storeBytes(of: value.bigEndian, toByteOffset: offset, as: UInt32.self) }
            int32(count == 0 ? 0 : 1, at: 0)  // dimensions
            int32(0, at: 4)  // has-nulls flag: set below
            int32(elementType, at: 8)
            var position = 12
            if count > 0 {
                int32(UInt32(count), at: 12)
                int32(1, at: 16)  // lower bound
                position = 20
            }
            var hasNulls = false
            for index in 0..<count {
                if element(index, raw + position + 4) {
                    int32(UInt32(width), at: position)
                    position += 4 + width
                } else {
                    int32(UInt32.max, at: position)  // -1: NULL
                    position += 4
                    hasNulls = true
                }
            }
            if hasNulls { int32(1, at: 4) }
            initialized = position
        }
    }

    /// `uuid[]`.
    public static func uuids(_ values: [UUID]) -> PostgresBinaryArray { uuids(count: values.count) { values[$0] } }

    /// `uuid[]` of `count` elements, the element at each index from `value`.
    @inlinable
    public static func uuids(count: Int, _ value: (Int) -> UUID) -> PostgresBinaryArray {
        PostgresBinaryArray(count: count, elementType: 2950, width: 16) { index, out in
            withUnsafeBytes(of: value(index).uuid) { out.copyMemory(from: $0.baseAddress!, byteCount: 16) }
            return true
        }
    }

    /// `float8[]`; nil is NULL.
    public static func doubles(_ values: [Double?]) -> PostgresBinaryArray { doubles(count: values.count) { values[$0] } }

    /// `float8[]` of `count` elements; nil is NULL.
    @inlinable  // specialized where the batch is built: the element closure is inlined, not called per value
    public static func doubles(count: Int, _ value: (Int) -> Double?) -> PostgresBinaryArray {
        PostgresBinaryArray(count: count, elementType: 701, width: 8) { index, out in
            guard let element = value(index) else { return false }
            out.storeBytes(of: element.bitPattern.bigEndian, as: UInt64.self)
            return true
        }
    }

    /// `timestamptz[]` from Unix seconds, to the microsecond.
    public static func timestamps(_ values: [Double]) -> PostgresBinaryArray { timestamps(count: values.count) { values[$0] } }

    /// `timestamptz[]` of `count` elements, from Unix seconds, to the microsecond.
    @inlinable
    public static func timestamps(count: Int, _ value: (Int) -> Double) -> PostgresBinaryArray {
        PostgresBinaryArray(count: count, elementType: 1184, width: 8) { index, out in
            out.storeBytes(of: UInt64(bitPattern: postgresMicroseconds(value(index))).bigEndian, as: UInt64.self)
            return true
        }
    }

    /// Microseconds since 2000-01-01 00:00:00 UTC (PostgreSQL's timestamp), rounded as `timestamps` sends them.
    @inlinable
    public static func postgresMicroseconds(_ seconds: Double) -> Int64 {
        Int64(((seconds - 946_684_800) * 1_000_000).rounded())
    }

    /// `int8[]`.
    public static func int64s(_ values: [Int64]) -> PostgresBinaryArray {
        PostgresBinaryArray(count: values.count, elementType: 20, width: 8) { index, out in
            out.storeBytes(of: UInt64(bitPattern: values[index]).bigEndian, as: UInt64.self)
            return true
        }
    }

    /// `text[]`; nil is NULL.
    public static func texts(_ values: [String?]) -> PostgresBinaryArray {
        PostgresBinaryArray(values, elementType: 25) { value, out in
            guard let value else { return false }
            out.append(contentsOf: value.utf8)
            return true
        }
    }
}

/// SQL text with its bind values. Interpolated values become `$1, $2, ...` binds, never text in the statement;
/// SQL fragments must be spelled out as `\(unsafeSQL: ...)`.
///
///     let query: SQLQuery = "SELECT id FROM teams WHERE organization_id = \(orgID) AND name = \(name)"
public struct SQLQuery: Sendable, ExpressibleByStringInterpolation, CustomStringConvertible {
    public private(set) var sql: String
    public private(set) var binds: [BindValue]

    public init(unsafeSQL sql: String, binds: [String?] = []) {
        self.sql = sql
        self.binds = binds.map { .text($0) }
    }

    /// A statement written once with `$1, $2, ...` (no interpolation to redo per call) and its binds in order.
    public init(unsafeSQL sql: String, bindValues: [BindValue]) {
        self.sql = sql
        self.binds = bindValues
    }

    public init(stringLiteral value: String) {
        sql = value
        binds = []
    }

    public init(stringInterpolation: StringInterpolation) {
        sql = stringInterpolation.sql
        binds = stringInterpolation.binds
    }

    public struct StringInterpolation: StringInterpolationProtocol {
        var sql = ""
        var binds: [BindValue] = []

        public init(literalCapacity: Int, interpolationCount: Int) {
            sql.reserveCapacity(literalCapacity + interpolationCount * 3)
        }

        public mutating func appendLiteral(_ literal: String) { sql += literal }

        /// A bind parameter.
        public mutating func appendInterpolation(_ value: some PostgresEncodable) {
            binds.append(.text(value.postgresText))
            sql += "$\(binds.count)"
        }

        /// A bind parameter that may be nil (SQL NULL).
        public mutating func appendInterpolation<T: PostgresEncodable>(_ value: T?) {
            binds.append(.text(value?.postgresText))
            sql += "$\(binds.count)"
        }

        /// An array bind in PostgreSQL's binary format; the statement must cast it to its type (`$1::uuid[]`).
        public mutating func appendInterpolation(_ value: PostgresBinaryArray) {
            binds.append(.binary(value.bytes))
            sql += "$\(binds.count)"
        }

        /// Another query, its binds renumbered after ours.
        public mutating func appendInterpolation(_ query: SQLQuery) {
            sql += SQLQuery.renumber(query.sql, offset: binds.count)
            binds.append(contentsOf: query.binds)
        }

        /// Raw SQL: only for text the program wrote itself (column names from a fixed list, ORDER BY ...).
        public mutating func appendInterpolation(unsafeSQL text: String) { sql += text }
    }

    /// Appends another query (binds renumbered).
    public mutating func append(_ other: SQLQuery) {
        sql += SQLQuery.renumber(other.sql, offset: binds.count)
        binds.append(contentsOf: other.binds)
    }

    static func renumber(_ sql: String, offset: Int) -> String {
        guard offset > 0, sql.contains("$") else { return sql }
        return replacingBinds(sql) { "$\($0 + offset)" }
    }

    /// `sql` with each `$N` replaced by `replacement(N)`.
    static func replacingBinds(_ sql: String, _ replacement: (Int) -> String) -> String {
        var result = ""
        var iterator = sql.makeIterator()
        var pending: Character?
        while let character = pending ?? iterator.next() {
            pending = nil
            if character == "$" {
                var digits = ""
                while let next = iterator.next() {
                    if next.isASCII && next.isNumber { digits.append(next) } else { pending = next; break }
                }
                if let number = Int(digits) { result += replacement(number) } else { result += "$" + digits }
            } else {
                result.append(character)
            }
        }
        return result
    }

    public var description: String { sql }
}

/// Text formats of timestamps exchanged with the server (the session runs in UTC).
public enum PostgresTime {
    /// `2026-11-29T04:43:00.123456Z`.
    public static func format(_ date: Date) -> String {
        let seconds = date.timeIntervalSince1970
        var whole = floor(seconds)
        var micros = Int(((seconds - whole) * 1_000_000).rounded())
        if micros >= 1_000_000 { whole += 1; micros -= 1_000_000 }
        var time = time_t(whole)
        var parts = tm()
        gmtime_r(&time, &parts)
        func pad(_ value: Int32, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        let microText = String(micros)
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
            + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2))."
            + String(repeating: "0", count: 6 - microText.count) + microText + "Z"
    }

    /// Parses ISO 8601 as clients send it and as the server prints `timestamptz` in ISO DateStyle
    /// (`2026-11-29 04:43:00.123456+00`): `T` or space, optional fraction, `Z`, `±HH`, `±HH:MM` or `±HHMM`
    /// (a missing offset means UTC, as CodeCarbon's naive timestamps are). Nil for anything else.
    public static func parse(_ text: String) -> Date? {
        var text = text
        return text.withUTF8 { parse(bytes: $0) }
    }

    /// Days from 1970-01-01 to a proleptic Gregorian date; a day past the month's end counts on into the next
    /// month, as `timegm` normalizes it (Howard Hinnant's `days_from_civil`).
    static func daysSinceEpoch(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    private static func parse(bytes: UnsafeBufferPointer<UInt8>) -> Date? {
        guard bytes.count >= 19, bytes.count <= 40 else { return nil }
        func number(_ range: Range<Int>) -> Int? {
            var value = 0
            for index in range {
                guard index < bytes.count, bytes[index] >= 48, bytes[index] <= 57 else { return nil }
                value = value * 10 + Int(bytes[index] - 48)
            }
            return value
        }
        guard let year = number(0..<4), bytes[4] == 0x2D, let month = number(5..<7), bytes[7] == 0x2D,
              let day = number(8..<10), bytes[10] == 0x54 || bytes[10] == 0x20 || bytes[10] == 0x74,
              let hour = number(11..<13), bytes[13] == 0x3A, let minute = number(14..<16), bytes[16] == 0x3A,
              let second = number(17..<19),
              (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61
        else { return nil }
        var index = 19
        var fraction = 0.0
        if index < bytes.count, bytes[index] == 0x2E {
            index += 1
            var scale = 0.1
            let start = index
            while index < bytes.count, bytes[index] >= 48, bytes[index] <= 57 {
                fraction += Double(bytes[index] - 48) * scale
                scale /= 10
                index += 1
            }
            if index == start { return nil }
        }
        var offset = 0
        if index < bytes.count {
            if bytes[index] == 0x5A || bytes[index] == 0x7A {
                index += 1
            } else if bytes[index] == 0x2B || bytes[index] == 0x2D {
                let sign = bytes[index] == 0x2D ? -1 : 1
                guard let hours = number((index + 1)..<(index + 3)) else { return nil }
                var minutes = 0
                index += 3
                if index < bytes.count, bytes[index] == 0x3A {
                    guard let value = number((index + 1)..<(index + 3)) else { return nil }
                    minutes = value
                    index += 3
                } else if index + 1 < bytes.count, let value = number(index..<(index + 2)) {
                    minutes = value
                    index += 2
                }
                offset = sign * (hours * 3600 + minutes * 60)
            }
        }
        guard index == bytes.count else { return nil }
        let epoch = daysSinceEpoch(year: year, month: month, day: day) * 86_400 + hour * 3600 + minute * 60 + second
        return Date(timeIntervalSince1970: Double(epoch - offset) + fraction)
    }
}
