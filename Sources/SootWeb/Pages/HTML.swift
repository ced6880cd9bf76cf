import Foundation
import SootStore

/// HTML that is safe by construction, as `SQLQuery` is for SQL: a value built by string interpolation in which a
/// `String` is escaped (`& < > " '`, so it is safe in text and in quoted attribute values), an `HTML` is embedded as
/// it is, whole numbers are written as digits, and markup from elsewhere needs a spelled-out `unsafeHTML:`. Literal
/// text in the source is trusted: it is the program's own markup. Pages, the layout and `Response.html(_:)` take
/// only this type, so a view cannot forget to escape.
struct HTML: Sendable, Equatable, ExpressibleByStringInterpolation, CustomStringConvertible {
    /// The markup.
    private(set) var text: String

    init() { text = "" }

    /// Literal markup from the source.
    init(stringLiteral value: String) { text = value }

    init(stringInterpolation: Interpolation) { text = stringInterpolation.text }

    /// Markup that did not come through interpolation (a stored, already-safe fragment). The name says what it is.
    init(unsafeHTML text: String) { self.text = text }

    var description: String { text }
    var isEmpty: Bool { text.isEmpty }

    struct Interpolation: StringInterpolationProtocol {
        var text = ""

        init(literalCapacity: Int, interpolationCount: Int) {
            text.reserveCapacity(literalCapacity + interpolationCount * 16)
        }

        mutating func appendLiteral(_ literal: String) { text += literal }

        /// Text: escaped.
        mutating func appendInterpolation(_ value: String) { HTML.escape(value, into: &text) }

        mutating func appendInterpolation(_ value: Substring) { HTML.escape(String(value), into: &text) }

        /// Markup: as it is.
        mutating func appendInterpolation(_ value: HTML) { text += value.text }

        /// A whole number: its digits.
        mutating func appendInterpolation<T: BinaryInteger>(_ value: T) { text += String(value) }

        /// Markup that was not built as `HTML`; the call site says so.
        mutating func appendInterpolation(unsafeHTML value: String) { text += value }
    }

    static func + (left: HTML, right: HTML) -> HTML { HTML(unsafeHTML: left.text + right.text) }
    static func += (left: inout HTML, right: HTML) { left.text += right.text }

    /// The parts one after the other, with `separator` between them.
    static func joined(_ parts: [HTML], separator: HTML = "") -> HTML {
        HTML(unsafeHTML: parts.map(\.text).joined(separator: separator.text))
    }

    /// Escapes `& < > " '` for HTML text and attribute values.
    static func escape(_ value: String, into output: inout String) {
        var needsWork = false
        for byte in value.utf8 where byte == 0x26 || byte == 0x3C || byte == 0x3E || byte == 0x22 || byte == 0x27 {
            needsWork = true
            break
        }
        guard needsWork else {
            output += value
            return
        }
        for character in value.unicodeScalars {
            switch character {
            case "&": output += "&amp;"
            case "<": output += "&lt;"
            case ">": output += "&gt;"
            case "\"": output += "&quot;"
            case "'": output += "&#39;"
            default: output.unicodeScalars.append(character)
            }
        }
    }
}
