import Emissions
import Foundation
import Postgres

/// An item of the hierarchy as its page shows it: its name, and the names and slugs (or ids) of the items above it.
package struct PageScope: Sendable {
    package let id: UUID
    package let name: String
    /// From the organization down to the item itself: each level's name and the path segment that addresses it.
    package let trail: [(name: String, segment: String)]
}

/// A child of a page's item with its totals over the range.
package struct ChildTotals: Sendable {
    package let name: String
    /// Its slug (teams, projects) or id (experiments).
    package let link: String
    package let emissions: Double
    package let energy: Double
    package let duration: Double
}

/// A run as an experiment's page lists it.
package struct RunListing: Sendable {
    package let id: UUID
    package let startedAt: Date
    package let emissionsKg: Double
    package let energyKWh: Double
    package let durationSeconds: Double
    package let cpuModel: String?
    package let gpuModel: String?
}

/// One of at most 300 time buckets of a run's samples: average power per component and the emissions in it.
package struct RunBucket: Sendable {
    package let at: Double
    package let cpu: Double?, gpu: Double?, ram: Double?
    package let emissions: Double
    package let duration: Double
}

/// A grid an energy total could have run on.
package struct Grid: Sendable {
    package let name: String, code: String, provider: String
    package let gramsPerKWh: Double
}

// The dashboards' reads. Pages are addressed by slugs (ids for experiments and runs); every lookup carries the
// caller's access rule in the same statement, so "not found" and "not yours" are the same 404.
extension Store {
    /// Which teams the caller may read (see `Visibility`).
    package func visibility(_ caller: Caller, organizationID: UUID? = nil) throws -> Visibility {
        try Visibility(database, caller: caller, organizationID: organizationID)
    }

    /// Whether any run was ever reported in the organization (its page shows the first steps until one is).
    package func hasRuns(organizationID: UUID) throws -> Bool {
        try database.query("SELECT EXISTS (SELECT 1 FROM runs WHERE organization_id = \(organizationID)) AS any").first!.decode("any")
    }

    /// How many teams the organization has (to tell a member how much of it they see).
    package func teamCount(organizationID: UUID) throws -> Int {
        try database.query("SELECT count(*) AS n FROM teams WHERE organization_id = \(organizationID)").first!.decode("n")
    }

    package func totals(_ visibility: Visibility, level: Level, id: UUID, range: DashboardRange) throws -> ScopeTotals {
        try DashboardData.totals(database, visibility: visibility, level: level, id: id, range: range)
    }

    package func trend(_ visibility: Visibility, level: Level, id: UUID, by child: Level, range: DashboardRange) throws -> DashboardData.Trend {
        try DashboardData.trend(database, visibility: visibility, level: level, id: id, by: child, range: range)
    }

    package func equivalents() throws -> [Equivalent] { try DashboardData.equivalents(database) }

    /// The project shared at `/p/{slug}`, when its owners turned the public link on.
    package func publicProject(slug: String) throws -> (id: UUID, name: String, organizationID: UUID, organizationName: String)? {
        guard let row = try database.query("""
            SELECT p.id, p.name, p.organization_id, o.name AS org_name
            FROM public_links l JOIN projects p ON p.organization_id = l.organization_id AND p.id = l.project_id
            JOIN organizations o ON o.id = p.organization_id
            WHERE l.slug = \(slug) AND p.is_public
            """).first else { return nil }
        return (try row.decode("id"), try row.decode("name"), try row.decode("organization_id"), try row.decode("org_name"))
    }

    package func organizationPage(_ caller: Caller, slug: String) throws -> PageScope {
        guard let user = caller.userID, let row = try database.query("""
            SELECT o.id, o.name, o.slug FROM organizations o JOIN organization_members m ON m.organization_id = o.id AND m.user_id = \(user)
            WHERE o.slug = \(slug)
            """).first else { throw AppError.notFound("No such organization.") }
        return PageScope(id: try row.decode("id"), name: try row.decode("name"), trail: [(try row.decode("name"), try row.decode("slug"))])
    }

    package func teamPage(_ caller: Caller, organization: String, team: String) throws -> PageScope {
        guard let row = try database.query("""
            SELECT t.id, t.name, t.slug, o.name AS org_name, o.slug AS org_slug FROM teams t JOIN organizations o ON o.id = t.organization_id
            WHERE o.slug = \(organization) AND t.slug = \(team)
              AND \(Access.team(caller, organizationColumn: "t.organization_id", teamColumn: "t.id"))
            """).first else { throw AppError.notFound("No such team.") }
        return PageScope(id: try row.decode("id"), name: try row.decode("name"),
                         trail: [(try row.decode("org_name"), try row.decode("org_slug")), (try row.decode("name"), try row.decode("slug"))])
    }

