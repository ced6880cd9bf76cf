import Foundation
import Postgres

/// ISO 8601 timestamps with offset, as CodeCarbon sends and as Soot answers.
package enum ISOTime {
    /// `2026-11-29T05:10:00.123456+00:00`.
    package static func format(_ date: Date) -> String {
        let text = PostgresTime.format(date)
        return String(text.dropLast()) + "+00:00"
    }

    /// Parses ISO 8601 timestamps (see `PostgresTime.parse`, the one parser for both directions).
    package static func parse(_ text: String) -> Date? { PostgresTime.parse(text) }
}
