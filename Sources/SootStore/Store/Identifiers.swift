import Foundation
import Postgres

/// Record ids as text (`8-4-4-4-12` lowercase hex), for URLs, JSON and forms. The web layer reads and writes ids
/// through these, so it needs nothing of the driver (which has the fast codec, shared with its binds).
extension UUID {
    /// The id as lowercase text, without Foundation's formatter.
    package var idText: String { lowercaseText }

    /// Writes the 36 bytes of `idText` at the start of `out`.
    package func writeIDText(into out: UnsafeMutableRawBufferPointer) { writeLowercaseText(into: out) }

    /// Parses `8-4-4-4-12` hex text (either case); nil for anything else.
    package init?(idText text: String) { self.init(postgresText: text) }
}