    package func projectPage(_ caller: Caller, organization: String, team: String, project: String) throws -> PageScope {
        guard let row = try database.query("""
            SELECT p.id, p.name, p.slug, t.name AS team_name, t.slug AS team_slug, o.name AS org_name, o.slug AS org_slug
            FROM projects p JOIN teams t ON t.id = p.team_id JOIN organizations o ON o.id = p.organization_id
            WHERE o.slug = \(organization) AND t.slug = \(team) AND p.slug = \(project) AND \(Store.projectAccess(caller))
            """).first else { throw AppError.notFound("No such project.") }
        return PageScope(id: try row.decode("id"), name: try row.decode("name"),
                         trail: [(try row.decode("org_name"), try row.decode("org_slug")), (try row.decode("team_name"), try row.decode("team_slug")),
                                 (try row.decode("name"), try row.decode("slug"))])
    }

    package func experimentPage(_ caller: Caller, id: UUID, organization: String, team: String, project: String) throws -> PageScope {
        guard let row = try database.query("""
            SELECT e.id, e.name, p.name AS project_name, p.slug AS project_slug, t.name AS team_name, t.slug AS team_slug,
                   o.name AS org_name, o.slug AS org_slug
            FROM experiments e JOIN projects p ON p.id = e.project_id JOIN teams t ON t.id = e.team_id JOIN organizations o ON o.id = e.organization_id
            WHERE e.id = \(id) AND o.slug = \(organization) AND t.slug = \(team)
              AND p.slug = \(project) AND \(Store.projectAccess(caller, "e", idColumn: "project_id"))
            """).first else { throw AppError.notFound("No such experiment.") }
        return PageScope(id: id, name: try row.decode("name"),
                         trail: [(try row.decode("org_name"), try row.decode("org_slug")), (try row.decode("team_name"), try row.decode("team_slug")),
                                 (try row.decode("project_name"), try row.decode("project_slug")), (try row.decode("name"), id.lowercaseText)])
    }

    /// A run the caller may read, with when its last sample came and the names and slugs above it.
    package func runPage(_ caller: Caller, id: UUID) throws -> (run: RunRecord, lastSampleAt: Date?, trail: [(name: String, segment: String)]) {
        guard let row = try database.query("""
            SELECT \(unsafeSQL: Representation.runColumns), r.last_sample_at, e.name AS experiment_name, p.name AS project_name, p.slug AS project_slug,
                   t.name AS team_name, t.slug AS team_slug, o.name AS org_name, o.slug AS org_slug
            FROM runs r JOIN experiments e ON e.id = r.experiment_id JOIN projects p ON p.id = r.project_id
                 JOIN teams t ON t.id = r.team_id JOIN organizations o ON o.id = r.organization_id
            WHERE r.id = \(id) AND \(Store.projectAccess(caller, "r", idColumn: "project_id"))
            """).first else { throw AppError.notFound("No such run.") }
        let run = try RunRecord(row)
        return (run, try row.decode("last_sample_at"),
                [(try row.decode("org_name"), try row.decode("org_slug")), (try row.decode("team_name"), try row.decode("team_slug")),
                 (try row.decode("project_name"), try row.decode("project_slug")), (try row.decode("experiment_name"), run.experimentID.lowercaseText)])
    }

    /// The experiments of a project, by name.
    package func experimentNames(projectID: UUID) throws -> [(id: UUID, name: String)] {
        try database.query("SELECT id, name FROM experiments WHERE project_id = \(projectID) ORDER BY name, id")
            .rows.map { (try $0.decode("id"), try $0.decode("name")) }
    }

    /// Every grid with a known intensity.
    /// The grids the runs of a scope reported over a range (a cloud region, else a country), most energy first, at
    /// most `limit`. Name and code as in `grid_intensities` where it knows them.
    package func gridsUsed(_ visibility: Visibility, level: Level, id: UUID, range: DashboardRange, limit: Int = 3) throws -> [Grid] {
        try database.query("""
            SELECT coalesce(g.name, u.name) AS name, u.code, u.provider, coalesce(g.g_co2e_per_kwh, 0) AS g_co2e_per_kwh
            FROM (SELECT CASE WHEN coalesce(r.cloud_provider, '') <> '' AND coalesce(r.cloud_region, '') <> '' THEN lower(r.cloud_provider) ELSE '' END AS provider,
                         CASE WHEN coalesce(r.cloud_provider, '') <> '' AND coalesce(r.cloud_region, '') <> '' THEN r.cloud_region
                              ELSE coalesce(r.country_iso_code, '') END AS code,
                         CASE WHEN coalesce(r.cloud_provider, '') <> '' AND coalesce(r.cloud_region, '') <> '' THEN r.cloud_region
                              ELSE coalesce(nullif(r.country_name, ''), r.country_iso_code, '') END AS name,
                         sum(r.energy_kwh) AS energy
                  FROM runs r
                  WHERE r.\(level.keyColumn) = \(id) AND \(visibility.predicate("r")) AND \(range.contains("r.started_at"))
                  GROUP BY 1, 2, 3) u
            LEFT JOIN grid_intensities g ON g.provider = u.provider AND g.code = u.code
            WHERE u.name <> ''
            ORDER BY u.energy DESC, u.name LIMIT \(limit)
            """).rows.map { row in
            Grid(name: try row.decode("name"), code: try row.decode("code"), provider: try row.decode("provider"),
                 gramsPerKWh: try row.decode("g_co2e_per_kwh"))
        }
    }

