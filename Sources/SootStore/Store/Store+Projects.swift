import Foundation
import Postgres

extension Store {
    package static func projectAccess(_ caller: Caller, _ alias: String = "p", idColumn: String = "id") -> SQLQuery {
        Access.project(caller, organizationColumn: "\(alias).organization_id", teamColumn: "\(alias).team_id",
                       projectColumn: "\(alias).\(idColumn)")
    }

    package func listProjects(_ caller: Caller, teamID: UUID, page: Page) throws -> Paged<ProjectRecord> {
        _ = try team(caller, id: teamID)
        let result = try database.query("""
            SELECT p.*, count(*) OVER () AS total FROM projects p
            WHERE p.team_id = \(teamID) AND \(Store.projectAccess(caller))
            ORDER BY p.name, p.id LIMIT \(page.limit) OFFSET \(page.offset)
            """)
        return try page.of(result, ProjectRecord.init)
    }

    package func project(_ caller: Caller, id: UUID) throws -> ProjectRecord {
        guard let row = try database.query("SELECT p.* FROM projects p WHERE p.id = \(id) AND \(Store.projectAccess(caller))").first else {
            throw AppError.notFound("No such project.")
        }
        return try ProjectRecord(row)
    }

    package func createProject(_ caller: Caller, teamID: UUID, name: String, description: String) throws -> ProjectRecord {
        guard caller.userID != nil else { throw AppError.notFound("No such team.") }
        try caller.requireWrite()
        guard let team = try database.query("""
            SELECT t.organization_id FROM teams t
            WHERE t.id = \(teamID) AND \(Access.team(caller, organizationColumn: "t.organization_id", teamColumn: "t.id"))
            """).first else { throw AppError.notFound("No such team.") }
        let organizationID: UUID = try team.decode("organization_id")
        return try Store.withUniqueSlug(name) { slug in
            try database.transaction { connection in
                let project = try ProjectRecord(try connection.query("""
                    INSERT INTO projects (organization_id, team_id, name, slug, description)
                    VALUES (\(organizationID), \(teamID), \(name), \(slug), \(description)) RETURNING *
                    """).first!)
                try Audit.record(connection, AuditActor(caller), .projectCreate, organization: organizationID,
                                 object: AuditObject("project", project.id, name), new: [("name", name), ("description", description)])
                return project
            }
        }
    }

    /// Changes a project; switching `isPublic` on or off is recorded as the public link's action.
    package func updateProject(_ caller: Caller, id: UUID, name: String?, description: String?, isPublic: Bool?) throws -> ProjectRecord {
        _ = try project(caller, id: id)
        try caller.requireWrite()
        _ = try caller.requireUser()
        let newSlug = Crypto.randomToken(bytes: 18)
        return try database.transaction { connection in
            guard let before = try connection.query("""
                SELECT p.* FROM projects p WHERE p.id = \(id) AND \(Store.projectAccess(caller)) FOR UPDATE
                """).first.map(ProjectRecord.init) else { throw AppError.notFound("No such project.") }
            let after = try ProjectRecord(try connection.query("""
                UPDATE projects p SET name = coalesce(\(name), p.name), description = coalesce(\(description), p.description),
                    is_public = coalesce(\(isPublic), p.is_public),
                    public_slug = CASE WHEN coalesce(\(isPublic), p.is_public) THEN coalesce(p.public_slug, \(newSlug)) ELSE NULL END
                WHERE p.id = \(id) RETURNING p.*
                """).first!)
            let (old, new) = Audit.changes([("name", before.name, after.name), ("description", before.description, after.description),
                                            ("public", String(before.isPublic), String(after.isPublic))])
            if !old.isEmpty {
                let action: Audit.Action = before.isPublic == after.isPublic ? .projectUpdate : (after.isPublic ? .publicLinkOn : .publicLinkOff)
                try Audit.record(connection, AuditActor(caller), action, organization: after.organizationID,
                                 object: AuditObject("project", id, after.name), old: old, new: new)
            }
            return after
        }
    }

    package func deleteProject(_ caller: Caller, id: UUID) throws {
        _ = try project(caller, id: id)
        try caller.requireWrite()
        _ = try caller.requireUser()
        try database.transaction { connection in
            guard let row = try connection.query("""
                DELETE FROM projects p WHERE p.id = \(id) AND \(Store.projectAccess(caller)) RETURNING p.organization_id, p.name
                """).first else { throw AppError.notFound("No such project.") }
            try Audit.record(connection, AuditActor(caller), .projectDelete, organization: try row.decode("organization_id"),
                             object: AuditObject("project", id, try row.decode("name")))
        }
    }
}

