import Emissions
import Foundation
import Postgres

extension Store {
    /// A member as the management forms list them.
    package struct MemberRow: Sendable, Equatable {
        package let id: UUID
        package let email: String
        /// The organization role; nil in a team's list.
        package let role: String?
    }

    /// A pending invitation as the organization page lists it (never its secret).
    package struct PendingInvitation: Sendable, Equatable {
        package let id: UUID
        package let email: String
        package let role: String
        package let expiresAt: Date
    }

    /// What the management forms of a scope's page show to this caller; `.none` when they may not manage anything.
    package enum ManagementPanel: Sendable, Equatable {
        case none
        /// An owner or admin: the members and their roles, the pending invitations, a form for teams.
        case organization(members: [MemberRow], invitations: [PendingInvitation])
        /// A team: projects for its members; members and renaming for organization owners and admins.
        case team(admin: Bool, members: [MemberRow])
        case project
        case experiment
    }

    /// The management panel of the item `id` of `level`.
    package func managementPanel(_ caller: Caller, level: Level, id: UUID) throws -> ManagementPanel {
        guard let user = caller.userID, case .session = caller.credential else { return .none }
        switch level {
        case .organization:
            let role = try database.query("SELECT role FROM organization_members WHERE organization_id = \(id) AND user_id = \(user)")
                .first?.decode("role", as: String.self) ?? "member"
            guard role == "owner" || role == "admin" else { return .none }
            let members = try database.query("""
                SELECT u.id, u.email, m.role FROM organization_members m JOIN users u ON u.id = m.user_id
                WHERE m.organization_id = \(id) ORDER BY lower(u.email)
                """).rows.map { MemberRow(id: try $0.decode("id"), email: try $0.decode("email"), role: try $0.decode("role", as: String.self)) }
            let invitations = try database.query("""
                SELECT id, email, role, expires_at FROM invitations
                WHERE organization_id = \(id) AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > now() ORDER BY created_at DESC
                """).rows.map {
                PendingInvitation(id: try $0.decode("id"), email: try $0.decode("email"), role: try $0.decode("role"),
                                  expiresAt: try $0.decode("expires_at"))
            }
            return .organization(members: members, invitations: invitations)
        case .team:
            let admin = try database.query("""
                SELECT 1 FROM teams t WHERE t.id = \(id) AND \(Access.organizationAdmin(caller, organizationColumn: "t.organization_id"))
                """).first != nil
            guard admin else { return .team(admin: false, members: []) }
            let members = try database.query("""
                SELECT u.id, u.email FROM team_members tm JOIN users u ON u.id = tm.user_id WHERE tm.team_id = \(id) ORDER BY lower(u.email)
                """).rows.map { MemberRow(id: try $0.decode("id"), email: try $0.decode("email"), role: nil) }
            return .team(admin: true, members: members)
        case .project:
            return .project
        case .experiment:
            return caller.canWrite ? .experiment : .none
        case .run:
            return .none
        }
    }
}
