import Emissions
import Foundation
import Postgres
import Synchronization

/// Runs and samples arriving from agents: creating runs, finding where a run belongs (cached), and writing
/// samples durably (through the group-commit batcher for single posts).
package final class IngestService: Sendable {
    package let database: ConnectionPool
    package let batcher: SampleBatcher
    private let placements = Mutex<[UUID: RunPlacement]>([:])
    private let metrics: IngestMetrics?

    package init(store: Store, batcher: SampleBatcher, metrics: IngestMetrics? = nil) {
        self.database = store.database
        self.batcher = batcher
        self.metrics = metrics
    }

    /// Counts the samples a committed transaction wrote (run reports and their samples).
    func countCommitted(_ transaction: Transaction?) {
        guard let metrics, let transaction else { return }
        for (records, flags) in transaction.written { metrics.committed(records, written: flags, path: "run_reports") }
    }

    // MARK: Placement

    /// The placement of a run the caller may write to (404 otherwise). Placements never change, so they are
    /// cached; access is checked on every call.
    package func placement(ofRun runID: UUID, for caller: Caller) throws -> RunPlacement {
        if let cached = placements.withLock({ $0[runID] }) {
            if try allowed(caller, cached) { return cached }
            throw AppError.notFound("No such run.")
        }
        guard let row = try database.query("""
            SELECT r.organization_id, r.team_id, r.project_id, r.experiment_id FROM runs r WHERE r.id = \(runID)
            """).first else { throw AppError.notFound("No such run.") }
        let placement = RunPlacement(
            organizationID: try row.decode("organization_id"), teamID: try row.decode("team_id"),
            projectID: try row.decode("project_id"), experimentID: try row.decode("experiment_id"), runID: runID)
        placements.withLock { cache in
            if cache.count > 200_000 { cache.removeAll() }
            cache[runID] = placement
        }
        guard try allowed(caller, placement) else { throw AppError.notFound("No such run.") }
        return placement
    }

    /// The cached placement of a run a project token may write to; nil when the database would be needed.
    package func cachedPlacement(ofRun runID: UUID, for caller: Caller) -> RunPlacement? {
        guard case .project(let projectID, let organizationID, _) = caller.identity,
              let placement = placements.withLock({ $0[runID] }) else { return nil }
        return placement.projectID == projectID && placement.organizationID == organizationID ? placement : nil
    }

    package func forget(runID: UUID) { _ = placements.withLock { $0.removeValue(forKey: runID) } }

    private func allowed(_ caller: Caller, _ placement: RunPlacement) throws -> Bool {
        switch caller.identity {
        case .anonymous: return false
        case .project(let projectID, let organizationID, _):
            return projectID == placement.projectID && organizationID == placement.organizationID
        case .user:
            return try database.query("""
                SELECT 1 FROM teams t WHERE t.id = \(placement.teamID)
                  AND \(Access.team(caller, organizationColumn: "t.organization_id", teamColumn: "t.id"))
                """).rowCount > 0
        }
    }

    // MARK: Runs

    /// Creates a run in an experiment the caller can write to, recorded in the audit trail; returns its row.
    package static func createRun(
        _ connection: DatabaseConnection, caller: Caller, experimentID: UUID, startedAt: Date, endedAt: Date? = nil,
        machine: Machine, source: String, clientKey: String?, audited: Bool = true
    ) throws -> Row {
        try caller.requireWrite()
        guard let experiment = try connection.query("""
            SELECT e.organization_id, e.team_id, e.project_id, e.country_name, e.country_iso_code, e.region, e.cloud_provider, e.cloud_region
            FROM experiments e WHERE e.id = \(experimentID) AND \(Store.projectAccess(caller, "e", idColumn: "project_id"))
            """).first else { throw AppError(.notFound, code: "not_found", "No such experiment, or the token does not cover it.", field: "experiment_id") }
        let row = try connection.query("""
            INSERT INTO runs AS r (organization_id, team_id, project_id, experiment_id, source, client_key, started_at, ended_at, last_seen_at,
                              os, python_version, codecarbon_version, cpu_count, cpu_model, gpu_count, gpu_model, longitude, latitude,
                              region, provider, country_name, country_iso_code, cloud_provider, cloud_region, ram_total_size, tracking_mode)
            VALUES (\(try experiment.decode("organization_id", as: UUID.self)), \(try experiment.decode("team_id", as: UUID.self)),
                    \(try experiment.decode("project_id", as: UUID.self)), \(experimentID), \(source), \(clientKey), \(startedAt), \(endedAt),
                    greatest(\(startedAt)::timestamptz, coalesce(\(endedAt)::timestamptz, \(startedAt)::timestamptz)),
                    \(machine.os), \(machine.pythonVersion), \(machine.codecarbonVersion), \(machine.cpuCount), \(machine.cpuModel),
                    \(machine.gpuCount), \(machine.gpuModel), \(machine.longitude), \(machine.latitude),
                    coalesce(\(machine.region), \(try experiment.decode("region", as: String?.self))), \(machine.provider),
                    coalesce(\(machine.countryName), \(try experiment.decode("country_name", as: String?.self))),
                    coalesce(\(machine.countryISOCode), \(try experiment.decode("country_iso_code", as: String?.self))),
                    coalesce(\(machine.cloudProvider), \(try experiment.decode("cloud_provider", as: String?.self))),
                    coalesce(\(machine.cloudRegion), \(try experiment.decode("cloud_region", as: String?.self))),
                    \(machine.ramTotalSize), \(machine.trackingMode))
            RETURNING \(unsafeSQL: Representation.runColumns)
            """).first!
        // An import's runs are part of its one entry (`samples.import`); `audited` is false for them.
        guard audited else { return row }
        let runID: UUID = try row.decode("id")
        try Audit.record(connection, AuditActor(caller), .runCreate, organization: try experiment.decode("organization_id"),
                         object: AuditObject("run", runID, String(runID.lowercaseText.prefix(8))),
                         new: [("experiment_id", experimentID.lowercaseText), ("source", source)])
        return row
    }

    package static func placement(of row: Row) throws -> RunPlacement {
        RunPlacement(organizationID: try row.decode("organization_id"), teamID: try row.decode("team_id"),
                     projectID: try row.decode("project_id"), experimentID: try row.decode("experiment_id"),
                     runID: try row.decode("id"))
    }

    // MARK: Samples

    /// One sample, durably, through group commit; returns its id.
    package func writeOne(_ measure: SampleMeasure, placement: RunPlacement) throws -> UUID {
        let record = SampleRecord(placement: placement, measure: measure, clientKey: nil)
        do {
            _ = try batcher.write([record])
        } catch {
            throw failure(error, placement: placement)
        }
        return record.id
    }

    /// Queues one sample for the next group commit; `done` runs on a writer thread once it is durable, or with
    /// the error (a run deleted meanwhile is a 404).
    package func submit(_ measure: SampleMeasure, placement: RunPlacement, done: @escaping @Sendable (Result<UUID, any Error>) -> Void) {
        let record = SampleRecord(placement: placement, measure: measure, clientKey: nil)
        batcher.submit([record]) { [self] result in
            switch result {
            case .success: done(.success(record.id))
            case .failure(let error): done(.failure(failure(error, placement: placement)))
            }
        }
    }

    /// A write's error as the caller should see it: a run deleted meanwhile is a 404 (and leaves the cache).
    package func failure(_ error: any Error, placement: RunPlacement) -> any Error {
        guard let database = error as? DatabaseError, database.isForeignKeyViolation else { return error }
        forget(runID: placement.runID)
        return AppError.notFound("No such run.")
    }
}
