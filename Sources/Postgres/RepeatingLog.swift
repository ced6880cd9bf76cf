import Foundation
import Logging
import Synchronization

/// Logs a failure that repeats (every request while the disk is full, every connect while PostgreSQL is down)
/// once per `interval` per kind, with how many times it happened in between, instead of once per occurrence.
public final class RepeatingLog: Sendable {
    /// The shared instance for database failures.
    public static let database = RepeatingLog(interval: 10)

    public let interval: Double
    private let seen = Mutex<[String: (loggedAt: Double, suppressed: Int)]>([:])

    public init(interval: Double) { self.interval = interval }

    /// Logs `message` unless the same `key` was logged less than `interval` seconds ago; the next line logged
    /// for the key carries `repeated`: how many were left out.
    public func log(_ logger: Logger, _ level: Logger.Level, _ message: Logger.Message, key: String,
                    metadata: Logger.Metadata = [:]) {
        let now = Date().timeIntervalSince1970
        let suppressed = seen.withLock { seen -> Int? in
            if let entry = seen[key], now - entry.loggedAt < interval {
                seen[key]!.suppressed += 1
                return nil
            }
            if seen.count > 1000 { seen.removeAll() }
            let left = seen[key]?.suppressed ?? 0
            seen[key] = (now, 0)
            return left
        }
        guard let suppressed else { return }
        var metadata = metadata
        if suppressed > 0 { metadata["repeated"] = "\(suppressed) more in the last \(Int(interval)) s" }
        logger.log(level: level, message, metadata: metadata)
    }
}
