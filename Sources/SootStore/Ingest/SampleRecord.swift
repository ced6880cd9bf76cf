import Emissions
import Foundation
import Postgres

/// Where a run sits in the hierarchy: every id a sample row and the rollups need.
/// Machine metadata of a run, shared by CodeCarbon's RunCreate, the run report, the emissions endpoint and imports.
package struct Machine: Sendable {
    package var os: String?, pythonVersion: String?, codecarbonVersion: String?
    package var cpuCount: Int?, cpuModel: String?, gpuCount: Int?, gpuModel: String?
    package var longitude: Double?, latitude: Double?, region: String?, provider: String?
    package var countryName: String?, countryISOCode: String?, cloudProvider: String?, cloudRegion: String?
    package var ramTotalSize: Double?, trackingMode: String?

    package init() {}
}

package struct RunPlacement: Sendable, Equatable {
    package let organizationID: UUID
    package let teamID: UUID
    package let projectID: UUID
    package let experimentID: UUID
    package let runID: UUID
}

/// A sample ready to be written: its id (UUIDv7), where it belongs, what it measured and an optional
/// client-chosen key that makes retries idempotent.
package struct SampleRecord: Sendable {
    package let id: UUID
    package let placement: RunPlacement
    package let measure: SampleMeasure
    package let clientKey: String?

    package init(placement: RunPlacement, measure: SampleMeasure, clientKey: String?) {
        self.id = UUIDv7.make()
        self.placement = placement
        self.measure = measure
        self.clientKey = clientKey
    }
}

/// Time-ordered UUIDs (RFC 9562 version 7): 48 bits of Unix milliseconds, then random bits.
package enum UUIDv7 {
    package static func make(milliseconds: UInt64 = UInt64(Date().timeIntervalSince1970 * 1000)) -> UUID {
        var uuid: uuid_t = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &uuid) { bytes in
            Crypto.fillIdentifierBytes(UnsafeMutableRawBufferPointer(rebasing: bytes[6...]))
            for index in 0..<6 { bytes[index] = UInt8(truncatingIfNeeded: milliseconds >> (8 * (5 - UInt64(index)))) }
            bytes[6] = (bytes[6] & 0x0F) | 0x70
            bytes[8] = (bytes[8] & 0x3F) | 0x80
        }
        return UUID(uuid: uuid)
    }
}

