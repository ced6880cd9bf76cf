import CLibPQ
import Foundation

/// A value decodable from the server's text format.
public protocol PostgresDecodable {
    init?(postgresText text: String)
}

extension String: PostgresDecodable { public init?(postgresText text: String) { self = text } }
extension Int: PostgresDecodable { public init?(postgresText text: String) { self.init(text) } }
extension Int64: PostgresDecodable { public init?(postgresText text: String) { self.init(text) } }
extension Int32: PostgresDecodable { public init?(postgresText text: String) { self.init(text) } }
extension Double: PostgresDecodable {
    public init?(postgresText text: String) {
        switch text {
        case "NaN": self = .nan
        case "Infinity": self = .infinity
        case "-Infinity": self = -.infinity
        default: self.init(text)
        }
    }
}
extension Bool: PostgresDecodable {
    public init?(postgresText text: String) {
        switch text {
        case "t", "true": self = true
        case "f", "false": self = false
        default: return nil
        }
    }
}
extension UUID: PostgresDecodable {
    /// PostgreSQL's uuid output (`8-4-4-4-12` hex digits), parsed by hand: Foundation's parser is far slower.
    public init?(postgresText text: String) {
        var text = text
        guard let value = text.withUTF8({ UUID.parse($0) }) else { return nil }
        self = value
    }

    /// The same from bytes (a field of a `COPY` line).
    public init?(postgresBytes bytes: UnsafeBufferPointer<UInt8>) {
        guard let value = UUID.parse(bytes) else { return nil }
        self = value
    }

    private static func parse(_ text: UnsafeBufferPointer<UInt8>) -> UUID? {
        guard text.count == 36, text[8] == 0x2D, text[13] == 0x2D, text[18] == 0x2D, text[23] == 0x2D else { return nil }
        func nibble(_ byte: UInt8) -> UInt8? {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
            default: return nil
            }
        }
        var uuid: uuid_t = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        let ok = withUnsafeMutableBytes(of: &uuid) { out -> Bool in
            var position = 0
            for index in 0..<16 {
                if position == 8 || position == 13 || position == 18 || position == 23 { position += 1 }
                guard let high = nibble(text[position]), let low = nibble(text[position + 1]) else { return false }
                out[index] = high << 4 | low
                position += 2
            }
            return true
        }
        return ok ? UUID(uuid: uuid) : nil
    }
}
extension Date: PostgresDecodable {
    public init?(postgresText text: String) {
        guard let date = PostgresTime.parse(text) else { return nil }
        self = date
    }
}

/// The rows of one statement, decoded from a `PGresult` it owns and frees exactly once.
public final class QueryResult: @unchecked Sendable {
    // Safety: the PGresult is read-only after creation; libpq result accessors are thread-safe for reads.
    private let result: OpaquePointer
    public let rowCount: Int
    public let columnCount: Int
    /// Column names in order.
    public let columns: [String]
    private let columnIndex: [String: Int]
    /// Rows affected by INSERT/UPDATE/DELETE.
    public let affectedRows: Int

    init(_ result: OpaquePointer) {
        self.result = result
        rowCount = Int(PQntuples(result))
        columnCount = Int(PQnfields(result))
        var names: [String] = []
        var index: [String: Int] = [:]
        for column in 0..<columnCount {
            let name = String(cString: PQfname(result, Int32(column)))
            names.append(name)
            if index[name] == nil { index[name] = column }
        }
        columns = names
        columnIndex = index
        affectedRows = Int(String(cString: PQcmdTuples(result))) ?? 0
    }

    deinit { PQclear(result) }

    /// The text of a cell, nil for NULL.
    public func text(row: Int, column: Int) -> String? {
        if PQgetisnull(result, Int32(row), Int32(column)) == 1 { return nil }
        return String(cString: PQgetvalue(result, Int32(row), Int32(column)))
    }

    func index(of name: String) throws -> Int {
        guard let index = columnIndex[name] else {
            throw DatabaseError(.decoding, message: "no column named \(name)")
        }
        return index
    }

    /// The rows, for iteration.
    public var rows: [Row] { (0..<rowCount).map { Row(result: self, index: $0) } }

    /// The first row, if any.
    public var first: Row? { rowCount > 0 ? Row(result: self, index: 0) : nil }
}

/// One row of a `QueryResult`.
public struct Row: Sendable {
    public let result: QueryResult
    public let index: Int

    /// The cell `column` decoded as `T`; throws for NULL or text that does not decode.
    public func decode<T: PostgresDecodable>(_ column: String, as type: T.Type = T.self) throws -> T {
        let position = try result.index(of: column)
        guard let text = result.text(row: index, column: position) else {
            throw DatabaseError(.decoding, message: "column \(column) is NULL")
        }
        guard let value = T(postgresText: text) else {
            throw DatabaseError(.decoding, message: "column \(column) is not a \(T.self)")
        }
        return value
    }

    /// The cell `column` decoded as `T`, nil for NULL.
    public func decode<T: PostgresDecodable>(_ column: String, as type: T?.Type = T?.self) throws -> T? {
        let position = try result.index(of: column)
        guard let text = result.text(row: index, column: position) else { return nil }
        guard let value = T(postgresText: text) else {
            throw DatabaseError(.decoding, message: "column \(column) is not a \(T.self)")
        }
        return value
    }

    /// The raw text of a cell by position, nil for NULL.
    public func text(_ column: Int) -> String? { result.text(row: index, column: column) }

    /// The raw text of a cell by name, nil for NULL.
    public subscript(column: String) -> String? {
        guard let position = try? result.index(of: column) else { return nil }
        return result.text(row: index, column: position)
    }
}

/// One streamed row whose cells are read in place (see `DatabaseConnection.streamRaw`); valid only inside the call.
public struct RawRow {
    let result: OpaquePointer
    let row: Int32

    init(result: OpaquePointer, row: Int32) {
        self.result = result
        self.row = row
    }

    public var columnCount: Int { Int(PQnfields(result)) }

    /// The bytes of cell `column` (text format, no terminating zero), nil for NULL.
    public func bytes(_ column: Int) -> UnsafeBufferPointer<UInt8>? {
        let length = Int(PQgetlength(result, row, Int32(column)))
        // Only an empty cell can be NULL (libpq gives NULL a length of 0): one call fewer for nearly every cell.
        if length == 0 && PQgetisnull(result, row, Int32(column)) == 1 { return nil }
        guard let pointer = PQgetvalue(result, row, Int32(column)) else { return UnsafeBufferPointer(start: nil, count: 0) }
        return UnsafeBufferPointer(start: UnsafeRawPointer(pointer).assumingMemoryBound(to: UInt8.self), count: length)
    }

    public func text(_ column: Int) -> String? {
        bytes(column).map { String(decoding: $0, as: UTF8.self) }
    }
}
