import Emissions
import Foundation
import Postgres

/// Where a run sits in the hierarchy: every id a sample row and the rollups need.
public struct RunPlacement: Sendable, Equatable {
    public let organizationID: UUID
    public let teamID: UUID
    public let projectID: UUID
    public let experimentID: UUID
    public let runID: UUID
}

/// A sample ready to be written: its id (UUIDv7), where it belongs, what it measured and an optional
/// client-chosen key that makes retries idempotent.
struct SampleRecord: Sendable {
    let id: UUID
    let placement: RunPlacement
    let measure: SampleMeasure
    let clientKey: String?

    init(placement: RunPlacement, measure: SampleMeasure, clientKey: String?) {
        self.id = UUIDv7.make()
        self.placement = placement
        self.measure = measure
        self.clientKey = clientKey
    }
}

/// Time-ordered UUIDs (RFC 9562 version 7): 48 bits of Unix milliseconds, then random bits.
enum UUIDv7 {
    static func make(milliseconds: UInt64 = UInt64(Date().timeIntervalSince1970 * 1000)) -> UUID {
        var bytes = Crypto.randomBytes(16)
        for index in 0..<6 { bytes[index] = UInt8((milliseconds >> (8 * (5 - UInt64(index)))) & 0xFF) }
        bytes[6] = (bytes[6] & 0x0F) | 0x70
        bytes[8] = (bytes[8] & 0x3F) | 0x80
        return UUID(uuid: (bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
                           bytes[8], bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]))
    }
}

/// Writes samples and keeps the per-run totals and per-day rollups equal to their sums, in three statements
/// whatever the batch size (arrays unnested server-side; prepared once per connection). Call inside a
/// transaction. Samples whose client key already exists for their run are skipped and reported as such.
enum SampleWriter {
    /// Inserts `samples`; returns, for each, whether it was new (false: a duplicate client key).
    static func write(_ connection: DatabaseConnection, _ samples: [SampleRecord]) throws -> [Bool] {
        guard !samples.isEmpty else { return [] }
        let m = samples.map(\.measure)
        let inserted = try connection.query("""
            INSERT INTO emission_samples (id, organization_id, run_id, "timestamp", duration_seconds, emissions_kg, emissions_rate,
                cpu_power_w, gpu_power_w, ram_power_w, cpu_energy_kwh, gpu_energy_kwh, ram_energy_kwh, energy_kwh,
                cpu_utilization_percent, gpu_utilization_percent, ram_utilization_percent, water_liters, client_key)
            SELECT * FROM unnest(\(samples.map(\.id))::uuid[], \(samples.map(\.placement.organizationID))::uuid[],
                \(samples.map(\.placement.runID))::uuid[], \(m.map { Date(timeIntervalSince1970: $0.timestamp) })::timestamptz[],
                \(m.map(\.durationSeconds))::float8[], \(m.map(\.emissionsKg))::float8[], \(m.map(\.emissionsRate))::float8[],
                \(m.map(\.cpuPowerW))::float8[], \(m.map(\.gpuPowerW))::float8[], \(m.map(\.ramPowerW))::float8[],
                \(m.map(\.cpuEnergyKWh))::float8[], \(m.map(\.gpuEnergyKWh))::float8[], \(m.map(\.ramEnergyKWh))::float8[],
                \(m.map(\.energyKWh))::float8[], \(m.map(\.cpuUtilization))::float8[], \(m.map(\.gpuUtilization))::float8[],
                \(m.map(\.ramUtilization))::float8[], \(m.map(\.waterLiters))::float8[], \(samples.map(\.clientKey))::text[])
            ON CONFLICT (run_id, client_key) WHERE client_key IS NOT NULL DO NOTHING
            RETURNING id
            """)
        var newIDs = Set<UUID>()
        for row in inserted.rows { newIDs.insert(try row.decode("id")) }
        let fresh = samples.filter { newIDs.contains($0.id) }
        try updateRuns(connection, fresh)
        try updateDays(connection, fresh)
        return samples.map { newIDs.contains($0.id) }
    }

    struct Totals {
        var count = 0
        var duration = 0.0, emissions = 0.0, energy = 0.0, cpu = 0.0, gpu = 0.0, ram = 0.0, water = 0.0

        mutating func add(_ m: SampleMeasure) {
            count += 1
            duration += m.durationSeconds
            emissions += m.emissionsKg
            energy += m.energyKWh
            cpu += m.cpuEnergyKWh
            gpu += m.gpuEnergyKWh
            ram += m.ramEnergyKWh
            water += m.waterLiters
        }
    }

