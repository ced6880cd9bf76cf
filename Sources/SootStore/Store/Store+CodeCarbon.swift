import Emissions
import Foundation
import Postgres

/// Sums over a scope, from the daily rollups (never the samples): what CodeCarbon's `/sums` reports are made of.
package struct Sums: Sendable, Equatable {
    package var emissions = 0.0, energy = 0.0, cpu = 0.0, gpu = 0.0, ram = 0.0, duration = 0.0, count = 0

    package init(emissions: Double = 0, energy: Double = 0, cpu: Double = 0, gpu: Double = 0, ram: Double = 0, duration: Double = 0, count: Int = 0) {
        (self.emissions, self.energy, self.cpu, self.gpu, self.ram, self.duration, self.count) = (emissions, energy, cpu, gpu, ram, duration, count)
    }

    /// A run's own totals.
    package init(_ run: RunRecord) {
        self.init(emissions: run.emissionsKg, energy: run.energyKWh, cpu: run.cpuEnergyKWh, gpu: run.gpuEnergyKWh, ram: run.ramEnergyKWh,
                  duration: run.durationSeconds, count: run.sampleCount)
    }

    init(_ row: Row, prefix: String = "") throws {
        self.init(emissions: try row.decode(prefix + "emissions"), energy: try row.decode(prefix + "energy"), cpu: try row.decode(prefix + "cpu"),
                  gpu: try row.decode(prefix + "gpu"), ram: try row.decode(prefix + "ram"), duration: try row.decode(prefix + "duration"),
                  count: try row.decode(prefix + "n"))
    }
}

/// A sample as CodeCarbon's `/runs/{id}/emissions` lists it.
package struct SampleRow: Sendable, Equatable {
    package var id: UUID, runID: UUID, timestamp: Date, durationSeconds: Double, emissionsKg: Double, emissionsRate: Double?
    package var cpuPowerW: Double?, gpuPowerW: Double?, ramPowerW: Double?
    package var cpuEnergyKWh: Double, gpuEnergyKWh: Double, ramEnergyKWh: Double, energyKWh: Double
    package var cpuUtilization: Double?, gpuUtilization: Double?, ramUtilization: Double?

    init(_ row: Row) throws {
        id = try row.decode("id")
        runID = try row.decode("run_id")
        timestamp = try row.decode("timestamp")
        durationSeconds = try row.decode("duration_seconds")
        emissionsKg = try row.decode("emissions_kg")
        emissionsRate = try row.decode("emissions_rate")
        cpuPowerW = try row.decode("cpu_power_w")
        gpuPowerW = try row.decode("gpu_power_w")
        ramPowerW = try row.decode("ram_power_w")
        cpuEnergyKWh = try row.decode("cpu_energy_kwh")
        gpuEnergyKWh = try row.decode("gpu_energy_kwh")
        ramEnergyKWh = try row.decode("ram_energy_kwh")
        energyKWh = try row.decode("energy_kwh")
        cpuUtilization = try row.decode("cpu_utilization_percent")
        gpuUtilization = try row.decode("gpu_utilization_percent")
        ramUtilization = try row.decode("ram_utilization_percent")
    }
}

// The reads CodeCarbon's API needs beyond the management ones.
extension Store {
    private static let sumsColumns: SQLQuery = """
        coalesce(sum(d.emissions_kg), 0) AS emissions, coalesce(sum(d.energy_kwh), 0) AS energy,
        coalesce(sum(d.cpu_energy_kwh), 0) AS cpu, coalesce(sum(d.gpu_energy_kwh), 0) AS gpu,
        coalesce(sum(d.ram_energy_kwh), 0) AS ram, coalesce(sum(d.duration_seconds), 0) AS duration,
        coalesce(sum(d.sample_count), 0)::bigint AS n
        """

    /// The ids of the organizations the user belongs to.
    package func organizationIDs(ofUser user: UUID) throws -> [UUID] {
        try database.query("SELECT organization_id FROM organization_members WHERE user_id = \(user)").rows
            .map { try $0.decode("organization_id") }
    }

    /// The projects of an organization the caller may read, by name.
    package func projects(_ caller: Caller, organizationID: UUID) throws -> [ProjectRecord] {
        try database.query("""
            SELECT p.* FROM projects p WHERE p.organization_id = \(organizationID) AND \(Store.projectAccess(caller))
            ORDER BY p.name, p.id
            """).rows.map(ProjectRecord.init)
    }

    /// The sums of an organization or project (`level`) over the UTC days `range` touches, of what the caller may read.
    package func daySums(_ caller: Caller, level: Level, id: UUID, range: DateRange) throws -> Sums {
        let row = try database.query("""
            SELECT \(Store.sumsColumns)
            FROM experiment_days d
            WHERE d.\(level.keyColumn) = \(id) AND \(Store.projectAccess(caller, "d", idColumn: "project_id"))
              AND \(range.containsDay("d.day"))
            """).first!
        return try Sums(row)
    }

