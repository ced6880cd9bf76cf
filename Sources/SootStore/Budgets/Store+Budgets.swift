import Emissions
import Foundation
import Postgres

/// A budget as stored, with where its period stands now.
package struct BudgetRecord: Sendable {
    package enum ScopeLevel: String, Sendable { case organization, team, project }

    package let id: UUID
    package let organizationID: UUID
    package let teamID: UUID?
    package let projectID: UUID?
    package let scopeLevel: ScopeLevel
    package let scopeName: String
    package let period: BudgetPeriod
    package let limitKg: Double
    package let limitKWh: Double?
    package let thresholds: [Int]
    package let createdAt: Date
    /// Emissions and energy so far in the period, and where they are heading.
    package let emissions: BudgetForecast
    package let energy: BudgetForecast?

    package var scopeID: UUID { projectID ?? teamID ?? organizationID }
    package var usedPercent: Double { emissions.used / limitKg * 100 }
    /// over, at_risk or on_track, by emissions, or by energy when it has a limit and is worse.
    package var state: String {
        let byEnergy = limitKWh.flatMap { limit in energy.map { $0.state(limit: limit) } }
        let states = ["on_track", "at_risk", "over"]
        return [emissions.state(limit: limitKg), byEnergy ?? "on_track"].max { states.firstIndex(of: $0)! < states.firstIndex(of: $1)! }!
    }
}

/// What a budget is set to: its scope (exactly one of the three), period kind, limits and thresholds.
package struct BudgetInput: Sendable {
    package var organizationID: UUID?
    package var teamID: UUID?
    package var projectID: UUID?
    package var period: BudgetPeriod.Kind
    package var limitKg: Double
    package var limitKWh: Double?
    package var thresholds: [Int]

    package init(organizationID: UUID?, teamID: UUID?, projectID: UUID?, period: BudgetPeriod.Kind, limitKg: Double, limitKWh: Double?,
                 thresholds: [Int]) {
        (self.organizationID, self.teamID, self.projectID) = (organizationID, teamID, projectID)
        (self.period, self.limitKg, self.limitKWh, self.thresholds) = (period, limitKg, limitKWh, thresholds)
    }
}

extension Store {
    static let budgetColumns: String = """
        b.id, b.organization_id, b.team_id, b.project_id, b.period, b.limit_kg, b.limit_kwh,
        array_to_string(b.thresholds, ',') AS thresholds, b.created_at,
        CASE WHEN b.project_id IS NOT NULL THEN 'project' WHEN b.team_id IS NOT NULL THEN 'team' ELSE 'organization' END AS level,
        coalesce(p.name, t.name, o.name) AS scope_name
        """
    static let budgetJoins: String = """
        JOIN organizations o ON o.id = b.organization_id
        LEFT JOIN teams t ON t.organization_id = b.organization_id AND t.id = b.team_id
        LEFT JOIN projects p ON p.organization_id = b.organization_id AND p.id = b.project_id
        """

    /// Who may read a budget: members of its organization for its own budget, team access for a team's, project
    /// access for a project's.
    static func budgetReadable(_ caller: Caller) -> SQLQuery {
        """
        (CASE WHEN b.project_id IS NOT NULL THEN \(Access.project(caller, organizationColumn: "b.organization_id", teamColumn: "b.team_id", projectColumn: "b.project_id"))
              WHEN b.team_id IS NOT NULL THEN \(Access.team(caller, organizationColumn: "b.organization_id", teamColumn: "b.team_id"))
              ELSE \(Access.organizationMember(caller, organizationColumn: "b.organization_id")) END)
        """
    }

    /// Who may set, change or delete a budget: owners and admins for organization and team budgets, the project's
    /// team (and admins) for a project's.
    static func budgetWritable(_ caller: Caller, organizationColumn: String, teamColumn: String, projectColumn: String) -> SQLQuery {
        """
        (CASE WHEN \(unsafeSQL: projectColumn) IS NOT NULL THEN \(Access.team(caller, organizationColumn: organizationColumn, teamColumn: teamColumn))
              ELSE \(Access.organizationAdmin(caller, organizationColumn: organizationColumn)) END)
        """
    }

