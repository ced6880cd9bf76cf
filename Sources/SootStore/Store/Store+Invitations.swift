import Foundation
import Postgres

/// Invitations to an organization (and optionally one of its teams): the only way a person joins one.
///
/// An owner or admin invites an email with a role; the answer carries a single-use link with a secret, shown once
/// to the inviter, that expires after `Store.invitationLifetimeDays`. The invitation is accepted by the person
/// signed in with that email (an existing account), or by whoever sets a password for a new account with that
/// email on the link's page. Inviting says nothing about whether the email has an account.
extension Store {
    package static let invitationLifetimeDays = 7

    /// A pending invitation found by the secret of its link.
    package struct Invitation: Sendable {
        package let id: UUID
        package let organizationID: UUID
        package let organizationName: String
        package let organizationSlug: String
        package let teamID: UUID?
        package let teamName: String?
        package let email: String
        package let role: String
        package let invitedBy: String?
        package let expiresAt: Date
    }

    package static func invitationSecretHash(_ secret: String) -> String { Crypto.sha256Hex(secret) }

    /// The path of an invitation's page.
    package static func invitationPath(_ secret: String) -> String { "/invitations/" + secret }

    /// Creates an invitation (owners and admins; only owners invite owners). Returns its representation and the
    /// link's secret, which is not stored and cannot be shown again.
    package func createInvitation(_ caller: Caller, organizationID: UUID, email: String, role: String, teamID: UUID?) throws -> (InvitationRecord, String) {
        guard let me = caller.userID else { throw AppError.notFound("No such organization.") }
        try caller.requireWrite()
        guard let email = Accounts.validEmail(email) else { throw AppError.invalid("email", "email must be an email address.") }
        guard Store.roles.contains(role) else { throw AppError.invalid("role", "role must be owner, admin or member.") }
        let myRole = try database.query("""
            SELECT role FROM organization_members WHERE organization_id = \(organizationID) AND user_id = \(me)
            """).first?.decode("role", as: String.self)
        guard let myRole else { throw AppError.notFound("No such organization.") }
        guard myRole == "owner" || myRole == "admin" else { throw AppError.forbidden("Only an owner or admin can invite people.") }
        if role == "owner" && myRole != "owner" { throw AppError.forbidden("Only an owner can invite an owner.") }
        if let teamID, try database.query("SELECT 1 FROM teams WHERE id = \(teamID) AND organization_id = \(organizationID)").first == nil {
            throw AppError.invalid("team_id", "team_id must be a team of this organization.")
        }
        let secret = Crypto.randomToken(bytes: 24)
        return try database.transaction { connection in
            let row = try connection.query("""
                INSERT INTO invitations (organization_id, team_id, email, role, secret_hash, invited_by, expires_at)
                VALUES (\(organizationID), \(teamID), \(email), \(role), \(Store.invitationSecretHash(secret)), \(me),
                        now() + make_interval(days => \(Store.invitationLifetimeDays)))
                RETURNING id, organization_id, team_id, email, role, created_at, expires_at
                """).first!
            var invitation = try InvitationRecord(row)
            invitation.link = Store.invitationPath(secret)
            try Audit.record(connection, AuditActor(caller), .invitationCreate, organization: organizationID,
                             object: AuditObject("invitation", invitation.id, email),
                             new: [("role", role), ("team_id", teamID?.lowercaseText)])
            return (invitation, secret)
        }
    }

    /// Pending invitations of an organization (owners and admins).
    package func listInvitations(_ caller: Caller, organizationID: UUID) throws -> [InvitationRecord] {
        try requireOrganizationAdmin(caller, organizationID: organizationID)
        let rows = try database.query("""
            SELECT id, organization_id, team_id, email, role, created_at, expires_at FROM invitations
            WHERE organization_id = \(organizationID) AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > now()
            ORDER BY created_at DESC LIMIT 500
            """).rows
        return try rows.map(InvitationRecord.init)
    }

    /// Withdraws a pending invitation (owners and admins): its link stops working.
    package func revokeInvitation(_ caller: Caller, organizationID: UUID, invitationID: UUID) throws {
        try requireOrganizationAdmin(caller, organizationID: organizationID)
        try database.transaction { connection in
            guard let row = try connection.query("""
                UPDATE invitations SET revoked_at = now()
                WHERE id = \(invitationID) AND organization_id = \(organizationID) AND accepted_at IS NULL AND revoked_at IS NULL
                RETURNING email, role
                """).first else { throw AppError.notFound("No such pending invitation.") }
            try Audit.record(connection, AuditActor(caller), .invitationRevoke, organization: organizationID,
                             object: AuditObject("invitation", invitationID, try row.decode("email")), old: [("role", row["role"])])
        }
    }

    private func requireOrganizationAdmin(_ caller: Caller, organizationID: UUID) throws {
        guard let me = caller.userID, let role = try database.query("""
            SELECT role FROM organization_members WHERE organization_id = \(organizationID) AND user_id = \(me)
            """).first?.decode("role", as: String.self) else { throw AppError.notFound("No such organization.") }
        guard role == "owner" || role == "admin" else { throw AppError.forbidden("Only an owner or admin can see invitations.") }
    }

