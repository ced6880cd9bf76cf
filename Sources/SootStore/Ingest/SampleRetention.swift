import Foundation
import Postgres

/// `--sample-retention`: months of samples older than the retention are folded into one sample per run and UTC
/// hour. A folded row holds the sums of the hour's durations, energies, emissions and water, the hour's last
/// timestamp and id, the averages of its powers and utilisations, and how many samples it stands for
/// (`sample_count`). Run totals and daily rollups are stored, not recomputed, so they do not change; a report over
/// UTC days sums the same hours, and counts `sample_count`.
///
/// A month is folded in one transaction: its partition is locked against writes (reads go on), its folded rows are
/// computed into a temporary table, the partition is emptied with TRUNCATE (its files are replaced: no DELETE, no
/// dead rows, no vacuum) and refilled. A month is folded once its last day is older than the retention; a sample
/// that arrives later for a folded month (a late or imported one) is folded on the next pass.
package enum SampleRetention {
    package struct Fold: Sendable, Equatable {
        /// The month's first day, `YYYY-MM-01`.
        package let month: String
        package let rowsBefore: Int
        package let rowsAfter: Int
    }

    /// Folds every month that ended more than `days` days before `now`; returns what it folded.
    package static func fold(_ database: ConnectionPool, olderThanDays days: Int, now: Date = Date()) throws -> [Fold] {
        let cutoff = now.timeIntervalSince1970 - Double(days) * 86_400
        let partitions = try database.query("""
            SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
            WHERE i.inhparent = 'emission_samples'::regclass ORDER BY c.relname
            """).rows.map { try $0.decode("name", as: String.self) }
        var folds: [Fold] = []
        for name in partitions {
            guard let month = month(ofPartition: name), SamplePartitions.start(ofMonth: month + 1) <= cutoff else { continue }
            if let fold = try foldMonth(database, partition: name, month: month) { folds.append(fold) }
        }
        return folds
    }

    /// The month (as `SamplePartitions.month(of:)` counts) of a partition named `emission_samples_yYYYYmMM`.
    static func month(ofPartition name: String) -> Int? {
        let prefix = "emission_samples_y"
        guard name.hasPrefix(prefix) else { return nil }
        let rest = name.dropFirst(prefix.count)
        let parts = rest.split(separator: "m")
        guard parts.count == 2, let year = Int(parts[0]), let month = Int(parts[1]), (1...12).contains(month) else { return nil }
        return (year - 2000) * 12 + month - 1
    }

    static func foldMonth(_ database: ConnectionPool, partition: String, month: Int) throws -> Fold? {
        let first = Date(timeIntervalSince1970: SamplePartitions.start(ofMonth: month))
        let table = "\"\(partition)\""  // a name Soot made: emission_samples_yYYYYmMM
        return try database.transaction { connection in
            // A month held by a long reader is tried again at the next pass rather than queueing every reader.
            try connection.query("SET LOCAL lock_timeout = '5s'")
            try connection.query("LOCK TABLE \(unsafeSQL: table) IN EXCLUSIVE MODE")
            // Folded before, and nothing arrived since: nothing to do (checked under the lock: instances take turns).
            let state = try connection.query("""
                SELECT (SELECT count(*) FROM \(unsafeSQL: table)) AS rows,
                       EXISTS (SELECT 1 FROM sample_folds f WHERE f.month = \(first)::date
                               AND NOT EXISTS (SELECT 1 FROM \(unsafeSQL: table) s WHERE s.created_at > f.folded_at)) AS folded
                """).first!
            let rowsBefore = try state.decode("rows", as: Int.self)
            guard try !state.decode("folded", as: Bool.self) else { return nil }
            try connection.query("""
                CREATE TEMPORARY TABLE soot_folded_samples ON COMMIT DROP AS
                SELECT (array_agg(id ORDER BY "timestamp" DESC, id DESC))[1] AS id, organization_id, run_id, max("timestamp") AS "timestamp",
                       sum(duration_seconds) AS duration_seconds, sum(emissions_kg) AS emissions_kg,
                       CASE WHEN count(*) = 1 THEN min(emissions_rate)
                            WHEN sum(duration_seconds) > 0 THEN sum(emissions_kg) / sum(duration_seconds) END AS emissions_rate,
                       avg(cpu_power_w) AS cpu_power_w, avg(gpu_power_w) AS gpu_power_w, avg(ram_power_w) AS ram_power_w,
                       sum(cpu_energy_kwh) AS cpu_energy_kwh, sum(gpu_energy_kwh) AS gpu_energy_kwh, sum(ram_energy_kwh) AS ram_energy_kwh,
                       sum(energy_kwh) AS energy_kwh, avg(cpu_utilization_percent) AS cpu_utilization_percent,
                       avg(gpu_utilization_percent) AS gpu_utilization_percent, avg(ram_utilization_percent) AS ram_utilization_percent,
                       sum(water_liters) AS water_liters, CASE WHEN count(*) = 1 THEN min(client_key) END AS client_key,
                       min(created_at) AS created_at, sum(sample_count)::integer AS sample_count
                FROM \(unsafeSQL: table)
                GROUP BY organization_id, run_id, date_trunc('hour', "timestamp" AT TIME ZONE 'UTC')
                """)
            try connection.query("TRUNCATE \(unsafeSQL: table)")
            let rowsAfter = try connection.query("""
                INSERT INTO \(unsafeSQL: table) (id, organization_id, run_id, "timestamp", duration_seconds, emissions_kg, emissions_rate,
                    cpu_power_w, gpu_power_w, ram_power_w, cpu_energy_kwh, gpu_energy_kwh, ram_energy_kwh, energy_kwh,
                    cpu_utilization_percent, gpu_utilization_percent, ram_utilization_percent, water_liters, client_key,
                    created_at, sample_count)
                SELECT id, organization_id, run_id, "timestamp", duration_seconds, emissions_kg, emissions_rate,
                    cpu_power_w, gpu_power_w, ram_power_w, cpu_energy_kwh, gpu_energy_kwh, ram_energy_kwh, energy_kwh,
                    cpu_utilization_percent, gpu_utilization_percent, ram_utilization_percent, water_liters, client_key,
                    created_at, sample_count
                FROM soot_folded_samples
                """).affectedRows
            try connection.query("""
                INSERT INTO sample_folds (month, folded_at, rows_before, rows_after) VALUES (\(first)::date, now(), \(rowsBefore), \(rowsAfter))
                ON CONFLICT (month) DO UPDATE SET folded_at = excluded.folded_at, rows_before = excluded.rows_before,
                                                  rows_after = excluded.rows_after
                """)
            return Fold(month: String(ISO8601DateFormatter().string(from: first).prefix(10)), rowsBefore: rowsBefore, rowsAfter: rowsAfter)
        }
    }
}