extension Store {
    package struct ExperimentFields: Sendable {
        package var name: String?
        package var description: String?
        package var countryName: String?
        package var countryISOCode: String?
        package var region: String?
        package var onCloud: Bool?
        package var cloudProvider: String?
        package var cloudRegion: String?
        package var timestamp: Date?

        package init(name: String? = nil, description: String? = nil, countryName: String? = nil, countryISOCode: String? = nil,
                     region: String? = nil, onCloud: Bool? = nil, cloudProvider: String? = nil, cloudRegion: String? = nil,
                     timestamp: Date? = nil) {
            (self.name, self.description, self.countryName, self.countryISOCode, self.region) = (name, description, countryName, countryISOCode, region)
            (self.onCloud, self.cloudProvider, self.cloudRegion, self.timestamp) = (onCloud, cloudProvider, cloudRegion, timestamp)
        }
    }

    package func listExperiments(_ caller: Caller, projectID: UUID, page: Page) throws -> Paged<ExperimentRecord> {
        _ = try project(caller, id: projectID)
        let result = try database.query("""
            SELECT e.*, count(*) OVER () AS total FROM experiments e
            WHERE e.project_id = \(projectID) AND \(Store.projectAccess(caller, "e", idColumn: "project_id"))
            ORDER BY e.name, e.id LIMIT \(page.limit) OFFSET \(page.offset)
            """)
        return try page.of(result, ExperimentRecord.init)
    }

    package func experiment(_ caller: Caller, id: UUID) throws -> ExperimentRecord {
        guard let row = try database.query("""
            SELECT e.* FROM experiments e WHERE e.id = \(id) AND \(Store.projectAccess(caller, "e", idColumn: "project_id"))
            """).first else { throw AppError.notFound("No such experiment.") }
        return try ExperimentRecord(row)
    }

    package func createExperiment(_ caller: Caller, projectID: UUID, fields: ExperimentFields) throws -> ExperimentRecord {
        try caller.requireWrite()
        guard let project = try database.query("""
            SELECT p.organization_id, p.team_id FROM projects p WHERE p.id = \(projectID) AND \(Store.projectAccess(caller))
            """).first else { throw AppError.notFound("No such project.") }
        return try database.transaction { connection in
            let experiment = try ExperimentRecord(try connection.query("""
                INSERT INTO experiments (organization_id, team_id, project_id, name, description, "timestamp", country_name,
                                         country_iso_code, region, on_cloud, cloud_provider, cloud_region)
                VALUES (\(try project.decode("organization_id", as: UUID.self)), \(try project.decode("team_id", as: UUID.self)),
                        \(projectID), \(fields.name ?? "Default"), \(fields.description ?? ""), coalesce(\(fields.timestamp), now()),
                        \(fields.countryName), \(fields.countryISOCode), \(fields.region), \(fields.onCloud ?? false),
                        \(fields.cloudProvider), \(fields.cloudRegion))
                RETURNING *
                """).first!)
            try Audit.record(connection, AuditActor(caller), .experimentCreate, organization: experiment.organizationID,
                             object: AuditObject("experiment", experiment.id, experiment.name), new: [("project_id", projectID.lowercaseText)])
            return experiment
        }
    }

    package func updateExperiment(_ caller: Caller, id: UUID, fields: ExperimentFields) throws -> ExperimentRecord {
        _ = try experiment(caller, id: id)
        try caller.requireWrite()
        // A project token creates experiments and posts runs; changing what exists is for people.
        _ = try caller.requireUser()
        return try database.transaction { connection in
            guard let before = try connection.query("""
                SELECT e.* FROM experiments e WHERE e.id = \(id) AND \(Store.projectAccess(caller, "e", idColumn: "project_id")) FOR UPDATE
                """).first.map(ExperimentRecord.init) else { throw AppError.notFound("No such experiment.") }
            let after = try ExperimentRecord(try connection.query("""
                UPDATE experiments e SET name = coalesce(\(fields.name), e.name), description = coalesce(\(fields.description), e.description),
                    country_name = coalesce(\(fields.countryName), e.country_name),
                    country_iso_code = coalesce(\(fields.countryISOCode), e.country_iso_code),
                    region = coalesce(\(fields.region), e.region), on_cloud = coalesce(\(fields.onCloud), e.on_cloud),
                    cloud_provider = coalesce(\(fields.cloudProvider), e.cloud_provider),
                    cloud_region = coalesce(\(fields.cloudRegion), e.cloud_region)
                WHERE e.id = \(id) RETURNING e.*
                """).first!)
            let (old, new) = Audit.changes([
                ("name", before.name, after.name), ("description", before.description, after.description),
                ("country_name", before.countryName, after.countryName), ("country_iso_code", before.countryISOCode, after.countryISOCode),
                ("region", before.region, after.region), ("on_cloud", String(before.onCloud), String(after.onCloud)),
                ("cloud_provider", before.cloudProvider, after.cloudProvider), ("cloud_region", before.cloudRegion, after.cloudRegion),
            ])
            if !old.isEmpty {
                try Audit.record(connection, AuditActor(caller), .experimentUpdate, organization: after.organizationID,
                                 object: AuditObject("experiment", id, after.name), old: old, new: new)
            }
            return after
        }
    }