/// Writes samples and keeps the per-run totals and per-day rollups equal to their sums, in one statement whatever
/// the batch size: arrays are unnested server-side, the updates ride along as data-modifying CTEs, and the
/// statement is prepared once per connection. Outside a transaction it commits on its own, in one round trip.
/// Samples whose client key already exists for their run are skipped and reported as such. A sample whose run
/// does not exist fails the whole statement with `foreign_key_violation` (there is no foreign key: the statement
/// locks the runs itself, once per run rather than once per sample; see migration 0006).
package enum SampleWriter {
    /// Inserts `samples`; returns, for each, whether it was new (false: a duplicate client key). `shard` is the
    /// slice of the daily rollup this writer keeps (see migration 0005); concurrent writers use different ones.
    package static func write(_ connection: DatabaseConnection, _ samples: [SampleRecord], shard: Int = 0) throws -> [Bool] {
        guard !samples.isEmpty else { return [] }
        try SamplePartitions.ensure(connection, timestamps: samples.lazy.map(\.measure.timestamp))
        do {
            if samples.allSatisfy({ $0.clientKey == nil }) {
                try writeUnkeyed(connection, samples, shard: shard)
                return Array(repeating: true, count: samples.count)
            }
            return try writeKeyed(connection, samples, shard: shard)
        } catch where SamplePartitions.isMissingPartition(error) {
            // Remembered months the database no longer has (recreated under the same URL): ask again next time.
            SamplePartitions.forget(connection)
            throw error
        }
    }

    /// A batch's share of a run's totals or of a daily rollup row: how many samples, and their sums.
    package struct Sums {
        package var count: Int64 = 0
        package var duration = 0.0, emissions = 0.0, energy = 0.0, cpu = 0.0, gpu = 0.0, ram = 0.0, water = 0.0

        package mutating func add(_ m: SampleMeasure) {
            count += 1
            duration += m.durationSeconds; emissions += m.emissionsKg; energy += m.energyKWh
            cpu += m.cpuEnergyKWh; gpu += m.gpuEnergyKWh; ram += m.ramEnergyKWh; water += m.waterLiters
        }
    }

    /// Per-run share of a batch, as the run's totals take it.
    package struct RunDelta {
        package var sums = Sums()
        package var first = Double.infinity, last = -Double.infinity
        /// The power of the batch's latest sample of the run (nil where it had none).
        package var cpuPower: Double?, gpuPower: Double?, ramPower: Double?

        package mutating func add(_ m: SampleMeasure) {
            sums.add(m)
            first = min(first, m.timestamp)
            if m.timestamp >= last {
                last = m.timestamp
                cpuPower = m.cpuPowerW; gpuPower = m.gpuPowerW; ramPower = m.ramPowerW
            }
        }
    }

    /// Per (experiment, UTC day) share of a batch, as the daily rollup takes it.
    package struct DayDelta {
        package let placement: RunPlacement
        package let dayStart: Double
        package var sums = Sums()
    }

    /// The UTC day of a timestamp as PostgreSQL sees it once sent (rounded to the microsecond), as its start in
    /// Unix seconds.
    package static func utcDayStart(_ seconds: Double) -> Double {
        let micros = PostgresBinaryArray.postgresMicroseconds(seconds) + 946_684_800_000_000
        let day = micros >= 0 ? micros / 86_400_000_000 : (micros - 86_399_999_999) / 86_400_000_000
        return Double(day) * 86_400
    }

    /// Byte order of UUIDs, which is PostgreSQL's `uuid` order.
    package static func precedes(_ a: UUID, _ b: UUID) -> Bool {
        withUnsafeBytes(of: a.uuid) { x in withUnsafeBytes(of: b.uuid) { y in x.lexicographicallyPrecedes(y) } }
    }

    /// Samples without client keys (live ingestion, demo data): none can be a duplicate, so every sample is
    /// written or the statement fails, and the run totals and daily rollups can be summed here, before the
    /// statement, instead of from the insert's output in the server. The run update is the run's lock: it waits
    /// for a delete that started first (and then finds the run missing and fails), or makes a later delete wait
    /// for this commit (whose trigger then deletes these samples too).
    package static func writeUnkeyed(_ connection: DatabaseConnection, _ samples: [SampleRecord], shard: Int) throws {
        var runIndex: [UUID: Int] = Dictionary(minimumCapacity: samples.count)
        var runIDs: [UUID] = []
        var runs: [RunDelta] = []
        runIDs.reserveCapacity(samples.count)
        runs.reserveCapacity(samples.count)
        var dayIndex: [DayKey: Int] = [:]
        var days: [DayDelta] = []
        for sample in samples {
            let m = sample.measure
            let runID = sample.placement.runID
            if let index = runIndex[runID] {
                runs[index].add(m)
            } else {
                runIndex[runID] = runs.count
                runIDs.append(runID)
                var delta = RunDelta()
                delta.add(m)
                runs.append(delta)
            }
            let key = DayKey(experimentID: sample.placement.experimentID, dayStart: utcDayStart(m.timestamp))
            if let index = dayIndex[key] {
                days[index].sums.add(m)
            } else {
                dayIndex[key] = days.count
                var delta = DayDelta(placement: sample.placement, dayStart: key.dayStart)
                delta.sums.add(m)
                days.append(delta)
            }
        }
        // Runs in id order, like every writer locks them; rollup rows in (experiment, day) order.
        let runOrder = runIDs.indices.sorted { precedes(runIDs[$0], runIDs[$1]) }
        let r = runOrder.map { runs[$0] }
        days.sort { $0.placement.experimentID == $1.placement.experimentID
            ? $0.dayStart < $1.dayStart : precedes($0.placement.experimentID, $1.placement.experimentID) }
        // The columns of samples and runs pass their field to the (inlinable) array builders directly, so each
        // column is one loop reading that field: no closure call or record copy per value, for every sample.
        let measures = samples.map(\.measure)
        let n = measures.count
        func dayDoubles(_ value: (Sums) -> Double) -> BindValue {
            .binary(PostgresBinaryArray.doubles(count: days.count) { value(days[$0].sums) }.bytes)
        }
        func dayIDs(_ value: (RunPlacement) -> UUID) -> BindValue {
            .binary(PostgresBinaryArray.uuids(count: days.count) { value(days[$0].placement) }.bytes)
        }
        // In the order of $1, $2, ... in `unkeyedStatement`.
        let binds: [BindValue] = [
            // delta: $1-$14
            .binary(PostgresBinaryArray.uuids(count: r.count) { runIDs[runOrder[$0]] }.bytes),
            .binary(PostgresBinaryArray.int64s(r.map { $0.sums.count }).bytes),
            .binary(PostgresBinaryArray.doubles(count: r.count) { r[$0].sums.duration }.bytes), .binary(PostgresBinaryArray.doubles(count: r.count) { r[$0].sums.emissions }.bytes), .binary(PostgresBinaryArray.doubles(count: r.count) { r[$0].sums.energy }.bytes),
            .binary(PostgresBinaryArray.doubles(count: r.count) { r[$0].sums.cpu }.bytes), .binary(PostgresBinaryArray.doubles(count: r.count) { r[$0].sums.gpu }.bytes), .binary(PostgresBinaryArray.doubles(count: r.count) { r[$0].sums.ram }.bytes), .binary(PostgresBinaryArray.doubles(count: r.count) { r[$0].sums.water }.bytes),
            .binary(PostgresBinaryArray.timestamps(count: r.count) { r[$0].first }.bytes),
            .binary(PostgresBinaryArray.timestamps(count: r.count) { r[$0].last }.bytes),
            .binary(PostgresBinaryArray.doubles(count: r.count) { r[$0].cpuPower }.bytes), .binary(PostgresBinaryArray.doubles(count: r.count) { r[$0].gpuPower }.bytes), .binary(PostgresBinaryArray.doubles(count: r.count) { r[$0].ramPower }.bytes),
            // samples: $15-$31
            .binary(PostgresBinaryArray.uuids(count: samples.count) { samples[$0].id }.bytes),
            .binary(PostgresBinaryArray.uuids(count: samples.count) { samples[$0].placement.runID }.bytes),
            .binary(PostgresBinaryArray.timestamps(count: samples.count) { samples[$0].measure.timestamp }.bytes),
            .binary(PostgresBinaryArray.doubles(count: n) { measures[$0].durationSeconds }.bytes), .binary(PostgresBinaryArray.doubles(count: n) { measures[$0].emissionsKg }.bytes), .binary(PostgresBinaryArray.doubles(count: n) { measures[$0].emissionsRate }.bytes),
            .binary(PostgresBinaryArray.doubles(count: n) { measures[$0].cpuPowerW }.bytes), .binary(PostgresBinaryArray.doubles(count: n) { measures[$0].gpuPowerW }.bytes), .binary(PostgresBinaryArray.doubles(count: n) { measures[$0].ramPowerW }.bytes),
            .binary(PostgresBinaryArray.doubles(count: n) { measures[$0].cpuEnergyKWh }.bytes), .binary(PostgresBinaryArray.doubles(count: n) { measures[$0].gpuEnergyKWh }.bytes), .binary(PostgresBinaryArray.doubles(count: n) { measures[$0].ramEnergyKWh }.bytes),
            .binary(PostgresBinaryArray.doubles(count: n) { measures[$0].energyKWh }.bytes), .binary(PostgresBinaryArray.doubles(count: n) { measures[$0].cpuUtilization }.bytes), .binary(PostgresBinaryArray.doubles(count: n) { measures[$0].gpuUtilization }.bytes),
            .binary(PostgresBinaryArray.doubles(count: n) { measures[$0].ramUtilization }.bytes), .binary(PostgresBinaryArray.doubles(count: n) { measures[$0].waterLiters }.bytes),
            // days: $32-$44, then the shard, $45
            dayIDs { $0.organizationID }, dayIDs { $0.teamID }, dayIDs { $0.projectID }, dayIDs { $0.experimentID },
            .binary(PostgresBinaryArray.timestamps(count: days.count) { days[$0].dayStart }.bytes),
            .binary(PostgresBinaryArray.int64s(days.map { $0.sums.count }).bytes),
            dayDoubles { $0.duration }, dayDoubles { $0.emissions }, dayDoubles { $0.energy },
            dayDoubles { $0.cpu }, dayDoubles { $0.gpu }, dayDoubles { $0.ram }, dayDoubles { $0.water },
            .text(String(shard)),
        ]
        try connection.query(SQLQuery(unsafeSQL: unkeyedStatement, bindValues: binds))
    }

    /// How a run's totals take a batch's share `d` (both statements): sums added, first and last sample widened,
    /// the latest power kept unless the share is older than what the run has seen.
    package static let runTotalsAssignments = """
        sample_count = r.sample_count + d.n, duration_seconds = r.duration_seconds + d.duration,
        emissions_kg = r.emissions_kg + d.emissions, energy_kwh = r.energy_kwh + d.energy,
        cpu_energy_kwh = r.cpu_energy_kwh + d.cpu, gpu_energy_kwh = r.gpu_energy_kwh + d.gpu,
        ram_energy_kwh = r.ram_energy_kwh + d.ram, water_liters = r.water_liters + d.water,
        last_seen_at = greatest(r.last_seen_at, d.seen, now()),
        first_sample_at = least(r.first_sample_at, d.first), last_sample_at = greatest(r.last_sample_at, d.seen),
        cpu_power_w = CASE WHEN d.seen >= r.last_seen_at OR r.cpu_power_w IS NULL THEN coalesce(d.cpu_power, r.cpu_power_w) ELSE r.cpu_power_w END,
        gpu_power_w = CASE WHEN d.seen >= r.last_seen_at OR r.gpu_power_w IS NULL THEN coalesce(d.gpu_power, r.gpu_power_w) ELSE r.gpu_power_w END,
        ram_power_w = CASE WHEN d.seen >= r.last_seen_at OR r.ram_power_w IS NULL THEN coalesce(d.ram_power, r.ram_power_w) ELSE r.ram_power_w END
        """

    /// How a daily rollup row `x` takes a batch's share (both statements).
    package static let dayTotalsAssignments = """
        sample_count = x.sample_count + excluded.sample_count, duration_seconds = x.duration_seconds + excluded.duration_seconds,
        emissions_kg = x.emissions_kg + excluded.emissions_kg, energy_kwh = x.energy_kwh + excluded.energy_kwh,
        cpu_energy_kwh = x.cpu_energy_kwh + excluded.cpu_energy_kwh, gpu_energy_kwh = x.gpu_energy_kwh + excluded.gpu_energy_kwh,
        ram_energy_kwh = x.ram_energy_kwh + excluded.ram_energy_kwh, water_liters = x.water_liters + excluded.water_liters
        """

    /// The statement of `writeUnkeyed`, written once (the per-batch work is only the binds).
    package static let unkeyedStatement = """
        WITH delta AS (
            SELECT * FROM unnest($1::uuid[], $2::int8[], $3::float8[], $4::float8[], $5::float8[], $6::float8[], $7::float8[],
                                 $8::float8[], $9::float8[], $10::timestamptz[], $11::timestamptz[], $12::float8[], $13::float8[], $14::float8[])
            AS d(run_id, n, duration, emissions, energy, cpu, gpu, ram, water, first, seen, cpu_power, gpu_power, ram_power)
        ),
        run_totals AS (
            UPDATE runs r SET \(runTotalsAssignments)
            FROM delta d
            WHERE r.id = d.run_id
            RETURNING r.id, r.organization_id
        ),
        missing AS (
            SELECT soot_run_missing(d.run_id) FROM delta d WHERE NOT EXISTS (SELECT 1 FROM run_totals t WHERE t.id = d.run_id)
        ),
        ins AS (
            INSERT INTO emission_samples (id, organization_id, run_id, "timestamp", duration_seconds, emissions_kg, emissions_rate,
                cpu_power_w, gpu_power_w, ram_power_w, cpu_energy_kwh, gpu_energy_kwh, ram_energy_kwh, energy_kwh,
                cpu_utilization_percent, gpu_utilization_percent, ram_utilization_percent, water_liters)
            SELECT i.id, t.organization_id, i.run_id, i.ts, i.duration, i.emissions, i.rate, i.cpu_power, i.gpu_power, i.ram_power,
                   i.cpu_energy, i.gpu_energy, i.ram_energy, i.energy, i.cpu_util, i.gpu_util, i.ram_util, i.water
            FROM unnest($15::uuid[], $16::uuid[], $17::timestamptz[], $18::float8[], $19::float8[], $20::float8[], $21::float8[],
                        $22::float8[], $23::float8[], $24::float8[], $25::float8[], $26::float8[], $27::float8[], $28::float8[],
                        $29::float8[], $30::float8[], $31::float8[])
                AS i(id, run_id, ts, duration, emissions, rate, cpu_power, gpu_power, ram_power,
                     cpu_energy, gpu_energy, ram_energy, energy, cpu_util, gpu_util, ram_util, water)
            JOIN run_totals t ON t.id = i.run_id
        ),
        day_totals AS (
            INSERT INTO experiment_days AS x (organization_id, team_id, project_id, experiment_id, day, shard, sample_count,
                                              duration_seconds, emissions_kg, energy_kwh, cpu_energy_kwh, gpu_energy_kwh,
                                              ram_energy_kwh, water_liters)
            SELECT organization_id, team_id, project_id, experiment_id, (day_start AT TIME ZONE 'UTC')::date, $45::smallint,
                   n, duration, emissions, energy, cpu, gpu, ram, water
            FROM unnest($32::uuid[], $33::uuid[], $34::uuid[], $35::uuid[], $36::timestamptz[], $37::int8[], $38::float8[],
                        $39::float8[], $40::float8[], $41::float8[], $42::float8[], $43::float8[], $44::float8[])
                WITH ORDINALITY AS u(organization_id, team_id, project_id, experiment_id, day_start, n, duration, emissions, energy,
                                     cpu, gpu, ram, water, position)
            ORDER BY position  -- sorted by (experiment, day): rollup rows locked in one order by every writer
            ON CONFLICT (organization_id, experiment_id, day, shard) DO UPDATE SET \(dayTotalsAssignments)
        )
        SELECT 1 FROM missing
        """

    package struct DayKey: Hashable {
        package let experimentID: UUID
        package let dayStart: Double
    }

    /// Samples of which some carry client keys: duplicates are skipped (`ON CONFLICT DO NOTHING`), so the totals
    /// and rollups are summed in the server from what was really inserted.
    package static func writeKeyed(_ connection: DatabaseConnection, _ samples: [SampleRecord], shard: Int) throws -> [Bool] {
        let m = samples.map(\.measure)
        let p = samples.map(\.placement)
        // Binary array binds: nothing to format here or to parse in the server (see PostgresBinaryArray).
        func doubles(_ value: (SampleMeasure) -> Double?) -> PostgresBinaryArray { .doubles(m.map(value)) }
        let inserted = try connection.query("""
            WITH input AS (
                SELECT * FROM unnest(\(PostgresBinaryArray.uuids(samples.map(\.id)))::uuid[], \(PostgresBinaryArray.uuids(p.map(\.runID)))::uuid[],
                    \(PostgresBinaryArray.uuids(p.map(\.experimentID)))::uuid[], \(PostgresBinaryArray.uuids(p.map(\.teamID)))::uuid[],
                    \(PostgresBinaryArray.uuids(p.map(\.projectID)))::uuid[], \(PostgresBinaryArray.timestamps(m.map(\.timestamp)))::timestamptz[],
                    \(doubles(\.durationSeconds))::float8[], \(doubles(\.emissionsKg))::float8[], \(doubles(\.emissionsRate))::float8[],
                    \(doubles(\.cpuPowerW))::float8[], \(doubles(\.gpuPowerW))::float8[], \(doubles(\.ramPowerW))::float8[],
                    \(doubles(\.cpuEnergyKWh))::float8[], \(doubles(\.gpuEnergyKWh))::float8[], \(doubles(\.ramEnergyKWh))::float8[],
                    \(doubles(\.energyKWh))::float8[], \(doubles(\.cpuUtilization))::float8[], \(doubles(\.gpuUtilization))::float8[],
                    \(doubles(\.ramUtilization))::float8[], \(doubles(\.waterLiters))::float8[],
                    \(PostgresBinaryArray.texts(samples.map(\.clientKey)))::text[]) WITH ORDINALITY
                AS u(id, run_id, experiment_id, team_id, project_id, ts, duration, emissions, rate, cpu_power, gpu_power,
                     ram_power, cpu_energy, gpu_energy, ram_energy, energy, cpu_util, gpu_util, ram_util, water, client_key, position)
            ),
            -- The runs, locked in one order before any sample is written (see migration 0006): a run being deleted
            -- is either waited for and then missing, or waits for this commit and then deletes these samples too.
            locked AS (
                SELECT r.id, r.organization_id FROM runs r WHERE r.id IN (SELECT run_id FROM input)
                ORDER BY r.id FOR NO KEY UPDATE OF r
            ),
            missing AS (
                SELECT soot_run_missing(i.run_id) FROM input i WHERE NOT EXISTS (SELECT 1 FROM locked l WHERE l.id = i.run_id)
            ),
            -- A key is claimed in sample_keys (migration 0011); the first sample of the batch with it wins, and a key
            -- claimed before (committed, or by a concurrent writer, which this waits for) is skipped.
            keys AS (
                INSERT INTO sample_keys (organization_id, run_id, client_key, sample_id)
                SELECT DISTINCT ON (i.run_id, i.client_key) l.organization_id, i.run_id, i.client_key, i.id
                FROM input i JOIN locked l ON l.id = i.run_id
                WHERE i.client_key IS NOT NULL
                ORDER BY i.run_id, i.client_key, i.position
                ON CONFLICT DO NOTHING
                RETURNING sample_id
            ),
            ins AS (
                INSERT INTO emission_samples (id, organization_id, run_id, "timestamp", duration_seconds, emissions_kg, emissions_rate,
                    cpu_power_w, gpu_power_w, ram_power_w, cpu_energy_kwh, gpu_energy_kwh, ram_energy_kwh, energy_kwh,
                    cpu_utilization_percent, gpu_utilization_percent, ram_utilization_percent, water_liters, client_key)
                SELECT i.id, l.organization_id, i.run_id, i.ts, i.duration, i.emissions, i.rate, i.cpu_power, i.gpu_power, i.ram_power,
                       i.cpu_energy, i.gpu_energy, i.ram_energy, i.energy, i.cpu_util, i.gpu_util, i.ram_util, i.water, i.client_key
                FROM input i JOIN locked l ON l.id = i.run_id
                WHERE i.client_key IS NULL OR i.id IN (SELECT sample_id FROM keys)
                RETURNING id, run_id, "timestamp" AS ts, duration_seconds AS duration, emissions_kg AS emissions, energy_kwh AS energy,
                          cpu_energy_kwh AS cpu_energy, gpu_energy_kwh AS gpu_energy, ram_energy_kwh AS ram_energy, water_liters AS water,
                          cpu_power_w AS cpu_power, gpu_power_w AS gpu_power, ram_power_w AS ram_power, organization_id
            ),
            per_run AS (
                SELECT run_id, count(*) AS n, sum(duration) AS duration, sum(emissions) AS emissions, sum(energy) AS energy,
                       sum(cpu_energy) AS cpu, sum(gpu_energy) AS gpu, sum(ram_energy) AS ram, sum(water) AS water, max(ts) AS seen, min(ts) AS first,
                       (array_agg(cpu_power ORDER BY ts DESC))[1] AS cpu_power, (array_agg(gpu_power ORDER BY ts DESC))[1] AS gpu_power,
                       (array_agg(ram_power ORDER BY ts DESC))[1] AS ram_power
                FROM ins GROUP BY run_id
            ),
            run_totals AS (
                UPDATE runs r SET \(unsafeSQL: runTotalsAssignments)
                FROM per_run d
                WHERE r.id = d.run_id
                RETURNING r.id
            ),
            day_totals AS (
                INSERT INTO experiment_days AS x (organization_id, team_id, project_id, experiment_id, day, shard, sample_count,
                                                  duration_seconds, emissions_kg, energy_kwh, cpu_energy_kwh, gpu_energy_kwh,
                                                  ram_energy_kwh, water_liters)
                SELECT i.organization_id, u.team_id, u.project_id, u.experiment_id, (i.ts AT TIME ZONE 'UTC')::date, \(shard)::smallint,
                       count(*), sum(i.duration),
                       sum(i.emissions), sum(i.energy), sum(i.cpu_energy), sum(i.gpu_energy), sum(i.ram_energy), sum(i.water)
                FROM ins i JOIN input u ON u.id = i.id
                GROUP BY 1, 2, 3, 4, 5
                ORDER BY 4, 5  -- rollup rows locked in one order by every writer: concurrent upserts wait, never deadlock
                ON CONFLICT (organization_id, experiment_id, day, shard) DO UPDATE SET \(unsafeSQL: dayTotalsAssignments)
                RETURNING x.experiment_id
            )
            SELECT id FROM ins WHERE NOT EXISTS (SELECT 1 FROM missing)
            """)
        // Without client keys nothing can be skipped (a missing run fails the statement): no ids to read back.
        if inserted.rowCount == samples.count { return Array(repeating: true, count: samples.count) }
        var newIDs = Set<UUID>()
        for row in inserted.rows { newIDs.insert(try row.decode("id")) }
        return samples.map { newIDs.contains($0.id) }
    }
}
