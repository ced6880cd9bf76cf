import Emissions
import Foundation
import Postgres

/// A transaction the web layer can hold but not query: store calls that take one run inside it.
package final class Transaction {
    let connection: DatabaseConnection
    /// What the work wrote, counted for metrics once the transaction has committed.
    var written: [(records: [SampleRecord], flags: [Bool])] = []

    init(connection: DatabaseConnection) { self.connection = connection }
}

/// The names that find (or make) an experiment: organization, team and project must exist and be writable by
/// the caller; the experiment is created when missing.
package struct ExperimentNames: Sendable {
    package let organization: String, team: String, project: String, experiment: String

    package init(organization: String, team: String, project: String, experiment: String) {
        (self.organization, self.team, self.project, self.experiment) = (organization, team, project, experiment)
    }
}

/// An agent's answer stored under an `Idempotency-Key`: its status and JSON body.
package struct StoredAnswer: Sendable {
    package let status: Int
    package let body: [UInt8]
    /// True when this is the stored answer to an earlier request with the key.
    package let replayed: Bool

    package init(status: Int, body: [UInt8], replayed: Bool = false) {
        (self.status, self.body, self.replayed) = (status, body, replayed)
    }
}

extension IngestService {
    /// Creates a run in an experiment the caller can write to.
    package func createRun(_ caller: Caller, experimentID: UUID, startedAt: Date, machine: Machine, source: String) throws -> RunRecord {
        try database.withConnection { connection in
            try RunRecord(IngestService.createRun(connection, caller: caller, experimentID: experimentID, startedAt: startedAt,
                                                  machine: machine, source: source, clientKey: nil))
        }
    }

    /// Runs `work` in a transaction, exactly once per `key` of the caller's credential: the first answer is stored
    /// with the work, in the same transaction, and replayed for every retry. A second copy arriving while the first
    /// still runs waits on the key's row lock, then replays. Reusing a key for a different request (`fingerprint`)
    /// is a 422 naming `header`. Without a key, the work just runs in a transaction.
    package func idempotently(_ caller: Caller, key: String?, header: String, fingerprint: String,
                              _ work: (Transaction) throws -> StoredAnswer) throws -> StoredAnswer {
        guard let key else {
            var transaction: Transaction?
            let answer = try database.transaction { connection in
                let opened = Transaction(connection: connection)
                transaction = opened
                return try work(opened)
            }
            countCommitted(transaction)
            return answer
        }
        guard !key.isEmpty, key.count <= 200 else {
            throw AppError.invalid(header, "\(header) must have 1 to 200 characters.")
        }
        let scope = IngestService.idempotencyScope(caller)
        var transaction: Transaction?
        defer { countCommitted(transaction) }
        return try database.transaction { connection in
            let claimed = try connection.query("""
                INSERT INTO idempotency_keys (scope, key, request_hash, status, response) VALUES (\(scope), \(key), \(fingerprint), 0, '')
                ON CONFLICT (scope, key) DO NOTHING RETURNING key
                """).rowCount > 0
            if !claimed {
                let row = try connection.query("""
                    SELECT request_hash, status, response FROM idempotency_keys WHERE scope = \(scope) AND key = \(key)
                    """).first!
                guard try row.decode("request_hash", as: String.self) == fingerprint else {
                    throw AppError.invalid(header, "This \(header) was already used for a different request.")
                }
                return StoredAnswer(status: try row.decode("status"), body: Array(try row.decode("response", as: String.self).utf8), replayed: true)
            }
            let opened = Transaction(connection: connection)
            let answer = try work(opened)
            transaction = opened
            try connection.query("""
                UPDATE idempotency_keys SET status = \(answer.status), response = \(String(decoding: answer.body, as: UTF8.self))
                WHERE scope = \(scope) AND key = \(key)
                """)
            return answer
        }
    }

    /// The scope idempotency keys live in: the credential that sent them, so two clients never collide.
    static func idempotencyScope(_ caller: Caller) -> String {
        switch caller.credential {
        case .personalToken(let id), .projectToken(let id): return "token:\(id.uuidString.lowercased())"
        case .session: return "user:\(caller.userID?.uuidString.lowercased() ?? "-")"
        case .none: return "anonymous"
        }
    }