    /// Each experiment of a project with its sums over the range.
    package func experimentSums(_ caller: Caller, projectID: UUID, range: DateRange) throws -> [(ExperimentRecord, Sums)] {
        try database.query("""
            SELECT e.*, \(Store.sumsColumns)
            FROM experiments e
            LEFT JOIN experiment_days d ON d.experiment_id = e.id AND \(range.containsDay("d.day"))
            WHERE e.project_id = \(projectID) AND \(Store.projectAccess(caller, "e", idColumn: "project_id"))
            GROUP BY e.organization_id, e.id ORDER BY e.name  -- the primary key (migration 0012)
            """).rows.map { (try ExperimentRecord($0), try Sums($0)) }
    }

    /// The runs of an experiment started in the range, newest first (at most 10,000).
    package func runs(_ caller: Caller, experimentID: UUID, startedIn range: DateRange) throws -> [RunRecord] {
        try database.query("""
            SELECT \(unsafeSQL: Representation.runColumns) FROM runs r
            WHERE r.experiment_id = \(experimentID) AND \(Store.projectAccess(caller, "r", idColumn: "project_id"))
              AND \(range.contains("r.started_at"))
            ORDER BY r.started_at DESC LIMIT 10000
            """).rows.map(RunRecord.init)
    }

    /// One page of a run's samples in time order (the run was checked for the caller), and how many it has.
    package func samples(ofRun runID: UUID, limit: Int, offset: Int) throws -> (rows: [SampleRow], total: Int) {
        let rows = try database.query("""
            SELECT s.*, count(*) OVER () AS total FROM emission_samples s WHERE s.run_id = \(runID)
            ORDER BY s."timestamp", s.id LIMIT \(limit) OFFSET \(offset)
            """).rows
        let total = try rows.first?.decode("total", as: Int.self)
            ?? (try database.query("SELECT count(*) AS n FROM emission_samples WHERE run_id = \(runID)").first!.decode("n", as: Int.self))
        return (try rows.map(SampleRow.init), total)
    }

    /// The project's latest run, if the caller may read it.
    package func lastRun(_ caller: Caller, projectID: UUID) throws -> RunRecord? {
        try database.query("""
            SELECT \(unsafeSQL: Representation.runColumns) FROM runs r
            WHERE r.project_id = \(projectID) AND \(Store.projectAccess(caller, "r", idColumn: "project_id"))
            ORDER BY r.started_at DESC LIMIT 1
            """).first.map(RunRecord.init)
    }

    /// The team that holds a CodeCarbon organization's projects: the one chosen in the organization's settings
    /// (`codecarbon_team_id`), else the team named "CodeCarbon", created on first use by an owner or admin.
    package func codecarbonTeam(_ caller: Caller, organizationID: UUID) throws -> UUID {
        guard caller.userID != nil else { throw AppError.notFound("No such organization.") }
        guard try database.query("""
            SELECT 1 FROM organizations o WHERE o.id = \(organizationID) AND \(Access.organizationMember(caller, organizationColumn: "o.id"))
            """).rowCount > 0 else { throw AppError.notFound("No such organization.") }
        if let chosen = try database.query("""
            SELECT t.id FROM settings s JOIN teams t ON t.id::text = s.value AND t.organization_id = s.organization_id
            WHERE s.organization_id = \(organizationID) AND s.key = 'codecarbon_team_id'
            """).first {
            return try chosen.decode("id")
        }
        if let named = try database.query("""
            SELECT id FROM teams WHERE organization_id = \(organizationID) AND lower(name) = 'codecarbon'
            """).first {
            return try named.decode("id")
        }
        return try database.transaction { connection in
            guard let row = try connection.query("""
                INSERT INTO teams (organization_id, name, slug, description)
                SELECT o.id, 'CodeCarbon', 'codecarbon', 'Projects created through the CodeCarbon API' FROM organizations o
                WHERE o.id = \(organizationID) AND \(Access.organizationAdmin(caller, organizationColumn: "o.id"))
                ON CONFLICT DO NOTHING
                RETURNING id
                """).first else {
                throw AppError.forbidden("This organization has no CodeCarbon team yet; an owner or admin must create the first CodeCarbon project.")
            }
            let teamID: UUID = try row.decode("id")
            if let user = caller.userID {
                try connection.query("""
                    INSERT INTO team_members (organization_id, team_id, user_id) VALUES (\(organizationID), \(teamID), \(user))
                    ON CONFLICT DO NOTHING
                    """)
            }
            return teamID
        }
    }
}
