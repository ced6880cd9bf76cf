import Dispatch
import Emissions
import Foundation
import Postgres
@testable import SootStore
@testable import SootWeb
import TestSupport
import Testing

/// Samples have no foreign key to their run (migration 0006): the writing statement locks the runs itself and a
/// trigger deletes the samples of deleted runs. These check that no sample is ever left without its run, in
/// either order of a write racing a delete, and that a missing run fails the write as the constraint did.
@Suite struct SampleWriterTests {
    /// An organization with one experiment and `runs` runs in it; the placements of those runs.
    func makeRuns(_ pool: ConnectionPool, organization: String = "Acme", runs: Int) throws -> [RunPlacement] {
        let boot = try Bootstrap.run(pool, .init(organization: organization, team: "ML", project: "Vision", experiment: "Default",
                                                 email: "owner@\(organization.lowercased()).test"))
        let experimentID = UUID(uuidString: boot["experiment_id"]!.stringValue!)!
        return try (0..<runs).map { _ in
            try IngestService.placement(of: try pool.query("""
                INSERT INTO runs (organization_id, team_id, project_id, experiment_id, started_at)
                SELECT organization_id, team_id, project_id, id, now() FROM experiments WHERE id = \(experimentID)
                RETURNING id, organization_id, team_id, project_id, experiment_id
                """).first!)
        }
    }

    /// A sample of the run; `keyed` gives it a client key, which sends the batch down the other of the writer's
    /// two statements (see `SampleWriter.write`): each test here runs with both.
    func sample(_ placement: RunPlacement, energy: Double = 0.25, keyed: Bool = false) -> SampleRecord {
        SampleRecord(placement: placement, measure: SampleMeasure(
            timestamp: Date().timeIntervalSince1970, durationSeconds: 10, emissionsKg: energy / 4, emissionsRate: nil, cpuPowerW: 40,
            gpuPowerW: nil, ramPowerW: 5, cpuEnergyKWh: energy, gpuEnergyKWh: 0, ramEnergyKWh: 0, energyKWh: energy,
            cpuUtilization: nil, gpuUtilization: nil, ramUtilization: nil, waterLiters: 0), clientKey: keyed ? UUID().uuidString : nil)
    }

    func count(_ pool: ConnectionPool, _ sql: SQLQuery) throws -> Int { try pool.query(sql).first!.decode("n", as: Int.self) }

    func orphans(_ pool: ConnectionPool) throws -> Int {
        try count(pool, "SELECT count(*) AS n FROM emission_samples s WHERE NOT EXISTS (SELECT 1 FROM runs r WHERE r.id = s.run_id)")
    }

    /// Waits until another session is blocked on a lock (so the race is really set up), at most 5 s.
    func waitForALockWait(_ pool: ConnectionPool) throws {
        for _ in 0..<500 {
            if try count(pool, "SELECT count(*) AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock'") > 0 { return }
            usleep(10_000)
        }
        Issue.record("no session ever waited for the lock")
    }

    @Test(arguments: [false, true]) func aMissingRunFailsTheWholeBatchLikeAForeignKey(keyed: Bool) throws {
        try TestDatabase.withPool { pool, _ in
            let runs = try makeRuns(pool, runs: 2)
            try pool.query("DELETE FROM runs WHERE id = \(runs[1].runID)")
            do {
                _ = try pool.withConnection { try SampleWriter.write($0, [sample(runs[0], keyed: keyed), sample(runs[1], keyed: keyed)]) }
                Issue.record("a sample of a deleted run was accepted")
            } catch let error as DatabaseError {
                #expect(error.isForeignKeyViolation)
            }
            #expect(try count(pool, "SELECT count(*) AS n FROM emission_samples") == 0)
            #expect(try count(pool, "SELECT sample_count AS n FROM runs WHERE id = \(runs[0].runID)") == 0)
            // The run that exists takes its sample alone, with its totals and rollup.
            let written = try pool.withConnection { try SampleWriter.write($0, [sample(runs[0], keyed: keyed)]) }
            #expect(written == [true])
            #expect(try count(pool, "SELECT sample_count AS n FROM runs WHERE id = \(runs[0].runID)") == 1)
            #expect(try count(pool, "SELECT sum(sample_count)::int AS n FROM experiment_days") == 1)
        }
    }

