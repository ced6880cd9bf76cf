import Foundation
import Postgres

extension Store {
    package func listOrganizations(_ caller: Caller, page: Page) throws -> Paged<OrganizationRecord> {
        guard let user = caller.userID else {
            if case .project(_, let organizationID, _) = caller.identity {
                _ = organizationID
            }
            return Paged([], total: 0, page: page)
        }
        let result = try database.query("""
            SELECT o.*, m.role, count(*) OVER () AS total
            FROM organizations o JOIN organization_members m ON m.organization_id = o.id AND m.user_id = \(user)
            ORDER BY o.name, o.id LIMIT \(page.limit) OFFSET \(page.offset)
            """)
        return try page.of(result, OrganizationRecord.init)
    }

    package func organization(_ caller: Caller, id: UUID) throws -> OrganizationRecord {
        guard let user = caller.userID, let row = try database.query("""
            SELECT o.*, m.role FROM organizations o
            JOIN organization_members m ON m.organization_id = o.id AND m.user_id = \(user)
            WHERE o.id = \(id)
            """).first else { throw AppError.notFound("No such organization.") }
        return try OrganizationRecord(row)
    }

    /// Creates an organization; the creator becomes its owner.
    package func createOrganization(_ caller: Caller, name: String, description: String) throws -> OrganizationRecord {
        let user = try caller.requireUser()
        try caller.requireWrite()
        return try Store.withUniqueSlug(name) { slug in
            try database.transaction { connection in
                let row = try connection.query("""
                    INSERT INTO organizations (name, slug, description) VALUES (\(name), \(slug), \(description))
                    RETURNING *, 'owner' AS role
                    """).first!
                let organization = try OrganizationRecord(row)
                try connection.query("""
                    INSERT INTO organization_members (organization_id, user_id, role) VALUES (\(organization.id), \(user), 'owner')
                    """)
                try Audit.record(connection, AuditActor(caller), .organizationCreate, organization: organization.id,
                                 object: AuditObject("organization", organization.id, name), new: [("name", name), ("description", description)])
                return organization
            }
        }
    }

    package func updateOrganization(_ caller: Caller, id: UUID, name: String?, description: String?) throws -> OrganizationRecord {
        try caller.requireWrite()
        let canSee = try database.query("SELECT 1 FROM organizations o WHERE o.id = \(id) AND \(Access.organizationMember(caller, organizationColumn: "o.id"))").rowCount > 0
        guard canSee else { throw AppError.notFound("No such organization.") }
        return try database.transaction { connection in
            guard let before = try connection.query("""
                SELECT o.* FROM organizations o WHERE o.id = \(id) AND \(Access.organizationAdmin(caller, organizationColumn: "o.id")) FOR UPDATE
                """).first.map(OrganizationRecord.init) else { throw AppError.forbidden("Only an owner or admin of the organization can change it.") }
            let after = try OrganizationRecord(try connection.query("""
                UPDATE organizations o SET name = coalesce(\(name), o.name), description = coalesce(\(description), o.description)
                WHERE o.id = \(id) RETURNING o.*
                """).first!)
            let (old, new) = Audit.changes([("name", before.name, after.name), ("description", before.description, after.description)])
            if !old.isEmpty {
                try Audit.record(connection, AuditActor(caller), .organizationUpdate, organization: id,
                                 object: AuditObject("organization", id, after.name), old: old, new: new)
            }
            return after
        }
    }

    package func deleteOrganization(_ caller: Caller, id: UUID) throws {
        try caller.requireWrite()
        let canSee = try database.query("SELECT 1 FROM organizations o WHERE o.id = \(id) AND \(Access.organizationMember(caller, organizationColumn: "o.id"))").rowCount > 0
        guard canSee else { throw AppError.notFound("No such organization.") }
        try database.transaction { connection in
            guard let name = try connection.query("""
                DELETE FROM organizations o WHERE o.id = \(id) AND \(Access.organizationOwner(caller, organizationColumn: "o.id")) RETURNING o.name
                """).first?.decode("name", as: String.self) else { throw AppError.forbidden("Only an owner can delete the organization.") }
            try Audit.record(connection, AuditActor(caller), .organizationDelete, organization: id, object: AuditObject("organization", id, name))
        }
    }
}

