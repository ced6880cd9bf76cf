import Foundation
import SootStore

/// Reads RFC 4180 records: quoted fields with doubled quotes and line breaks, CRLF or LF endings, a UTF-8 byte order
/// mark skipped. Each record knows the line it started on, for error reports. Bytes can be fed in pieces of any
/// size (`feed`, then `finish`): a record is handed out as soon as its line ends, so a file of any size is read in
/// the memory of its longest record.
struct CSVReader {
    struct Failure: Error {
        let line: Int
        let message: String
    }

    struct Record {
        let line: Int
        let fields: [String]
    }

    private var fields: [String] = []
    private var field: [UInt8] = []
    private var line = 1
    private var recordLine = 1
    private var inQuotes = false
    private var wasQuoted = false
    /// A quote inside a quoted field: the next byte says whether it was doubled or closed the field.
    private var quoteSeen = false
    /// A CR outside quotes: a following LF ends the record; anything else keeps it as text.
    private var carriageReturnSeen = false
    /// Bytes of a possible byte order mark still to check at the very start.
    private var start: [UInt8] = []
    private var started = false

    /// Every record of `bytes`; throws for an unterminated quote, a quote inside an unquoted field, or text after a
    /// closing quote, and for invalid UTF-8.
    static func records(_ bytes: [UInt8]) throws(Failure) -> [Record] {
        var reader = CSVReader()
        var records: [Record] = []
        do {
            try reader.feed(bytes) { records.append($0) }
            try reader.finish { records.append($0) }
        } catch let failure as Failure {
            throw failure
        } catch {
            throw Failure(line: 0, message: "\(error)")
        }
        return records
    }

    /// Reads `bytes`, handing each record completed to `emit`.
    mutating func feed(_ bytes: [UInt8], _ emit: (Record) throws -> Void) throws {
        var index = 0
        if !started {
            // The byte order mark may be split over the first pieces.
            while index < bytes.count && start.count < 3 {
                start.append(bytes[index])
                index += 1
            }
            guard start.count == 3 || index < bytes.count else { return }
            started = true
            let pending = start == [0xEF, 0xBB, 0xBF] ? [] : start
            start = []
            for byte in pending { try take(byte, emit) }
        }
        while index < bytes.count {
            try take(bytes[index], emit)
            index += 1
        }
    }

    /// The end of the input: the last record, if it has no line break after it.
    mutating func finish(_ emit: (Record) throws -> Void) throws {
        if !started {
            started = true
            let pending = start == [0xEF, 0xBB, 0xBF] ? [] : start
            start = []
            for byte in pending { try take(byte, emit) }
        }
        if quoteSeen {
            quoteSeen = false
            inQuotes = false
            wasQuoted = true
        }
        if carriageReturnSeen {
            carriageReturnSeen = false
            field.append(0x0D)
        }
        if inQuotes { throw Failure(line: recordLine, message: "A quoted field is not closed.") }
        if !field.isEmpty || !fields.isEmpty || wasQuoted {
            try finishField()
            try emit(Record(line: recordLine, fields: fields))
            fields.removeAll()
        }
    }

    private mutating func finishField() throws(Failure) {
        guard let text = String(validating: field, as: UTF8.self) else {
            throw Failure(line: recordLine, message: "The file is not UTF-8 text.")
        }
        fields.append(text)
        field.removeAll(keepingCapacity: true)
        wasQuoted = false
    }

    private mutating func take(_ byte: UInt8, _ emit: (Record) throws -> Void) throws {
        if quoteSeen {
            quoteSeen = false
            if byte == UInt8(ascii: "\"") {
                field.append(byte)
                return
            }
            inQuotes = false
            wasQuoted = true
        }
        if inQuotes {
            if byte == UInt8(ascii: "\"") {
                quoteSeen = true
            } else {
                if byte == 0x0A { line += 1 }
                field.append(byte)
            }
            return
        }
        if carriageReturnSeen {
            carriageReturnSeen = false
            if byte == 0x0A {
                try endRecord(emit)
                return
            }
            if wasQuoted { throw Failure(line: line, message: "Text after a closing quote.") }
            field.append(0x0D)
        }
        switch byte {
        case UInt8(ascii: ","):
            try finishField()
        case 0x0D:
            carriageReturnSeen = true
        case 0x0A:
            try endRecord(emit)
        case UInt8(ascii: "\""):
            guard field.isEmpty && !wasQuoted else {
                throw Failure(line: line, message: "A quote inside an unquoted field (quote the field and double the quote).")
            }
            inQuotes = true
        default:
            if wasQuoted { throw Failure(line: line, message: "Text after a closing quote.") }
            field.append(byte)
        }
    }

    private mutating func endRecord(_ emit: (Record) throws -> Void) throws {
        try finishField()
        if !(fields.count == 1 && fields[0].isEmpty) { try emit(Record(line: recordLine, fields: fields)) }
        fields.removeAll(keepingCapacity: true)
        line += 1
        recordLine = line
    }
}