    package func createBudget(_ caller: Caller, _ input: BudgetInput, now: Date = Date()) throws -> BudgetRecord {
        _ = try caller.requireUser()
        try caller.requireWrite()
        // The scope, found through what the caller may read (404 otherwise), with its organization and team.
        let scope: Row?
        if let projectID = input.projectID {
            scope = try database.query("""
                SELECT p.organization_id, p.team_id, p.id AS project_id, p.name FROM projects p WHERE p.id = \(projectID) AND \(Store.projectAccess(caller))
                """).first
        } else if let teamID = input.teamID {
            scope = try database.query("""
                SELECT t.organization_id, t.id AS team_id, NULL::uuid AS project_id, t.name FROM teams t
                WHERE t.id = \(teamID) AND \(Access.team(caller, organizationColumn: "t.organization_id", teamColumn: "t.id"))
                """).first
        } else {
            scope = try database.query("""
                SELECT o.id AS organization_id, NULL::uuid AS team_id, NULL::uuid AS project_id, o.name FROM organizations o
                WHERE o.id = \(input.organizationID!) AND \(Access.organizationMember(caller, organizationColumn: "o.id"))
                """).first
        }
        guard let scope else { throw AppError.notFound("No such \(input.projectID != nil ? "project" : input.teamID != nil ? "team" : "organization").") }
        let organizationID: UUID = try scope.decode("organization_id")
        let teamID: UUID? = try scope.decode("team_id"), projectID: UUID? = try scope.decode("project_id")
        let id = try database.transaction { connection -> UUID in
            guard try connection.query("""
                SELECT 1 FROM (SELECT \(organizationID)::uuid AS organization_id, \(teamID)::uuid AS team_id, \(projectID)::uuid AS project_id) s
                WHERE \(Store.budgetWritable(caller, organizationColumn: "s.organization_id", teamColumn: "s.team_id", projectColumn: "s.project_id"))
                """).first != nil else {
                throw AppError.forbidden(projectID != nil ? "Only the project's team or an admin can set its budget."
                                                          : "Only an owner or admin can set organization and team budgets.")
            }
            if try connection.query("""
                SELECT 1 FROM budgets WHERE organization_id = \(organizationID)
                  AND coalesce(project_id, team_id, organization_id) = \(projectID ?? teamID ?? organizationID) AND period = \(input.period.rawValue)
                """).first != nil {
                throw AppError.conflict("This \(projectID != nil ? "project" : teamID != nil ? "team" : "organization") already has a \(input.period.rawValue)ly budget; change that one.",
                                        field: "period")
            }
            let id: UUID = try connection.query("""
                INSERT INTO budgets (organization_id, team_id, project_id, period, limit_kg, limit_kwh, thresholds, created_by)
                VALUES (\(organizationID), \(teamID), \(projectID), \(input.period.rawValue), \(input.limitKg), \(input.limitKWh),
                        \(input.thresholds.map(String.init))::int[], \(caller.userID))
                RETURNING id
                """).first!.decode("id")
            try Audit.record(connection, AuditActor(caller), .budgetCreate, organization: organizationID,
                             object: AuditObject("budget", id, "\(try scope.decode("name", as: String.self)), \(input.period.rawValue)"),
                             new: Store.budgetAuditValues(input.limitKg, input.limitKWh, input.thresholds))
            return id
        }
        return try budget(caller, id: id, now: now, primary: true)
    }

    static func budgetAuditValues(_ kg: Double, _ kwh: Double?, _ thresholds: [Int]) -> [(String, String?)] {
        [("limit_kg", String(kg)), ("limit_kwh", kwh.map { String($0) }), ("thresholds", thresholds.map(String.init).joined(separator: ","))]
    }

    /// One budget the caller may read, with its period's figures as of `now`.
    package func budget(_ caller: Caller, id: UUID, now: Date = Date(), primary: Bool = false) throws -> BudgetRecord {
        let database = primary ? self.database : reading(caller).database
        guard let row = try database.query("""
            SELECT \(unsafeSQL: Store.budgetColumns) FROM budgets b \(unsafeSQL: Store.budgetJoins)
            WHERE b.id = \(id) AND \(Store.budgetReadable(caller))
            """).first else { throw AppError.notFound("No such budget.") }
        return try Store.budgetRecord(database, row, now: now)
    }

    /// The budgets of an organization, team or project (for an organization, also its teams' and projects' the
    /// caller may read; for a team, its projects'), scopes first by level then by name.
    package func budgets(_ caller: Caller, level: Level, id: UUID, now: Date = Date()) throws -> [BudgetRecord] {
        let database = reading(caller).database
        let within: SQLQuery = switch level {
        case .organization: "b.organization_id = \(id)"
        case .team: "b.team_id = \(id)"
        default: "b.project_id = \(id)"
        }
        return try database.query("""
            SELECT \(unsafeSQL: Store.budgetColumns) FROM budgets b \(unsafeSQL: Store.budgetJoins)
            WHERE \(within) AND \(Store.budgetReadable(caller))
            ORDER BY (b.team_id IS NOT NULL), (b.project_id IS NOT NULL), coalesce(p.name, t.name, o.name), b.period
            """).rows.map { try Store.budgetRecord(database, $0, now: now) }
    }

