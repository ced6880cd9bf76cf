import Foundation
import Postgres

extension Store {
    package static let roles = ["owner", "admin", "member"]

    package func listOrganizationMembers(_ caller: Caller, organizationID: UUID, page: Page) throws -> Paged<MemberRecord> {
        _ = try organization(caller, id: organizationID)
        let result = try database.query("""
            SELECT u.id AS user_id, u.email, u.name, m.role, m.created_at, count(*) OVER () AS total
            FROM organization_members m JOIN users u ON u.id = m.user_id
            WHERE m.organization_id = \(organizationID)
            ORDER BY lower(u.email) LIMIT \(page.limit) OFFSET \(page.offset)
            """)
        return try page.of(result, MemberRecord.init)
    }

    package func updateOrganizationMember(_ caller: Caller, organizationID: UUID, userID: UUID, role: String) throws -> MemberRecord {
        guard let me = caller.userID else { throw AppError.notFound("No such organization.") }
        try caller.requireWrite()
        return try database.transaction { connection in
            let myRole = try connection.query("""
                SELECT role FROM organization_members WHERE organization_id = \(organizationID) AND user_id = \(me) FOR UPDATE
                """).first?.decode("role", as: String.self)
            guard let myRole else { throw AppError.notFound("No such organization.") }
            guard let current = try connection.query("""
                SELECT role FROM organization_members WHERE organization_id = \(organizationID) AND user_id = \(userID) FOR UPDATE
                """).first?.decode("role", as: String.self) else { throw AppError.notFound("No such member.") }
            guard myRole == "owner" || myRole == "admin" else { throw AppError.forbidden("Only an owner or admin can change roles.") }
            if (role == "owner" || current == "owner") && myRole != "owner" {
                throw AppError.forbidden("Only an owner can grant or take away the owner role.")
            }
            if current == "owner" && role != "owner" { try Store.keepAnOwner(connection, organizationID: organizationID, leaving: userID) }
            try connection.query("""
                UPDATE organization_members SET role = \(role) WHERE organization_id = \(organizationID) AND user_id = \(userID)
                """)
            let member = try MemberRecord(try connection.query("""
                SELECT u.id AS user_id, u.email, u.name, m.role, m.created_at FROM organization_members m JOIN users u ON u.id = m.user_id
                WHERE m.organization_id = \(organizationID) AND m.user_id = \(userID)
                """).first!)
            if current != role {
                try Audit.record(connection, AuditActor(caller), .memberRole, organization: organizationID,
                                 object: AuditObject("user", userID, member.email), old: [("role", current)], new: [("role", role)])
            }
            return member
        }
    }

    /// Removes a member (admins), or leaves (anyone, for themselves). The last owner cannot go.
    package func removeOrganizationMember(_ caller: Caller, organizationID: UUID, userID: UUID) throws {
        guard let me = caller.userID else { throw AppError.notFound("No such organization.") }
        try caller.requireWrite()
        try database.transaction { connection in
            let myRole = try connection.query("""
                SELECT role FROM organization_members WHERE organization_id = \(organizationID) AND user_id = \(me)
                """).first?.decode("role", as: String.self)
            guard let myRole else { throw AppError.notFound("No such organization.") }
            guard let current = try connection.query("""
                SELECT role FROM organization_members WHERE organization_id = \(organizationID) AND user_id = \(userID) FOR UPDATE
                """).first?.decode("role", as: String.self) else { throw AppError.notFound("No such member.") }
            if userID != me {
                guard myRole == "owner" || myRole == "admin" else { throw AppError.forbidden("Only an owner or admin can remove members.") }
                if current == "owner" && myRole != "owner" { throw AppError.forbidden("Only an owner can remove an owner.") }
            }
            if current == "owner" { try Store.keepAnOwner(connection, organizationID: organizationID, leaving: userID) }
            try connection.query("DELETE FROM organization_members WHERE organization_id = \(organizationID) AND user_id = \(userID)")
            let email = try connection.query("SELECT email FROM users WHERE id = \(userID)").first?.decode("email", as: String.self) ?? ""
            try Audit.record(connection, AuditActor(caller), userID == me ? .memberLeave : .memberRemove, organization: organizationID,
                             object: AuditObject("user", userID, email), old: [("role", current)])
        }
    }