    /// A whole run report: the run (found again by its client key, or created in the experiment given by id or by
    /// names) and its samples. Returns whether it was created, and the run as stored.
    package func report(
        _ transaction: Transaction, _ caller: Caller, experimentID: UUID?, names: ExperimentNames?, clientRunID: String?,
        startedAt: Date, endedAt: Date?, machine: Machine, samples: [(SampleMeasure, String?)]
    ) throws -> (created: Bool, run: RunRecord) {
        let connection = transaction.connection
        let experimentID = try experimentID ?? IngestService.experiment(connection, caller: caller, names!)
        if let key = clientRunID, let existing = try connection.query("""
            SELECT \(unsafeSQL: Representation.runColumns) FROM runs r
            WHERE r.experiment_id = \(experimentID) AND r.client_key = \(key)
              AND \(Store.projectAccess(caller, "r", idColumn: "project_id"))
            """).first {
            return (false, try RunRecord(existing))
        }
        let row = try IngestService.createRun(connection, caller: caller, experimentID: experimentID, startedAt: startedAt,
                                              endedAt: endedAt, machine: machine, source: "api", clientKey: clientRunID)
        let placement = try IngestService.placement(of: row)
        let records = samples.map { SampleRecord(placement: placement, measure: $0.0, clientKey: $0.1) }
        transaction.written.append((records, try SampleWriter.write(connection, records)))
        let run = try connection.query("""
            SELECT \(unsafeSQL: Representation.runColumns) FROM runs r WHERE r.id = \(placement.runID)
            """).first!
        return (true, try RunRecord(run))
    }

    /// A batch of samples of a run: each sample's id, and whether it was new (false: its key was seen before).
    package func write(_ transaction: Transaction, _ samples: [(SampleMeasure, String?)], placement: RunPlacement) throws -> [(id: UUID, fresh: Bool)] {
        let records = samples.map { SampleRecord(placement: placement, measure: $0.0, clientKey: $0.1) }
        let fresh = try SampleWriter.write(transaction.connection, records)
        transaction.written.append((records, fresh))
        try transaction.connection.query("""
            UPDATE runs SET ended_at = greatest(ended_at, last_seen_at) WHERE id = \(placement.runID) AND ended_at IS NOT NULL
            """)
        return zip(records, fresh).map { ($0.id, $1) }
    }

    /// An experiment by organization, team, project and experiment names, created if the experiment alone is
    /// missing and the caller may write to the project.
    static func experiment(_ connection: DatabaseConnection, caller: Caller, _ names: ExperimentNames) throws -> UUID {
        guard let project = try connection.query("""
            SELECT p.id, p.organization_id, p.team_id FROM projects p
            JOIN teams t ON t.id = p.team_id JOIN organizations o ON o.id = p.organization_id
            WHERE lower(o.name) = lower(\(names.organization)) AND lower(t.name) = lower(\(names.team)) AND lower(p.name) = lower(\(names.project))
              AND \(Store.projectAccess(caller))
            """).first else {
            throw AppError(.notFound, code: "not_found", "No project \(names.project) in team \(names.team) of \(names.organization) that you can write to.",
                           field: "project")
        }
        let projectID: UUID = try project.decode("id")
        if let existing = try connection.query("SELECT id FROM experiments WHERE project_id = \(projectID) AND lower(name) = lower(\(names.experiment))").first {
            return try existing.decode("id")
        }
        let organizationID: UUID = try project.decode("organization_id")
        let made = try connection.query("""
            INSERT INTO experiments (organization_id, team_id, project_id, name)
            VALUES (\(organizationID), \(try project.decode("team_id", as: UUID.self)), \(projectID), \(names.experiment))
            ON CONFLICT (organization_id, project_id, (lower(name))) DO UPDATE SET name = experiments.name
            RETURNING id, xmax = 0 AS inserted
            """).first!
        let id: UUID = try made.decode("id")
        if try made.decode("inserted", as: Bool.self) {
            try Audit.record(connection, AuditActor(caller), .experimentCreate, organization: organizationID,
                             object: AuditObject("experiment", id, names.experiment), new: [("project_id", projectID.lowercaseText)])
        }
        return id
    }