    /// Adds each run's new samples to its totals; the latest sample's powers and timestamp become current.
    static func updateRuns(_ connection: DatabaseConnection, _ samples: [SampleRecord]) throws {
        guard !samples.isEmpty else { return }
        var totals: [UUID: Totals] = [:]
        var latest: [UUID: SampleMeasure] = [:]
        for sample in samples {
            totals[sample.placement.runID, default: Totals()].add(sample.measure)
            if let current = latest[sample.placement.runID], current.timestamp > sample.measure.timestamp { continue }
            latest[sample.placement.runID] = sample.measure
        }
        // A stable order of row locks, so concurrent writers never deadlock.
        let runs = totals.keys.sorted { $0.uuidString < $1.uuidString }
        let t = runs.map { totals[$0]! }
        let l = runs.map { latest[$0]! }
        try connection.query("""
            UPDATE runs r SET sample_count = r.sample_count + d.n, duration_seconds = r.duration_seconds + d.duration,
                emissions_kg = r.emissions_kg + d.emissions, energy_kwh = r.energy_kwh + d.energy,
                cpu_energy_kwh = r.cpu_energy_kwh + d.cpu, gpu_energy_kwh = r.gpu_energy_kwh + d.gpu,
                ram_energy_kwh = r.ram_energy_kwh + d.ram, water_liters = r.water_liters + d.water,
                last_seen_at = greatest(r.last_seen_at, d.seen, now()),
                cpu_power_w = CASE WHEN d.seen >= r.last_seen_at OR r.cpu_power_w IS NULL THEN coalesce(d.cpu_power, r.cpu_power_w) ELSE r.cpu_power_w END,
                gpu_power_w = CASE WHEN d.seen >= r.last_seen_at OR r.gpu_power_w IS NULL THEN coalesce(d.gpu_power, r.gpu_power_w) ELSE r.gpu_power_w END,
                ram_power_w = CASE WHEN d.seen >= r.last_seen_at OR r.ram_power_w IS NULL THEN coalesce(d.ram_power, r.ram_power_w) ELSE r.ram_power_w END
            FROM unnest(\(runs)::uuid[], \(t.map(\.count))::int[], \(t.map(\.duration))::float8[], \(t.map(\.emissions))::float8[],
                        \(t.map(\.energy))::float8[], \(t.map(\.cpu))::float8[], \(t.map(\.gpu))::float8[], \(t.map(\.ram))::float8[],
                        \(t.map(\.water))::float8[], \(l.map { Date(timeIntervalSince1970: $0.timestamp) })::timestamptz[],
                        \(l.map(\.cpuPowerW))::float8[], \(l.map(\.gpuPowerW))::float8[], \(l.map(\.ramPowerW))::float8[])
                 AS d(run_id, n, duration, emissions, energy, cpu, gpu, ram, water, seen, cpu_power, gpu_power, ram_power)
            WHERE r.id = d.run_id
            """)
    }

    /// Adds the new samples to their experiment's UTC-day rollups.
    static func updateDays(_ connection: DatabaseConnection, _ samples: [SampleRecord]) throws {
        guard !samples.isEmpty else { return }
        struct Key: Hashable { let experiment: UUID; let day: String }
        var totals: [Key: Totals] = [:]
        var placements: [UUID: RunPlacement] = [:]
        for sample in samples {
            totals[Key(experiment: sample.placement.experimentID, day: sample.measure.utcDay), default: Totals()].add(sample.measure)
            placements[sample.placement.experimentID] = sample.placement
        }
        let keys = totals.keys.sorted { ($0.experiment.uuidString, $0.day) < ($1.experiment.uuidString, $1.day) }
        let t = keys.map { totals[$0]! }
        let p = keys.map { placements[$0.experiment]! }
        try connection.query("""
            INSERT INTO experiment_days AS x (organization_id, team_id, project_id, experiment_id, day, sample_count, duration_seconds,
                                              emissions_kg, energy_kwh, cpu_energy_kwh, gpu_energy_kwh, ram_energy_kwh, water_liters)
            SELECT * FROM unnest(\(p.map(\.organizationID))::uuid[], \(p.map(\.teamID))::uuid[], \(p.map(\.projectID))::uuid[],
                \(keys.map(\.experiment))::uuid[], \(keys.map(\.day))::date[], \(t.map(\.count))::bigint[], \(t.map(\.duration))::float8[],
                \(t.map(\.emissions))::float8[], \(t.map(\.energy))::float8[], \(t.map(\.cpu))::float8[], \(t.map(\.gpu))::float8[],
                \(t.map(\.ram))::float8[], \(t.map(\.water))::float8[])
            ON CONFLICT (experiment_id, day) DO UPDATE SET
                sample_count = x.sample_count + excluded.sample_count, duration_seconds = x.duration_seconds + excluded.duration_seconds,
                emissions_kg = x.emissions_kg + excluded.emissions_kg, energy_kwh = x.energy_kwh + excluded.energy_kwh,
                cpu_energy_kwh = x.cpu_energy_kwh + excluded.cpu_energy_kwh, gpu_energy_kwh = x.gpu_energy_kwh + excluded.gpu_energy_kwh,
                ram_energy_kwh = x.ram_energy_kwh + excluded.ram_energy_kwh, water_liters = x.water_liters + excluded.water_liters
            """)
    }
}
