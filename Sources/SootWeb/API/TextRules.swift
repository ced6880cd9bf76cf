import SootStore
/// What text from a request may contain, checked wherever a name, description or other free text comes in
/// (JSON bodies, forms, imported CSV): no control characters but tab and line feed, and none of the bidirectional
/// embedding, override and isolate controls (U+202A–U+202E, U+2066–U+2069), which make a name display as
/// something else ("Budget‮txt.exe" shows as "Budgetexe.txt") in pages, CSV files and terminals.
enum TextRules {
    /// True for U+202A–U+202E and U+2066–U+2069.
    static func isBidiControl(_ scalar: Unicode.Scalar) -> Bool {
        (0x202A...0x202E).contains(scalar.value) || (0x2066...0x2069).contains(scalar.value)
    }

    /// Throws a 422 naming `field` when `text` has a control character or a bidirectional control.
    static func check(_ text: String, field: String, allowLineBreaks: Bool = true) throws {
        var text = text
        // Control characters are single bytes in UTF-8 (every byte of a longer sequence is 0x80 or above), and
        // the bidi controls all start with 0xE2: one pass over the bytes finds either.
        let suspicious = text.withUTF8 { bytes in
            bytes.contains { byte in
                (byte < 0x20 && !(allowLineBreaks && (byte == 0x0A || byte == 0x09))) || byte == 0x7F || byte == 0xE2
            }
        }
        guard suspicious else { return }
        for scalar in text.unicodeScalars {
            if scalar.value < 0x20 && !(allowLineBreaks && (scalar == "\n" || scalar == "\t")) || scalar.value == 0x7F {
                throw AppError.invalid(field, "\(field) must not contain control characters.")
            }
            if isBidiControl(scalar) {
                throw AppError.invalid(field, "\(field) must not contain bidirectional control characters (U+202A–U+202E, U+2066–U+2069).")
            }
        }
    }
}