    package func updateBudget(_ caller: Caller, id: UUID, limitKg: Double?, limitKWh: Double??, thresholds: [Int]?, now: Date = Date()) throws -> BudgetRecord {
        try caller.requireWrite()
        let before = try budget(caller, id: id, now: now, primary: true)
        try database.transaction { connection in
            guard try connection.query("""
                UPDATE budgets b SET limit_kg = coalesce(\(limitKg), b.limit_kg),
                       limit_kwh = CASE WHEN \(limitKWh != nil) THEN \(limitKWh ?? nil)::float8 ELSE b.limit_kwh END,
                       thresholds = coalesce(\(thresholds.map { $0.map(String.init) })::int[], b.thresholds)
                WHERE b.organization_id = \(before.organizationID) AND b.id = \(id)
                  AND \(Store.budgetWritable(caller, organizationColumn: "b.organization_id", teamColumn: "b.team_id", projectColumn: "b.project_id"))
                """).affectedRows == 1 else {
                throw AppError.forbidden(before.projectID != nil ? "Only the project's team or an admin can change its budget."
                                                                 : "Only an owner or admin can change organization and team budgets.")
            }
            let (old, new) = Audit.changes([
                ("limit_kg", String(before.limitKg), String(limitKg ?? before.limitKg)),
                ("limit_kwh", before.limitKWh.map { String($0) } ?? "", (limitKWh != nil ? limitKWh! : before.limitKWh).map { String($0) } ?? ""),
                ("thresholds", before.thresholds.map(String.init).joined(separator: ","), (thresholds ?? before.thresholds).map(String.init).joined(separator: ",")),
            ])
            if !old.isEmpty {
                try Audit.record(connection, AuditActor(caller), .budgetUpdate, organization: before.organizationID,
                                 object: AuditObject("budget", id, "\(before.scopeName), \(before.period.kind.rawValue)"), old: old, new: new)
            }
        }
        return try budget(caller, id: id, now: now, primary: true)
    }

    package func deleteBudget(_ caller: Caller, id: UUID) throws {
        try caller.requireWrite()
        let before = try budget(caller, id: id, primary: true)
        try database.transaction { connection in
            guard try connection.query("""
                DELETE FROM budgets b WHERE b.organization_id = \(before.organizationID) AND b.id = \(id)
                  AND \(Store.budgetWritable(caller, organizationColumn: "b.organization_id", teamColumn: "b.team_id", projectColumn: "b.project_id"))
                """).affectedRows == 1 else {
                throw AppError.forbidden(before.projectID != nil ? "Only the project's team or an admin can delete its budget."
                                                                 : "Only an owner or admin can delete organization and team budgets.")
            }
            try Audit.record(connection, AuditActor(caller), .budgetDelete, organization: before.organizationID,
                             object: AuditObject("budget", id, "\(before.scopeName), \(before.period.kind.rawValue)"),
                             old: Store.budgetAuditValues(before.limitKg, before.limitKWh, before.thresholds))
        }
    }

    /// A budget row with its period's daily emissions and energy read from the rollups, and the forecasts.
    static func budgetRecord(_ database: ConnectionPool, _ row: Row, now: Date) throws -> BudgetRecord {
        let kind = BudgetPeriod.Kind(rawValue: try row.decode("period", as: String.self)) ?? .month
        let seconds = now.timeIntervalSince1970
        let today = Int((seconds / 86_400).rounded(.down))
        let period = BudgetPeriod(kind, containing: today)
        let organizationID: UUID = try row.decode("organization_id")
        let teamID: UUID? = try row.decode("team_id"), projectID: UUID? = try row.decode("project_id")
        let scope: SQLQuery = projectID.map { "d.project_id = \($0)" } ?? teamID.map { "d.team_id = \($0)" } ?? "true"
        var kg: [Int: Double] = [:], kwh: [Int: Double] = [:]
        for day in try database.query("""
            SELECT (d.day - date '1970-01-01') AS day, sum(d.emissions_kg) AS kg, sum(d.energy_kwh) AS kwh FROM experiment_days d
            WHERE d.organization_id = \(organizationID) AND \(scope)
              AND d.day >= date '1970-01-01' + \(period.start)::int AND d.day < date '1970-01-01' + \(period.end)::int
            GROUP BY d.day
            """).rows {
            let index: Int = try day.decode("day")
            kg[index] = try day.decode("kg")
            kwh[index] = try day.decode("kwh")
        }
        let elapsed = seconds / 86_400 - Double(today)
        let limitKg: Double = try row.decode("limit_kg"), limitKWh: Double? = try row.decode("limit_kwh")
        let thresholds = try row.decode("thresholds", as: String.self).split(separator: ",").compactMap { Int($0) }
        return BudgetRecord(
            id: try row.decode("id"), organizationID: organizationID, teamID: teamID, projectID: projectID,
            scopeLevel: BudgetRecord.ScopeLevel(rawValue: try row.decode("level", as: String.self)) ?? .organization,
            scopeName: try row.decode("scope_name"), period: period, limitKg: limitKg, limitKWh: limitKWh, thresholds: thresholds,
            createdAt: try row.decode("created_at"),
            emissions: BudgetForecast(period: period, daily: kg, today: today, elapsed: elapsed, limit: limitKg),
            energy: BudgetForecast(period: period, daily: kwh, today: today, elapsed: elapsed, limit: limitKWh ?? .infinity))
    }
}
