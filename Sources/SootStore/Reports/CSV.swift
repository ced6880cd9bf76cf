import Emissions

/// RFC 4180 CSV, written and read on bytes.
///
/// Writing: fields are quoted when they hold a comma, a quote, CR or LF (quotes doubled), records end with CRLF,
/// text is UTF-8 as stored. A text cell that a spreadsheet would run as a formula (starting with `=`, `+`, `-`, `@`,
/// tab or CR) is neutralised with a leading apostrophe, as OWASP advises; numbers and timestamps are written as they
/// are (a negative longitude stays a number).
package struct CSVEncoder {
    private(set) var bytes: [UInt8] = []

    package init(capacity: Int = 64 * 1024) { bytes.reserveCapacity(capacity) }

    private var atRowStart = true

    package mutating func separate() {
        if !atRowStart { bytes.append(UInt8(ascii: ",")) }
        atRowStart = false
    }

    /// Whether a text cell starting with `byte` would run as a formula in a spreadsheet (`=`, `+`, `-`, `@`, tab, CR).
    package static func startsFormula(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: "=") || byte == UInt8(ascii: "+") || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "@")
            || byte == 0x09 || byte == 0x0D
    }

    /// A text cell from user or client data: quoted as needed and neutralised against formulas.
    package mutating func text(_ cell: UnsafeBufferPointer<UInt8>?) {
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

    package mutating func text(_ cell: String?) {
        guard var cell else { return text(nil as UnsafeBufferPointer<UInt8>?) }
        cell.withUTF8 { text($0) }
    }

    /// A cell Soot made itself (a number, a timestamp, an id): written as it is.
    package mutating func plain(_ cell: UnsafeBufferPointer<UInt8>?) {
        separate()
        if let cell { bytes.append(contentsOf: cell) }
    }

    package mutating func plain(_ cell: String?) {
        guard var cell else { return plain(nil as UnsafeBufferPointer<UInt8>?) }
        cell.withUTF8 { plain($0) }
    }

    /// A number to ten significant digits (`DecimalText`: a sum reads as a decimal), dot as decimal separator.
    package mutating func number(_ value: Double) {
        plain(DecimalText.format(value))
    }

    /// A number as PostgreSQL printed it, rounded to ten significant digits (`DecimalText`).
    package mutating func number(_ cell: UnsafeBufferPointer<UInt8>?) {
        separate()
        if let cell { DecimalText.append(cell, to: &bytes) }
    }

    package mutating func endRow() {
        bytes.append(0x0D)
        bytes.append(0x0A)
        atRowStart = true
    }

    /// Hands over what was written and starts empty again (keeping the capacity).
    package mutating func take() -> [UInt8] {
        let taken = bytes
        bytes.removeAll(keepingCapacity: true)
        return taken
    }
}

/// Turns the lines of PostgreSQL's `COPY … (FORMAT csv)` into Soot's CSV records, on bytes, copying unchanged
/// stretches whole: PostgreSQL already quotes fields that hold a comma, a quote, CR or LF and doubles quotes (the
/// same RFC 4180 rules as `CSVEncoder`). What changes is what `CSVEncoder` does differently:
/// - records end with CRLF instead of LF;
/// - a text field that starts like a formula gets the apostrophe and quotes;
/// - an empty text field is written empty (PostgreSQL writes `""` to tell it from NULL);
/// - timestamps become ISO 8601 with `T` and a full offset, booleans `true`/`false`;
/// - numbers are rounded to ten significant digits, so sums read as decimals (`DecimalText`);
/// - with `replaceFirst`, the first field is replaced by the bytes it returns for it (the runs report's names).
package struct CSVCopyRewriter: Sendable {
    package typealias Kind = ReportKind
    package let kinds: [Kind]
    package let replaceFirst: (@Sendable (UnsafeBufferPointer<UInt8>) -> [UInt8])?

    package init(kinds: [Kind], replaceFirst: (@Sendable (UnsafeBufferPointer<UInt8>) -> [UInt8])? = nil) {
        self.kinds = kinds
        self.replaceFirst = replaceFirst
    }

    package static let quote = UInt8(ascii: "\""), comma = UInt8(ascii: ","), newline: UInt8 = 0x0A

    /// Appends the record for `line` (one `COPY` line, LF included) to `out`.
    package func append(_ line: UnsafeBufferPointer<UInt8>, to out: inout [UInt8]) {
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
                case .number where !quoted && end - start > DecimalText.significantDigits + 1:
                    flush(upTo: start)
                    DecimalText.append(field, to: &out)
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