    package static func keepAnOwner(_ connection: DatabaseConnection, organizationID: UUID, leaving userID: UUID) throws {
        let others = try connection.query("""
            SELECT count(*) AS n FROM organization_members
            WHERE organization_id = \(organizationID) AND role = 'owner' AND user_id <> \(userID)
            """).first!.decode("n", as: Int.self)
        if others == 0 { throw AppError.conflict("An organization needs at least one owner; make someone else owner first.") }
    }

    package func listTeamMembers(_ caller: Caller, teamID: UUID, page: Page) throws -> Paged<MemberRecord> {
        _ = try team(caller, id: teamID)
        let result = try database.query("""
            SELECT u.id AS user_id, u.email, u.name, tm.created_at, count(*) OVER () AS total
            FROM team_members tm JOIN users u ON u.id = tm.user_id
            WHERE tm.team_id = \(teamID) ORDER BY lower(u.email) LIMIT \(page.limit) OFFSET \(page.offset)
            """)
        return try page.of(result, MemberRecord.init)
    }

    /// Adds an organization member to a team (organization owners and admins).
    package func addTeamMember(_ caller: Caller, teamID: UUID, userID: UUID?, email: String?) throws -> MemberRecord {
        try caller.requireWrite()
        let teamName = try team(caller, id: teamID).name
        guard let team = try database.query("""
            SELECT t.organization_id FROM teams t WHERE t.id = \(teamID) AND \(Access.organizationAdmin(caller, organizationColumn: "t.organization_id"))
            """).first else { throw AppError.forbidden("Only an owner or admin of the organization can change team members.") }
        let organizationID: UUID = try team.decode("organization_id")
        guard let member = try database.query("""
            SELECT u.id FROM users u JOIN organization_members m ON m.user_id = u.id AND m.organization_id = \(organizationID)
            WHERE u.id = coalesce(\(userID), u.id) AND lower(u.email) = lower(coalesce(\(email), u.email))
            LIMIT 1
            """).first else {
            throw AppError.invalid(email == nil ? "user_id" : "email", "That person is not a member of the organization; add them there first.")
        }
        let memberID: UUID = try member.decode("id")
        return try database.transaction { connection in
            let inserted = try connection.query("""
                INSERT INTO team_members (organization_id, team_id, user_id) VALUES (\(organizationID), \(teamID), \(memberID))
                ON CONFLICT DO NOTHING RETURNING user_id
                """).rowCount
            if inserted == 0 { throw AppError.conflict("Already a member of this team.", field: "user_id") }
            let added = try MemberRecord(try connection.query("""
                SELECT u.id AS user_id, u.email, u.name, tm.created_at FROM team_members tm JOIN users u ON u.id = tm.user_id
                WHERE tm.team_id = \(teamID) AND tm.user_id = \(memberID)
                """).first!)
            try Audit.record(connection, AuditActor(caller), .teamMemberAdd, organization: organizationID,
                             object: AuditObject("user", memberID, added.email), new: [("team", teamName), ("team_id", teamID.lowercaseText)])
            return added
        }
    }

    package func removeTeamMember(_ caller: Caller, teamID: UUID, userID: UUID) throws {
        try caller.requireWrite()
        let teamName = try team(caller, id: teamID).name
        let allowed = try database.query("""
            SELECT 1 FROM teams t WHERE t.id = \(teamID) AND \(Access.organizationAdmin(caller, organizationColumn: "t.organization_id"))
            """).rowCount > 0
        if !allowed && caller.userID != userID {
            throw AppError.forbidden("Only an owner or admin of the organization can change team members.")
        }
        try database.transaction { connection in
            guard let row = try connection.query("""
                DELETE FROM team_members tm USING users u WHERE tm.team_id = \(teamID) AND tm.user_id = \(userID) AND u.id = tm.user_id
                RETURNING tm.organization_id, u.email
                """).first else { throw AppError.notFound("No such team member.") }
            try Audit.record(connection, AuditActor(caller), .teamMemberRemove, organization: try row.decode("organization_id"),
                             object: AuditObject("user", userID, try row.decode("email")), old: [("team", teamName), ("team_id", teamID.lowercaseText)])
        }
    }
}