    /// CodeCarbon's `emissions_endpoint` report: cumulative figures of the run `runKey` of a project. The difference
    /// from what is stored becomes one sample, so totals stay sums of samples and a repeated report adds nothing.
    /// Returns the run's id.
    package func recordCumulative(
        _ caller: Caller, projectID: UUID, runKey: String, experimentKey: String?, projectName: String,
        cumulative: SampleMeasure, timestamp: Date, machine: Machine
    ) throws -> UUID {
        try database.transaction { connection -> UUID in
            // Serialise reports of the same run (a flush and a stop may race).
            try connection.query("SELECT pg_advisory_xact_lock(hashtext(\(projectID.uuidString + runKey)))")
            var experimentID: UUID?
            if let key = experimentKey, let id = UUID(uuidString: key) {
                experimentID = try connection.query("SELECT id FROM experiments WHERE id = \(id) AND project_id = \(projectID)").first?.decode("id")
            }
            if experimentID == nil {
                let made = try connection.query("""
                    INSERT INTO experiments (organization_id, team_id, project_id, name)
                    SELECT organization_id, team_id, id, \(projectName) FROM projects WHERE id = \(projectID)
                    ON CONFLICT (organization_id, project_id, (lower(name))) DO UPDATE SET name = experiments.name
                    RETURNING id, organization_id, xmax = 0 AS inserted
                    """).first!
                experimentID = try made.decode("id")
                if try made.decode("inserted", as: Bool.self) {
                    try Audit.record(connection, AuditActor(caller), .experimentCreate, organization: try made.decode("organization_id"),
                                     object: AuditObject("experiment", experimentID, projectName), new: [("project_id", projectID.lowercaseText)])
                }
            }
            let existing = try connection.query("""
                SELECT \(unsafeSQL: Representation.runColumns) FROM runs r
                WHERE r.experiment_id = \(experimentID!) AND r.client_key = \(runKey) FOR UPDATE
                """).first
            let row = try existing ?? IngestService.createRun(
                connection, caller: caller, experimentID: experimentID!,
                startedAt: timestamp.addingTimeInterval(-cumulative.durationSeconds), endedAt: timestamp, machine: machine,
                source: "codecarbon", clientKey: runKey)
            let placement = try IngestService.placement(of: row)
            func stored(_ column: String) throws -> Double { try row.decode(column, as: Double.self) }
            let delta = SampleMeasure(
                timestamp: cumulative.timestamp,
                durationSeconds: max(0, cumulative.durationSeconds - (try stored("duration_seconds"))),
                emissionsKg: max(0, cumulative.emissionsKg - (try stored("emissions_kg"))),
                emissionsRate: cumulative.emissionsRate, cpuPowerW: cumulative.cpuPowerW, gpuPowerW: cumulative.gpuPowerW,
                ramPowerW: cumulative.ramPowerW,
                cpuEnergyKWh: max(0, cumulative.cpuEnergyKWh - (try stored("cpu_energy_kwh"))),
                gpuEnergyKWh: max(0, cumulative.gpuEnergyKWh - (try stored("gpu_energy_kwh"))),
                ramEnergyKWh: max(0, cumulative.ramEnergyKWh - (try stored("ram_energy_kwh"))),
                energyKWh: max(0, cumulative.energyKWh - (try stored("energy_kwh"))),
                cpuUtilization: cumulative.cpuUtilization, gpuUtilization: cumulative.gpuUtilization,
                ramUtilization: cumulative.ramUtilization,
                waterLiters: max(0, cumulative.waterLiters - (try stored("water_liters"))))
            if delta.durationSeconds > 0 || delta.energyKWh > 0 || delta.emissionsKg > 0 {
                _ = try SampleWriter.write(connection, [SampleRecord(placement: placement, measure: delta, clientKey: nil)])
            }
            try connection.query("""
                UPDATE runs SET ended_at = greatest(coalesce(ended_at, \(timestamp)), \(timestamp)),
                    os = coalesce(os, \(machine.os)), python_version = coalesce(python_version, \(machine.pythonVersion)),
                    codecarbon_version = coalesce(codecarbon_version, \(machine.codecarbonVersion)),
                    country_name = coalesce(country_name, \(machine.countryName)),
                    country_iso_code = coalesce(country_iso_code, \(machine.countryISOCode)),
                    cloud_provider = coalesce(cloud_provider, \(machine.cloudProvider)), cloud_region = coalesce(cloud_region, \(machine.cloudRegion))
                WHERE id = \(placement.runID)
                """)
            return placement.runID
        }
    }
}
