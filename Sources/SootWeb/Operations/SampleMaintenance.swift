import Dispatch
import Logging
import SootStore
import Synchronization

/// Once at start and then every hour, on a background queue: creates the samples' month partitions ahead (this one
/// and the next two), and folds months past `--sample-retention` (see `SampleRetention`). Several instances may do
/// both at once: creating a partition that exists and folding a month folded since are no-ops.
final class SampleMaintenance: Sendable {
    let store: Store
    let retentionDays: Int?
    let logger: Logger
    private let stopped = Atomic<Bool>(false)
    static let interval: Double = 3600

    init(store: Store, retentionDays: Int?, logger: Logger) {
        (self.store, self.retentionDays, self.logger) = (store, retentionDays, logger)
    }

    func start() { schedule(after: 0) }

    func stop() { stopped.store(true, ordering: .relaxed) }

    /// One pass; returns the months folded.
    @discardableResult
    func run() throws -> [SampleRetention.Fold] {
        try SamplePartitions.ensureAhead(store.database)
        guard let days = retentionDays else { return [] }
        let folds = try SampleRetention.fold(store.database, olderThanDays: days)
        for fold in folds {
            logger.info("samples past their retention folded", metadata: [
                "month": "\(fold.month)", "rows_before": "\(fold.rowsBefore)", "rows_after": "\(fold.rowsAfter)", "days": "\(days)"])
        }
        return folds
    }

    private func schedule(after seconds: Double) {
        DispatchQueue.global(qos: .background).asyncAfter(deadline: .now() + seconds) { [self] in
            guard !stopped.load(ordering: .relaxed) else { return }
            do { try run() } catch { logger.warning("sample maintenance failed; tried again in an hour", metadata: ["error": "\(error)"]) }
            schedule(after: SampleMaintenance.interval)
        }
    }
}