extension Store {
    package func listTeams(_ caller: Caller, organizationID: UUID, page: Page) throws -> Paged<TeamRecord> {
        let member = try database.query("SELECT 1 FROM organizations o WHERE o.id = \(organizationID) AND \(Access.organizationMember(caller, organizationColumn: "o.id"))").rowCount > 0
        guard member else { throw AppError.notFound("No such organization.") }
        let result = try database.query("""
            SELECT t.*, count(*) OVER () AS total FROM teams t
            WHERE t.organization_id = \(organizationID) AND \(Access.team(caller, organizationColumn: "t.organization_id", teamColumn: "t.id"))
            ORDER BY t.name, t.id LIMIT \(page.limit) OFFSET \(page.offset)
            """)
        return try page.of(result, TeamRecord.init)
    }

    package func team(_ caller: Caller, id: UUID) throws -> TeamRecord {
        guard let row = try database.query("""
            SELECT t.* FROM teams t WHERE t.id = \(id) AND \(Access.team(caller, organizationColumn: "t.organization_id", teamColumn: "t.id"))
            """).first else { throw AppError.notFound("No such team.") }
        return try TeamRecord(row)
    }

    /// Creates a team (organization owners and admins); the creator joins it.
    package func createTeam(_ caller: Caller, organizationID: UUID, name: String, description: String) throws -> TeamRecord {
        guard let user = caller.userID else { throw AppError.notFound("No such organization.") }
        try caller.requireWrite()
        let role = try database.query("""
            SELECT m.role FROM organization_members m WHERE m.organization_id = \(organizationID) AND m.user_id = \(user)
            """).first?.decode("role", as: String.self)
        guard let role else { throw AppError.notFound("No such organization.") }
        guard role == "owner" || role == "admin" else { throw AppError.forbidden("Only an owner or admin can create teams.") }
        return try Store.withUniqueSlug(name) { slug in
            try database.transaction { connection in
                let row = try connection.query("""
                    INSERT INTO teams (organization_id, name, slug, description) VALUES (\(organizationID), \(name), \(slug), \(description))
                    RETURNING *
                    """).first!
                let team = try TeamRecord(row)
                try connection.query("""
                    INSERT INTO team_members (organization_id, team_id, user_id) VALUES (\(organizationID), \(team.id), \(user))
                    """)
                try Audit.record(connection, AuditActor(caller), .teamCreate, organization: organizationID,
                                 object: AuditObject("team", team.id, name), new: [("name", name), ("description", description)])
                return team
            }
        }
    }

    package func updateTeam(_ caller: Caller, id: UUID, name: String?, description: String?) throws -> TeamRecord {
        try caller.requireWrite()
        _ = try team(caller, id: id)
        return try database.transaction { connection in
            guard let before = try connection.query("""
                SELECT t.* FROM teams t WHERE t.id = \(id) AND \(Access.organizationAdmin(caller, organizationColumn: "t.organization_id")) FOR UPDATE
                """).first.map(TeamRecord.init) else { throw AppError.forbidden("Only an owner or admin of the organization can change a team.") }
            let after = try TeamRecord(try connection.query("""
                UPDATE teams t SET name = coalesce(\(name), t.name), description = coalesce(\(description), t.description)
                WHERE t.id = \(id) RETURNING t.*
                """).first!)
            let (old, new) = Audit.changes([("name", before.name, after.name), ("description", before.description, after.description)])
            if !old.isEmpty {
                try Audit.record(connection, AuditActor(caller), .teamUpdate, organization: after.organizationID,
                                 object: AuditObject("team", id, after.name), old: old, new: new)
            }
            return after
        }
    }

    package func deleteTeam(_ caller: Caller, id: UUID) throws {
        try caller.requireWrite()
        _ = try team(caller, id: id)
        try database.transaction { connection in
            guard let row = try connection.query("""
                DELETE FROM teams t WHERE t.id = \(id) AND \(Access.organizationAdmin(caller, organizationColumn: "t.organization_id"))
                RETURNING t.organization_id, t.name
                """).first else { throw AppError.forbidden("Only an owner or admin of the organization can delete a team.") }
            try Audit.record(connection, AuditActor(caller), .teamDelete, organization: try row.decode("organization_id"),
                             object: AuditObject("team", id, try row.decode("name")))
        }
    }
}
