import SootStore
import HTTPServer

extension Request {
    /// Query item `name` as a whole number in `range`, or `fallback` when it is absent or empty.
    ///
    /// Every number a route takes from the query goes through here, so it is in a documented range before any
    /// arithmetic: anything else (not a number, out of range, too long for `Int`) is a 422 naming the item.
    func integerQuery(_ name: String, in range: ClosedRange<Int>, default fallback: Int) throws -> Int {
        guard let text = query(name), !text.isEmpty else { return fallback }
        guard text.utf8.count <= 19, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let value = Int(text),
              range.contains(value) else {
            throw AppError.invalid(name, "\(name) must be a whole number from \(range.lowerBound) to \(range.upperBound).")
        }
        return value
    }
}
