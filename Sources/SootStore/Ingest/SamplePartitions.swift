import Emissions
import Foundation
import Postgres
import Synchronization

/// `emission_samples` is partitioned by UTC month of the sample's timestamp (migration 0011). The months ahead are
/// created by `ensureAhead` at start and every hour; a sample for a month that has no partition yet (an import of
/// last year's runs, a late sample) gets one from `ensure` just before it is written, in the writer's transaction.
///
/// Which months exist is remembered per database, but only once seen committed: a partition created inside a
/// transaction that then rolled back is gone, so a month is remembered when `soot_sample_partition` finds it
/// already there. That costs one round trip per month and database the first time, and nothing after.
package enum SamplePartitions {
    private static let known = Mutex<[String: Set<Int>]>([:])

    /// Months since 2000-01 (0 is January 2000) of a Unix time, in UTC, as PostgreSQL rounds it.
    package static func month(of seconds: Double) -> Int {
        let micros = PostgresBinaryArray.postgresMicroseconds(seconds)
        let days = Int(micros >= 0 ? micros / 86_400_000_000 : (micros - 86_399_999_999) / 86_400_000_000) + 10_957
        let (year, month, _) = UTCDay.civil(days)
        return (year - 2000) * 12 + month - 1
    }

    /// The first instant of a month (as `month(of:)` counts them), in Unix seconds.
    package static func start(ofMonth month: Int) -> Double {
        let year = 2000 + Int((Double(month) / 12).rounded(.down))
        return Double(UTCDay.days(year: year, month: month - (year - 2000) * 12 + 1, day: 1)) * 86_400
    }

    /// Makes sure the months of `timestamps` have their partitions, on `connection` (inside the caller's
    /// transaction, if any: a partition it creates commits or rolls back with the samples).
    package static func ensure(_ connection: DatabaseConnection, timestamps: some Sequence<Double>) throws {
        var months = Set<Int>()
        for timestamp in timestamps { months.insert(month(of: timestamp)) }
        let key = connection.url
        let missing = known.withLock { known in months.subtracting(known[key] ?? []) }
        for month in missing.sorted() {
            let existed = try connection.query("""
                SELECT soot_sample_partition(to_timestamp(\(start(ofMonth: month)))) AS existed
                """).first!.decode("existed", as: Bool.self)
            if existed { known.withLock { _ = $0[key, default: []].insert(month) } }
        }
    }

    /// Creates this month's partition and the next `months` ones, each in its own short transaction.
    package static func ensureAhead(_ connection: DatabaseConnection, months: Int = 2, now: Double = Date().timeIntervalSince1970) throws {
        let current = month(of: now)
        for month in current...(current + months) {
            try connection.query("SELECT soot_sample_partition(to_timestamp(\(start(ofMonth: month))))")
        }
    }

    /// `ensureAhead` on a connection of the pool.
    package static func ensureAhead(_ database: ConnectionPool, months: Int = 2) throws {
        try database.withConnection { try ensureAhead($0, months: months) }
    }

    /// Forgets what is known of a database's partitions (after an insert found one missing).
    package static func forget(_ connection: DatabaseConnection) {
        _ = known.withLock { $0.removeValue(forKey: connection.url) }
    }

    /// Whether an error is PostgreSQL's "no partition of relation ... found for row".
    package static func isMissingPartition(_ error: Error) -> Bool {
        guard let error = error as? DatabaseError else { return false }
        return error.sqlState == "23514" && error.message.contains("no partition")
    }
}
