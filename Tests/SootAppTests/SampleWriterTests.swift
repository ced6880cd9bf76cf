import Dispatch
import Emissions
import Foundation
import Postgres
@testable import SootApp
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

    func sample(_ placement: RunPlacement, energy: Double = 0.25) -> SampleRecord {
        SampleRecord(placement: placement, measure: SampleMeasure(
            timestamp: Date().timeIntervalSince1970, durationSeconds: 10, emissionsKg: energy / 4, emissionsRate: nil, cpuPowerW: 40,
            gpuPowerW: nil, ramPowerW: 5, cpuEnergyKWh: energy, gpuEnergyKWh: 0, ramEnergyKWh: 0, energyKWh: energy,
            cpuUtilization: nil, gpuUtilization: nil, ramUtilization: nil, waterLiters: 0), clientKey: nil)
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

    @Test func aMissingRunFailsTheWholeBatchLikeAForeignKey() throws {
        try TestDatabase.withPool { pool, _ in
            let runs = try makeRuns(pool, runs: 2)
            try pool.query("DELETE FROM runs WHERE id = \(runs[1].runID)")
            do {
                _ = try pool.withConnection { try SampleWriter.write($0, [sample(runs[0]), sample(runs[1])]) }
                Issue.record("a sample of a deleted run was accepted")
            } catch let error as DatabaseError {
                #expect(error.isForeignKeyViolation)
            }
            #expect(try count(pool, "SELECT count(*) AS n FROM emission_samples") == 0)
            #expect(try count(pool, "SELECT sample_count AS n FROM runs WHERE id = \(runs[0].runID)") == 0)
            // The run that exists takes its sample alone, with its totals and rollup.
            let written = try pool.withConnection { try SampleWriter.write($0, [sample(runs[0])]) }
            #expect(written == [true])
            #expect(try count(pool, "SELECT sample_count AS n FROM runs WHERE id = \(runs[0].runID)") == 1)
            #expect(try count(pool, "SELECT sum(sample_count)::int AS n FROM experiment_days") == 1)
        }
    }

    @Test func deletingAnOrganizationDeletesItsSamplesAndNoOtherOrganizations() throws {
        try TestDatabase.withPool { pool, _ in
            let acme = try makeRuns(pool, organization: "Acme", runs: 3)
            let other = try makeRuns(pool, organization: "Other", runs: 1)
            _ = try pool.withConnection { try SampleWriter.write($0, (acme + other).flatMap { [sample($0), sample($0)] }) }
            #expect(try count(pool, "SELECT count(*) AS n FROM emission_samples") == 8)
            try pool.query("DELETE FROM organizations WHERE id = \(acme[0].organizationID)")
            #expect(try count(pool, "SELECT count(*) AS n FROM emission_samples") == 2)
            #expect(try count(pool, "SELECT count(*) AS n FROM emission_samples WHERE organization_id = \(other[0].organizationID)") == 2)
            #expect(try orphans(pool) == 0)
        }
    }

    /// A delete that started first: the write waits for it, then finds the run gone and writes nothing.
    @Test func aWriteWaitingForADeleteFailsAndLeavesNoSample() throws {
        try TestDatabase.withPool { pool, url in
            let runs = try makeRuns(pool, runs: 1)
            let deleter = try DatabaseConnection(url: url)
            defer { deleter.close() }
            try deleter.execute("BEGIN")
            try deleter.query("DELETE FROM runs WHERE id = \(runs[0].runID)")
            let outcome = OutcomeBox()
            let finished = DispatchSemaphore(value: 0)
            Thread {
                outcome.set(Result { try pool.withConnection { try SampleWriter.write($0, [self.sample(runs[0])]) } })
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
    @Test func aDeleteWaitingForAWriteDeletesItsSamples() throws {
        try TestDatabase.withPool { pool, url in
            let runs = try makeRuns(pool, runs: 1)
            let writer = try DatabaseConnection(url: url)
            defer { writer.close() }
            try writer.execute("BEGIN")
            #expect(try SampleWriter.write(writer, [sample(runs[0]), sample(runs[0])]) == [true, true])
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