    package func grids() throws -> [Grid] {
        try database.query("""
            SELECT kind, provider, code, name, g_co2e_per_kwh FROM grid_intensities WHERE g_co2e_per_kwh > 0
            """).rows.map { row in
            Grid(name: try row.decode("name"), code: try row.decode("code"), provider: try row.decode("provider"),
                 gramsPerKWh: try row.decode("g_co2e_per_kwh"))
        }
    }

    /// The children (`children`, the level below `level`) of the item `id` the caller may read, with their totals
    /// over the range.
    package func children(_ visibility: Visibility, level: Level, id: UUID, children: Level, range: DashboardRange) throws -> [ChildTotals] {
        let caller = visibility.caller
        let link: SQLQuery = children.hasSlug ? "c.slug" : "c.id::text"
        let access: SQLQuery = children == .team
            ? (visibility.teams.map { "c.id = ANY(\($0)::uuid[])" } ?? Access.team(caller, organizationColumn: "c.organization_id", teamColumn: "c.id"))
            : children == .project ? Store.projectAccess(caller, "c", idColumn: "id") : visibility.predicate("c")
        return try database.query("""
            SELECT c.id, c.name, \(link) AS link,
                   coalesce(sum(d.emissions_kg), 0) AS emissions, coalesce(sum(d.energy_kwh), 0) AS energy,
                   coalesce(sum(d.duration_seconds), 0) AS duration
            FROM \(children.table) c
            LEFT JOIN experiment_days d ON d.\(children.keyColumn) = c.id AND \(range.containsDay("d.day"))
            WHERE c.\(level.keyColumn) = \(id) AND \(access)
            GROUP BY c.organization_id, c.id  -- the primary key (migration 0012)
            """).rows.map { row in
            ChildTotals(name: try row.decode("name"), link: try row.decode("link"), emissions: try row.decode("emissions"),
                        energy: try row.decode("energy"), duration: try row.decode("duration"))
        }
    }

    /// The runs of an experiment started in the range, newest first (or oldest first).
    /// The orders a run list can take: a column and a direction, spelled here (never from a request).
    package enum RunOrder: String, Sendable, CaseIterable {
        case started, emissions, energy, duration

        var column: SQLQuery {
            switch self {
            case .started: return "r.started_at"
            case .emissions: return "r.emissions_kg"
            case .energy: return "r.energy_kwh"
            case .duration: return "r.duration_seconds"
            }
        }
    }

    package func runListing(_ caller: Caller, experimentID: UUID, range: DashboardRange, limit: Int, oldestFirst: Bool = false,
                            by order: RunOrder = .started, descending: Bool? = nil) throws -> [RunListing] {
        let down = descending ?? !oldestFirst
        let direction: SQLQuery = down ? "DESC" : "ASC"
        let order: SQLQuery = "\(order.column) \(direction), r.id"
        return try database.query("""
            SELECT r.id, r.started_at, r.emissions_kg, r.energy_kwh, r.duration_seconds, r.cpu_model, r.gpu_model
            FROM runs r WHERE r.experiment_id = \(experimentID) AND \(Store.projectAccess(caller, "r", idColumn: "project_id"))
              AND \(range.contains("r.started_at"))
            ORDER BY \(order) LIMIT \(limit)
            """).rows.map { row in
            RunListing(id: try row.decode("id"), startedAt: try row.decode("started_at"), emissionsKg: try row.decode("emissions_kg"),
                       energyKWh: try row.decode("energy_kwh"), durationSeconds: try row.decode("duration_seconds"),
                       cpuModel: try row.decode("cpu_model"), gpuModel: try row.decode("gpu_model"))
        }
    }

    /// A run's samples in at most 300 time buckets.
    package func buckets(ofRun runID: UUID) throws -> [RunBucket] {
        try database.query("""
            SELECT extract(epoch FROM max("timestamp"))::float8 AS at, avg(cpu_power_w) AS cpu, avg(gpu_power_w) AS gpu,
                   avg(ram_power_w) AS ram, sum(emissions_kg) AS emissions, sum(duration_seconds) AS duration
            FROM (SELECT "timestamp", cpu_power_w, gpu_power_w, ram_power_w, emissions_kg, duration_seconds,
                         ntile(300) OVER (ORDER BY "timestamp") AS bucket FROM emission_samples WHERE run_id = \(runID)) s
            GROUP BY bucket ORDER BY bucket
            """).rows.map { row in
            RunBucket(at: try row.decode("at"), cpu: try row.decode("cpu"), gpu: try row.decode("gpu"), ram: try row.decode("ram"),
                      emissions: try row.decode("emissions"), duration: try row.decode("duration"))
        }
    }
}