    package func deleteExperiment(_ caller: Caller, id: UUID) throws {
        _ = try experiment(caller, id: id)
        try caller.requireWrite()
        _ = try caller.requireUser()
        try database.transaction { connection in
            guard let row = try connection.query("""
                DELETE FROM experiments e WHERE e.id = \(id) AND \(Store.projectAccess(caller, "e", idColumn: "project_id"))
                RETURNING e.organization_id, e.name
                """).first else { throw AppError.notFound("No such experiment.") }
            try Audit.record(connection, AuditActor(caller), .experimentDelete, organization: try row.decode("organization_id"),
                             object: AuditObject("experiment", id, try row.decode("name")))
        }
    }
}

extension Store {
    package func listRuns(_ caller: Caller, experimentID: UUID, range: DateRange, page: Page) throws -> Paged<RunRecord> {
        _ = try experiment(caller, id: experimentID)
        let result = try database.query("""
            SELECT \(unsafeSQL: Representation.runColumns), count(*) OVER () AS total FROM runs r
            WHERE r.experiment_id = \(experimentID) AND \(Store.projectAccess(caller, "r", idColumn: "project_id"))
              AND \(range.contains("r.started_at"))
            ORDER BY r.started_at DESC, r.id LIMIT \(page.limit) OFFSET \(page.offset)
            """)
        return try page.of(result, RunRecord.init)
    }

    package func run(_ caller: Caller, id: UUID) throws -> RunRecord {
        guard let row = try database.query("""
            SELECT \(unsafeSQL: Representation.runColumns) FROM runs r
            WHERE r.id = \(id) AND \(Store.projectAccess(caller, "r", idColumn: "project_id"))
            """).first else { throw AppError.notFound("No such run.") }
        return try RunRecord(row)
    }

    package func deleteRun(_ caller: Caller, id: UUID) throws {
        _ = try run(caller, id: id)
        try caller.requireWrite()
        _ = try caller.requireUser()
        try database.transaction { connection in
            guard let row = try connection.query("""
                SELECT r.experiment_id, r.organization_id, r.started_at, r.emissions_kg FROM runs r
                WHERE r.id = \(id) AND \(Store.projectAccess(caller, "r", idColumn: "project_id")) FOR UPDATE
                """).first else { throw AppError.notFound("No such run.") }
            let experimentID: UUID = try row.decode("experiment_id")
            try Audit.record(connection, AuditActor(caller), .runDelete, organization: try row.decode("organization_id"),
                             object: AuditObject("run", id, String(id.lowercaseText.prefix(8))),
                             old: [("started_at", row["started_at"]), ("emissions_kg", row["emissions_kg"])])
            let days = try connection.query("""
                SELECT DISTINCT ("timestamp" AT TIME ZONE 'UTC')::date::text AS day FROM emission_samples WHERE run_id = \(id)
                """).rows.map { try $0.decode("day", as: String.self) }
            try connection.query("DELETE FROM runs WHERE id = \(id)")
            try RollupMaintenance.recompute(connection, experimentID: experimentID, days: days)
        }
    }
}

/// Keeps `experiment_days` equal to the sums of the samples when samples go away.
package enum RollupMaintenance {
    /// Recomputes the given UTC days of an experiment from the samples that remain (exact, no subtraction).
    package static func recompute(_ connection: DatabaseConnection, experimentID: UUID, days: [String]) throws {
        guard !days.isEmpty else { return }
        try connection.query("DELETE FROM experiment_days WHERE experiment_id = \(experimentID) AND day = ANY(\(days)::date[])")
        try connection.query("""
            INSERT INTO experiment_days (organization_id, team_id, project_id, experiment_id, day, sample_count, duration_seconds,
                                         emissions_kg, energy_kwh, cpu_energy_kwh, gpu_energy_kwh, ram_energy_kwh, water_liters)
            SELECT r.organization_id, r.team_id, r.project_id, r.experiment_id, (s."timestamp" AT TIME ZONE 'UTC')::date,
                   sum(s.sample_count), sum(s.duration_seconds), sum(s.emissions_kg), sum(s.energy_kwh), sum(s.cpu_energy_kwh),
                   sum(s.gpu_energy_kwh), sum(s.ram_energy_kwh), sum(s.water_liters)
            FROM emission_samples s JOIN runs r ON r.id = s.run_id
            WHERE r.experiment_id = \(experimentID) AND (s."timestamp" AT TIME ZONE 'UTC')::date = ANY(\(days)::date[])
            GROUP BY 1, 2, 3, 4, 5
            """)
    }
}
