import Emissions
import Foundation
import HTTPServer
import Postgres
import Synchronization

/// Runs and samples arriving from agents: creating runs, finding where a run belongs (cached), and writing
/// samples durably (through the group-commit batcher for single posts).
public final class IngestService: Sendable {
    let database: ConnectionPool
    let batcher: SampleBatcher
    private let placements = Mutex<[UUID: RunPlacement]>([:])

    init(database: ConnectionPool, batcher: SampleBatcher) {
        self.database = database
        self.batcher = batcher
    }

    // MARK: Placement

    /// The placement of a run the caller may write to (404 otherwise). Placements never change, so they are
    /// cached; access is checked on every call.
    func placement(ofRun runID: UUID, for caller: Caller) throws -> RunPlacement {
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
    func cachedPlacement(ofRun runID: UUID, for caller: Caller) -> RunPlacement? {
        guard case .project(let projectID, let organizationID, _) = caller.identity,
              let placement = placements.withLock({ $0[runID] }) else { return nil }
        return placement.projectID == projectID && placement.organizationID == organizationID ? placement : nil
    }

    func forget(runID: UUID) { _ = placements.withLock { $0.removeValue(forKey: runID) } }

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

    /// Creates a run in an experiment the caller can write to; returns its row.
    static func createRun(
        _ connection: DatabaseConnection, caller: Caller, experimentID: UUID, startedAt: Date, endedAt: Date? = nil,
        machine: SampleParsing.Machine, source: String, clientKey: String?
    ) throws -> Row {
        try caller.requireWrite()
        guard let experiment = try connection.query("""
            SELECT e.organization_id, e.team_id, e.project_id, e.country_name, e.country_iso_code, e.region, e.cloud_provider, e.cloud_region
            FROM experiments e WHERE e.id = \(experimentID) AND \(Store.projectAccess(caller, "e", idColumn: "project_id"))
            """).first else { throw AppError(.notFound, code: "not_found", "No such experiment, or the token does not cover it.", field: "experiment_id") }
        return try connection.query("""
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
    }

    static func placement(of row: Row) throws -> RunPlacement {
        RunPlacement(organizationID: try row.decode("organization_id"), teamID: try row.decode("team_id"),
                     projectID: try row.decode("project_id"), experimentID: try row.decode("experiment_id"),
                     runID: try row.decode("id"))
    }

    // MARK: Samples

    /// One sample through group commit, answered when committed: 201 with the sample's id, or the error.
    func acceptLater(_ measure: SampleMeasure, placement: RunPlacement, request: Request) -> Response {
        let record = SampleRecord(placement: placement, measure: measure, clientKey: nil)
        // Errors are shaped by the request's head alone; the body is not kept until the commit.
        let head = request.head
        return .later { [self] promise in
            batcher.submit([record]) { result in
                switch result {
                case .success:
                    promise.succeed(Self.created(record.id))
                case .failure(let error as DatabaseError) where error.isForeignKeyViolation:
                    self.forget(runID: placement.runID)
                    promise.succeed(AppError.notFound("No such run.").response(for: Request(head: head)))
                case .failure(let error as HTTPResponseError):
                    promise.succeed(error.response(for: Request(head: head)))
                case .failure:
                    promise.succeed(AppError(.internalServerError, code: "internal", "Something went wrong on our side.").response(for: Request(head: head)))
                }
            }
        }
    }

    /// 201 with the sample's id as a JSON string, like `.json(.id(id), status: .created)` but written directly
    /// (one per ingested sample; a UUID's text never needs escaping).
    static func created(_ id: UUID) -> Response {
        let bytes = [UInt8](unsafeUninitializedCapacity: 38) { out, count in
            out[0] = UInt8(ascii: "\"")
            id.writeLowercaseText(into: UnsafeMutableRawBufferPointer(UnsafeMutableBufferPointer(rebasing: out[1..<37])))
            out[37] = UInt8(ascii: "\"")
            count = 38
        }
        return .json(bytes: bytes, status: .created)
    }

    /// One sample, durably, through group commit; returns its id.
    func writeOne(_ measure: SampleMeasure, placement: RunPlacement) throws -> UUID {
        let record = SampleRecord(placement: placement, measure: measure, clientKey: nil)
        do {
            _ = try batcher.write([record])
        } catch let error as DatabaseError where error.isForeignKeyViolation {
            forget(runID: placement.runID)
            throw AppError.notFound("No such run.")
        }
        return record.id
    }
}
