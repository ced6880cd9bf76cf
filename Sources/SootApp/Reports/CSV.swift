/// RFC 4180 CSV, written and read on bytes.
///
/// Writing: fields are quoted when they hold a comma, a quote, CR or LF (quotes doubled), records end with CRLF,
/// text is UTF-8 as stored. A text cell that a spreadsheet would run as a formula (starting with `=`, `+`, `-`, `@`,
/// tab or CR) is neutralised with a leading apostrophe, as OWASP advises; numbers and timestamps are written as they
/// are (a negative longitude stays a number).
struct CSVEncoder {
    private(set) var bytes: [UInt8] = []

    init(capacity: Int = 64 * 1024) { bytes.reserveCapacity(capacity) }

    private var atRowStart = true

    mutating func separate() {
        if !atRowStart { bytes.append(UInt8(ascii: ",")) }
        atRowStart = false
    }

    /// Whether a text cell starting with `byte` would run as a formula in a spreadsheet (`=`, `+`, `-`, `@`, tab, CR).
    static func startsFormula(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: "=") || byte == UInt8(ascii: "+") || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "@")
            || byte == 0x09 || byte == 0x0D
    }

    /// A text cell from user or client data: quoted as needed and neutralised against formulas.
    mutating func text(_ cell: UnsafeBufferPointer<UInt8>?) {
        separate()
        guard let cell, let first = cell.first else { return }
        let formula = Self.startsFormula(first)
        let quote = formula || cell.contains { $0 == UInt8(ascii: ",") || $0 == UInt8(ascii: "\"") || $0 == 0x0A || $0 == 0x0D }
        if !quote {
            bytes.append(contentsOf: cell)
            return
        }
        bytes.append(UInt8(ascii: "\""))
        if formula { bytes.append(UInt8(ascii: "'")) }
        for byte in cell {
            if byte == UInt8(ascii: "\"") { bytes.append(byte) }
            bytes.append(byte)
        }
        bytes.append(UInt8(ascii: "\""))
    }

    mutating func text(_ cell: String?) {
        guard var cell else { return text(nil as UnsafeBufferPointer<UInt8>?) }
        cell.withUTF8 { text($0) }
    }

    /// A cell Soot made itself (a number, a timestamp, an id): written as it is.
    mutating func plain(_ cell: UnsafeBufferPointer<UInt8>?) {
        separate()
        if let cell { bytes.append(contentsOf: cell) }
    }

    mutating func plain(_ cell: String?) {
        guard var cell else { return plain(nil as UnsafeBufferPointer<UInt8>?) }
        cell.withUTF8 { plain($0) }
    }

    /// A number with full precision (shortest text that reads back as the same double), dot as decimal separator.
    mutating func number(_ value: Double) {
        plain(value.description)
    }

    mutating func endRow() {
        bytes.append(0x0D)
        bytes.append(0x0A)
        atRowStart = true
    }

    /// Hands over what was written and starts empty again (keeping the capacity).
    mutating func take() -> [UInt8] {
        let taken = bytes
        bytes.removeAll(keepingCapacity: true)
        return taken
    }
}

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

/// Turns the lines of PostgreSQL's `COPY … (FORMAT csv)` into Soot's CSV records, on bytes, copying unchanged
/// stretches whole: PostgreSQL already quotes fields that hold a comma, a quote, CR or LF and doubles quotes (the
/// same RFC 4180 rules as `CSVEncoder`). What changes is what `CSVEncoder` does differently:
/// - records end with CRLF instead of LF;
/// - a text field that starts like a formula gets the apostrophe and quotes;
/// - an empty text field is written empty (PostgreSQL writes `""` to tell it from NULL);
/// - timestamps become ISO 8601 with `T` and a full offset, booleans `true`/`false`;
/// - with `replaceFirst`, the first field is replaced by the bytes it returns for it (the runs report's names).
struct CSVCopyRewriter: Sendable {
    typealias Kind = ExportRoutes.Kind
    let kinds: [Kind]
    let replaceFirst: (@Sendable (UnsafeBufferPointer<UInt8>) -> [UInt8])?

    init(kinds: [Kind], replaceFirst: (@Sendable (UnsafeBufferPointer<UInt8>) -> [UInt8])? = nil) {
        self.kinds = kinds
        self.replaceFirst = replaceFirst
    }

    static let quote = UInt8(ascii: "\""), comma = UInt8(ascii: ","), newline: UInt8 = 0x0A

    /// Appends the record for `line` (one `COPY` line, LF included) to `out`.
    func append(_ line: UnsafeBufferPointer<UInt8>, to out: inout [UInt8]) {
        let count = line[line.count - 1] == Self.newline ? line.count - 1 : line.count
        var copied = 0  // line[copied..<start of the field being looked at] is still to be written
        var position = 0
        func flush(upTo end: Int) {
            if end > copied { out.append(contentsOf: UnsafeBufferPointer(rebasing: line[copied..<end])) }
        }
        for (column, kind) in kinds.enumerated() {
            guard position <= count else { break }
            let start = position
            let quoted = position < count && line[position] == Self.quote
            var end = position
            if quoted {
                end += 1
                while end < count {
                    if line[end] == Self.quote {
                        if end + 1 < count && line[end + 1] == Self.quote { end += 2; continue }
                        end += 1
                        break
                    }
                    end += 1
                }
            } else {
                while end < count && line[end] != Self.comma { end += 1 }
            }
            let field = UnsafeBufferPointer(rebasing: line[start..<end])
            if column == 0, let replaceFirst {
                out.append(contentsOf: replaceFirst(field))
                copied = end
            } else {
                switch kind {
                case .time where !quoted && end > start:
                    flush(upTo: start)
                    ISOTimestamp.withRewritten(field) { out.append(contentsOf: $0) }
                    copied = end
                case .boolean where end - start == 1:
                    flush(upTo: start)
                    out.append(contentsOf: line[start] == UInt8(ascii: "t") ? Self.trueBytes : Self.falseBytes)
                    copied = end
                case .text where end > start:
                    let content = quoted ? start + 1 : start
                    if quoted && end - start == 2 {
                        flush(upTo: start)  // "" (an empty string): written empty, as CSVEncoder does
                        copied = end
                    } else if CSVEncoder.startsFormula(line[content]) {
                        flush(upTo: start)
                        out.append(Self.quote)
                        out.append(UInt8(ascii: "'"))
                        out.append(contentsOf: UnsafeBufferPointer(rebasing: line[content..<end]))
                        if !quoted { out.append(Self.quote) }
                        copied = end
                    }
                default:
                    break
                }
            }
            position = end + 1
        }
        flush(upTo: count)
        out.append(0x0D)
        out.append(0x0A)
    }

    private static let trueBytes = Array("true".utf8), falseBytes = Array("false".utf8)
}
