import Dispatch
import Logging
import SootStore
import Synchronization

/// Removes audit entries older than the retention, once at start and then every hour, on a background queue.
/// Several instances may prune the same table: a DELETE of old rows is harmless twice.
final class AuditRetention: Sendable {
    let store: Store
    let days: Int
    let logger: Logger
    private let stopped = Atomic<Bool>(false)
    static let interval: Double = 3600

    init(store: Store, days: Int, logger: Logger) {
        (self.store, self.days, self.logger) = (store, days, logger)
    }

    func start() { schedule(after: 0) }

    func stop() { stopped.store(true, ordering: .relaxed) }

    /// Prunes now; returns how many entries went.
    @discardableResult
    func prune() throws -> Int {
        let removed = try Audit.prune(store.database, olderThanDays: days)
        if removed > 0 { logger.info("audit entries past their retention removed", metadata: ["removed": "\(removed)", "days": "\(days)"]) }
        return removed
    }

    private func schedule(after seconds: Double) {
        DispatchQueue.global(qos: .background).asyncAfter(deadline: .now() + seconds) { [self] in
            guard !stopped.load(ordering: .relaxed) else { return }
            do { try prune() } catch { logger.warning("audit retention could not prune", metadata: ["error": "\(error)"]) }
            schedule(after: AuditRetention.interval)
        }
    }
}
