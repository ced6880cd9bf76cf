import Foundation

/// What a set-up command made (`soot bootstrap`, `soot demo`): ids, a password shown once, tokens, counts.
package typealias Summary = [String: SummaryValue]

/// A value of a `Summary`: text (ids and secrets), a count, or nothing.
package enum SummaryValue: Sendable, Equatable {
    case string(String)
    case int(Int)
    case null

    package static func id(_ value: UUID) -> SummaryValue { .string(value.lowercaseText) }
    package static func text(_ value: String?) -> SummaryValue { value.map { .string($0) } ?? .null }

    package var stringValue: String? {
        if case .string(let text) = self { return text }
        return nil
    }
}
