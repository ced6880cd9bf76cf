import Foundation
import Postgres

/// Who is making a request, as established from a session cookie or a token.
package struct Caller: Sendable {
    package enum Identity: Sendable, Equatable {
        case anonymous
        case user(UUID)
        /// A project ingest token: access to one project only.
        case project(projectID: UUID, organizationID: UUID, tokenID: UUID)
    }

    package enum Credential: Sendable, Equatable {
        case none
        case session(id: String, csrfToken: String)
        case personalToken(UUID)
        case projectToken(UUID)
    }

    package let identity: Identity
    package let credential: Credential
    /// False for read-scope tokens.
    package let canWrite: Bool
    /// A session whose user must choose their own password before anything else (pages send them to do so).
    package var mustChangePassword = false
    /// Where the request came from (the client's address through trusted proxies) and its `X-Request-Id`, for
    /// the audit trail.
    package var address: String?
    package var requestID: String?
    /// The primary's WAL position after this caller's last write (from the `soot_lsn` cookie or `Soot-LSN` header):
    /// their reads go to a replica only once it has replayed that far.
    package var minimumLSN: UInt64?

    package init(identity: Identity, credential: Credential, canWrite: Bool) {
        (self.identity, self.credential, self.canWrite) = (identity, credential, canWrite)
    }

    package static let anonymous = Caller(identity: .anonymous, credential: .none, canWrite: false)

    package var userID: UUID? {
        if case .user(let id) = identity { return id }
        return nil
    }

    package var isAuthenticated: Bool { identity != .anonymous }

    /// Throws 401 unless someone is authenticated.
    package func requireAuthenticated() throws -> Caller {
        guard isAuthenticated else { throw AppError.unauthorized() }
        return self
    }

    /// Throws 401 for nobody, 403 for read-only credentials.
    package func requireWrite() throws {
        guard isAuthenticated else { throw AppError.unauthorized() }
        guard canWrite else { throw AppError.forbidden("This token is read-only.") }
    }

    /// Throws unless the caller is a person (not a project token).
    package func requireUser() throws -> UUID {
        guard isAuthenticated else { throw AppError.unauthorized() }
        guard let id = userID else { throw AppError.forbidden("A project token cannot do this; use a personal access token.") }
        return id
    }
}

/// SQL predicates that decide, inside the query that reads a row, whether the caller may see or change it.
/// Rows below an organization carry organization_id, team_id and project_id, so the checks need no joins
/// up the tree.
package enum Access {
    /// The caller is a member (any role) of the organization in `organizationColumn`.
    package static func organizationMember(_ caller: Caller, organizationColumn: String) -> SQLQuery {
        guard let user = caller.userID else { return "false" }
        return """
            EXISTS (SELECT 1 FROM organization_members access_om
                    WHERE access_om.organization_id = \(unsafeSQL: organizationColumn) AND access_om.user_id = \(user))
            """
    }

    /// The caller is an owner or admin of the organization.
    package static func organizationAdmin(_ caller: Caller, organizationColumn: String) -> SQLQuery {
        guard let user = caller.userID else { return "false" }
        return """
            EXISTS (SELECT 1 FROM organization_members access_oa
                    WHERE access_oa.organization_id = \(unsafeSQL: organizationColumn) AND access_oa.user_id = \(user)
                      AND access_oa.role IN ('owner', 'admin'))
            """
    }

    /// The caller is an owner of the organization.
    package static func organizationOwner(_ caller: Caller, organizationColumn: String) -> SQLQuery {
        guard let user = caller.userID else { return "false" }
        return """
            EXISTS (SELECT 1 FROM organization_members access_oo
                    WHERE access_oo.organization_id = \(unsafeSQL: organizationColumn) AND access_oo.user_id = \(user)
                      AND access_oo.role = 'owner')
            """
    }

    /// The caller is a member of the team, or an admin of its organization.
    package static func team(_ caller: Caller, organizationColumn: String, teamColumn: String) -> SQLQuery {
        guard let user = caller.userID else { return "false" }
        return """
            (\(organizationAdmin(caller, organizationColumn: organizationColumn))
             OR EXISTS (SELECT 1 FROM team_members access_tm
                        WHERE access_tm.team_id = \(unsafeSQL: teamColumn) AND access_tm.user_id = \(user)))
            """
    }

    /// Team access, or a project token for this very project.
    package static func project(_ caller: Caller, organizationColumn: String, teamColumn: String, projectColumn: String) -> SQLQuery {
        switch caller.identity {
        case .anonymous:
            return "false"
        case .project(let projectID, let organizationID, _):
            return "(\(unsafeSQL: projectColumn) = \(projectID) AND \(unsafeSQL: organizationColumn) = \(organizationID))"
        case .user:
            return team(caller, organizationColumn: organizationColumn, teamColumn: teamColumn)
        }
    }
}