    @Test(arguments: [false, true]) func deletingAnOrganizationDeletesItsSamplesAndNoOtherOrganizations(keyed: Bool) throws {
        try TestDatabase.withPool { pool, _ in
            let acme = try makeRuns(pool, organization: "Acme", runs: 3)
            let other = try makeRuns(pool, organization: "Other", runs: 1)
            _ = try pool.withConnection { try SampleWriter.write($0, (acme + other).flatMap { [sample($0, keyed: keyed), sample($0, keyed: keyed)] }) }
            #expect(try count(pool, "SELECT count(*) AS n FROM emission_samples") == 8)
            try pool.query("DELETE FROM organizations WHERE id = \(acme[0].organizationID)")
            #expect(try count(pool, "SELECT count(*) AS n FROM emission_samples") == 2)
            #expect(try count(pool, "SELECT count(*) AS n FROM emission_samples WHERE organization_id = \(other[0].organizationID)") == 2)
            #expect(try orphans(pool) == 0)
        }
    }

    /// Unkeyed batches (live ingestion) sum the run totals and daily rollups in Swift; keyed ones sum what the
    /// insert returned, in the server. The same samples through each must leave the same totals and rollups:
    /// several samples of a run in one batch, out of time order (the latest one's power wins), a missing GPU power
    /// (the run keeps the one it had), two UTC days, and timestamps a fraction of a microsecond before midnight,
    /// which PostgreSQL rounds into the next day.
    @Test func bothStatementsKeepTheSameTotalsAndRollups() throws {
        try TestDatabase.withPool { pool, _ in
            let unkeyed = try makeRuns(pool, organization: "Acme", runs: 3)
            let keyed = try makeRuns(pool, organization: "Other", runs: 3)
            let midnight = (Date().timeIntervalSince1970 / 86_400).rounded(.down) * 86_400 - 86_400
            // (run, seconds from midnight, energy kWh, CPU W, GPU W)
            let plan: [(Int, Double, Double, Double?, Double?)] = [
                (0, -3600, 0.1, 40, 100), (0, -0.000_000_2, 0.2, 41, nil), (1, 10, 0.3, 42, 7), (0, -7200, 0.05, 39, 3),
                (2, -0.000_000_9, 0.125, nil, 5), (1, 20, 0.7, 43, nil), (2, 5, 0.01, 44, 6), (1, -30, 0.33, 45, 8),
            ]
            func records(_ runs: [RunPlacement], keyed: Bool) -> [SampleRecord] {
                plan.map { run, offset, energy, cpu, gpu in
                    SampleRecord(placement: runs[run], measure: SampleMeasure(
                        timestamp: midnight + offset, durationSeconds: 15 + offset.magnitude.truncatingRemainder(dividingBy: 7),
                        emissionsKg: energy * 0.37, emissionsRate: energy / 15, cpuPowerW: cpu, gpuPowerW: gpu, ramPowerW: 3.5,
                        cpuEnergyKWh: energy * 0.6, gpuEnergyKWh: energy * 0.3, ramEnergyKWh: energy * 0.1, energyKWh: energy,
                        cpuUtilization: 50, gpuUtilization: nil, ramUtilization: 20, waterLiters: energy * 1.8),
                        clientKey: keyed ? UUID().uuidString : nil)
                }
            }
            for (runs, isKeyed) in [(unkeyed, false), (keyed, true)] {
                let all = records(runs, keyed: isKeyed)
                let first = try pool.withConnection { try SampleWriter.write($0, Array(all[0..<3])) }
                let second = try pool.withConnection { try SampleWriter.write($0, Array(all[3...])) }
                #expect(first + second == Array(repeating: true, count: all.count))
            }
            func totals(_ run: RunPlacement) throws -> String? {
                try pool.query("""
                    SELECT concat_ws('|', sample_count, duration_seconds, emissions_kg, energy_kwh, cpu_energy_kwh, gpu_energy_kwh,
                                     ram_energy_kwh, water_liters, first_sample_at, last_sample_at, cpu_power_w, gpu_power_w, ram_power_w) AS t
                    FROM runs WHERE id = \(run.runID)
                    """).first!.decode("t")
            }
            func rollups(_ run: RunPlacement) throws -> [String] {
                try pool.query("""
                    SELECT concat_ws('|', day, sum(sample_count), sum(duration_seconds), sum(emissions_kg), sum(energy_kwh),
                                     sum(cpu_energy_kwh), sum(gpu_energy_kwh), sum(ram_energy_kwh), sum(water_liters)) AS t
                    FROM experiment_days WHERE experiment_id = \(run.experimentID) GROUP BY day ORDER BY day
                    """).rows.map { try $0.decode("t") }
            }
            for index in 0..<3 { #expect(try totals(unkeyed[index]) == totals(keyed[index])) }
            #expect(try rollups(unkeyed[0]) == rollups(keyed[0]))
            // Each sample counted on its day as PostgreSQL sees its timestamp: 0.2 µs before midnight is rounded
            // into the next day, 0.9 µs before it stays in its own.
            let days = try pool.query("""
                SELECT concat_ws('|', day, count(*)) AS t
                FROM (SELECT ("timestamp" AT TIME ZONE 'UTC')::date AS day FROM emission_samples
                      WHERE organization_id = \(unkeyed[0].organizationID)) s
                GROUP BY day ORDER BY day
                """).rows.map { try $0.decode("t", as: String.self) }
            #expect(try rollups(unkeyed[0]).map { $0.split(separator: "|").prefix(2).joined(separator: "|") } == days)
            #expect(days.map { $0.split(separator: "|")[1] } == ["4", "4"])
            // Run 0's power is its first batch's latest sample's (41 W), not the older one of the second batch;
            // that latest sample had no GPU power, so the GPU power is the second batch's (3 W).
            let run0 = try pool.query("SELECT cpu_power_w, gpu_power_w FROM runs WHERE id = \(unkeyed[0].runID)").first!
            #expect(try run0.decode("cpu_power_w", as: Double.self) == 41)
            #expect(try run0.decode("gpu_power_w", as: Double.self) == 3)
            // And the totals are the sums of the samples written.
            #expect(try count(pool, """
                SELECT count(*) AS n FROM runs r JOIN (SELECT run_id, count(*) AS c, sum(energy_kwh) AS e FROM emission_samples GROUP BY run_id) s
                    ON s.run_id = r.id
                WHERE r.sample_count = s.c AND abs(r.energy_kwh - s.e) <= 1e-12
                """) == 6)
        }
    }

    /// A delete that started first: the write waits for it, then finds the run gone and writes nothing.
    @Test(arguments: [false, true]) func aWriteWaitingForADeleteFailsAndLeavesNoSample(keyed: Bool) throws {
        try TestDatabase.withPool { pool, url in
            let runs = try makeRuns(pool, runs: 1)
            let deleter = try DatabaseConnection(url: url)
            defer { deleter.close() }
            try deleter.execute("BEGIN")
            try deleter.query("DELETE FROM runs WHERE id = \(runs[0].runID)")
            let outcome = OutcomeBox()
            let finished = DispatchSemaphore(value: 0)
            Thread {
                outcome.set(Result { try pool.withConnection { try SampleWriter.write($0, [self.sample(runs[0], keyed: keyed)]) } })
                finished.signal()
            }.start()
            try waitForALockWait(pool)
            try deleter.execute("COMMIT")
            finished.wait()
            #expect(throws: DatabaseError.self) { try outcome.get().get() }
            #expect(try count(pool, "SELECT count(*) AS n FROM emission_samples") == 0)
        }
    }

    /// A write that locked the run first: the delete waits for its commit, then deletes the new samples too.
    @Test(arguments: [false, true]) func aDeleteWaitingForAWriteDeletesItsSamples(keyed: Bool) throws {
        try TestDatabase.withPool { pool, url in
            let runs = try makeRuns(pool, runs: 1)
            let writer = try DatabaseConnection(url: url)
            defer { writer.close() }
            try writer.execute("BEGIN")
            #expect(try SampleWriter.write(writer, [sample(runs[0], keyed: keyed), sample(runs[0], keyed: keyed)]) == [true, true])
            let finished = DispatchSemaphore(value: 0)
            let outcome = OutcomeBox()
            Thread {
                outcome.set(Result { try pool.query("DELETE FROM runs WHERE id = \(runs[0].runID)").rowCount.description })
                finished.signal()
            }.start()
            try waitForALockWait(pool)
            try writer.execute("COMMIT")
            finished.wait()
            _ = try outcome.get().get()
            #expect(try count(pool, "SELECT count(*) AS n FROM emission_samples") == 0)
            #expect(try orphans(pool) == 0)
        }
    }
}

final class OutcomeBox: @unchecked Sendable {
    // Safety: set once by the thread before it signals; read after the wait.
    private var value: Result<Any, Error>?
    func set<T>(_ result: Result<T, Error>) { value = result.map { $0 as Any } }
    func get() -> Result<Any, Error> { value! }
}