    /// The pending invitation behind a link's secret; 404 when it is unknown, used, withdrawn or expired (one
    /// answer for all four, so a link says nothing once it is no longer good).
    package func invitation(secret: String) throws -> Invitation {
        guard secret.utf8.count <= 100, let row = try database.query("""
            SELECT i.id, i.organization_id, o.name AS organization_name, o.slug AS organization_slug, i.team_id, t.name AS team_name,
                   i.email, i.role, u.email AS invited_by, i.expires_at
            FROM invitation_links l JOIN invitations i ON i.organization_id = l.organization_id AND i.id = l.invitation_id
            JOIN organizations o ON o.id = i.organization_id
            LEFT JOIN teams t ON t.organization_id = i.organization_id AND t.id = i.team_id LEFT JOIN users u ON u.id = i.invited_by
            WHERE l.secret_hash = \(Store.invitationSecretHash(secret)) AND i.accepted_at IS NULL AND i.revoked_at IS NULL
              AND i.expires_at > now()
            """).first else { throw AppError.notFound("This invitation is not valid: it was used, withdrawn or has expired.") }
        return Invitation(id: try row.decode("id"), organizationID: try row.decode("organization_id"),
                          organizationName: try row.decode("organization_name"), organizationSlug: try row.decode("organization_slug"),
                          teamID: try row.decode("team_id", as: UUID?.self), teamName: try row.decode("team_name", as: String?.self),
                          email: try row.decode("email"), role: try row.decode("role"),
                          invitedBy: try row.decode("invited_by", as: String?.self), expiresAt: try row.decode("expires_at"))
    }

    /// Accepts the invitation behind `secret` as the signed-in person, whose email must be the invited one.
    /// Joining twice keeps the role already held. Returns the organization's id and slug.
    @discardableResult
    package func acceptInvitation(_ caller: Caller, secret: String) throws -> (id: UUID, slug: String) {
        let user = try caller.requireUser()
        try caller.requireWrite()
        return try database.transaction { connection in
            try Store.accept(connection, secret: secret, userID: user, actor: AuditActor(caller), newAccount: false)
        }
    }

    /// Creates the account for an invitation's email with the password its holder chose, and accepts the
    /// invitation with it; refused when the email has an account already (that person signs in to accept).
    package func acceptInvitationWithNewAccount(secret: String, password: String, from origin: Caller = .anonymous) throws -> (userID: UUID, organization: (id: UUID, slug: String)) {
        let invitation = try invitation(secret: secret)
        guard password.count >= 10 else { throw AppError.invalid("password", "A password needs at least 10 characters.") }
        guard password.count <= 1000 else { throw AppError.invalid("password", "A password can have at most 1,000 characters.") }
        return try database.transaction { connection in
            if try Accounts.userID(connection, email: invitation.email) != nil {
                throw AppError.conflict("This email has an account already: log in, then open the invitation again to accept it.", field: "email")
            }
            let (userID, _) = try Accounts.createUser(connection, email: invitation.email, name: "", password: password)
            let actor = AuditActor(kind: .user, userID: userID, address: origin.address, requestID: origin.requestID)
            return (userID, try Store.accept(connection, secret: secret, userID: userID, actor: actor, newAccount: true))
        }
    }

    private static func accept(_ connection: DatabaseConnection, secret: String, userID: UUID, actor: AuditActor,
                               newAccount: Bool) throws -> (id: UUID, slug: String) {
        guard let row = try connection.query("""
            SELECT i.id, i.organization_id, i.team_id, i.email, i.role, o.slug
            FROM invitation_links l JOIN invitations i ON i.organization_id = l.organization_id AND i.id = l.invitation_id
            JOIN organizations o ON o.id = i.organization_id
            WHERE l.secret_hash = \(invitationSecretHash(secret)) AND i.accepted_at IS NULL AND i.revoked_at IS NULL AND i.expires_at > now()
            FOR UPDATE OF i
            """).first else { throw AppError.notFound("This invitation is not valid: it was used, withdrawn or has expired.") }
        let email: String = try row.decode("email")
        guard let me = try connection.query("SELECT email FROM users WHERE id = \(userID)").first?.decode("email", as: String.self) else {
            throw AppError.unauthorized()
        }
        guard me.lowercased() == email.lowercased() else {
            throw AppError.forbidden("This invitation is for another email address; log in with that one to accept it.")
        }
        let organizationID: UUID = try row.decode("organization_id")
        try connection.query("""
            INSERT INTO organization_members (organization_id, user_id, role) VALUES (\(organizationID), \(userID), \(try row.decode("role", as: String.self)))
            ON CONFLICT DO NOTHING
            """)
        if let teamID = try row.decode("team_id", as: UUID?.self) {
            try connection.query("""
                INSERT INTO team_members (organization_id, team_id, user_id) VALUES (\(organizationID), \(teamID), \(userID)) ON CONFLICT DO NOTHING
                """)
        }
        let invitationID: UUID = try row.decode("id")
        try connection.query("UPDATE invitations SET accepted_at = now(), accepted_by = \(userID) WHERE id = \(invitationID)")
        try Audit.record(connection, actor, .invitationAccept, organization: organizationID, object: AuditObject("invitation", invitationID, email),
                         new: [("role", row["role"]), ("team_id", row["team_id"]), ("new_account", String(newAccount))])
        return (organizationID, try row.decode("slug"))
    }
}
