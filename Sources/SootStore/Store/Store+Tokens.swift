import Foundation
import Postgres

extension Store {
    /// Creates a token; returns its description and the token itself (shown once).
    package static func insertToken(
        _ connection: DatabaseConnection, kind: TokenFormat.Kind, name: String, scope: String,
        userID: UUID?, organizationID: UUID?, projectID: UUID?, createdBy: UUID?, expiresInDays: Int?
    ) throws -> (TokenRecord, String) {
        for _ in 0..<5 {
            let token = TokenFormat.generate(kind)
            do {
                let row = try connection.query("""
                    INSERT INTO api_tokens AS t (kind, name, prefix, secret_hash, scope, user_id, organization_id, project_id, created_by, expires_at)
                    VALUES (\(kind.databaseValue), \(name), \(TokenFormat.prefix(of: token)), \(TokenFormat.hash(token)), \(scope),
                            \(userID), \(organizationID), \(projectID), \(createdBy),
                            CASE WHEN \(expiresInDays)::int IS NULL THEN NULL ELSE now() + make_interval(days => \(expiresInDays)) END)
                    RETURNING \(unsafeSQL: Representation.tokenColumns)
                    """).first!
                return (try TokenRecord(row), token)
            } catch let error as DatabaseError where error.isUniqueViolation {
                continue
            }
        }
        throw AppError(.internalServerError, code: "internal", "Could not create a token.")
    }

    package func listPersonalTokens(_ caller: Caller, page: Page) throws -> Paged<TokenRecord> {
        let user = try caller.requireUser()
        let result = try database.query("""
            SELECT \(unsafeSQL: Representation.tokenColumns), count(*) OVER () AS total FROM api_tokens t
            WHERE t.kind = 'personal' AND t.user_id = \(user)
            ORDER BY t.created_at DESC LIMIT \(page.limit) OFFSET \(page.offset)
            """)
        return try page.of(result, TokenRecord.init)
    }

    package func createPersonalToken(_ caller: Caller, name: String, scope: String, expiresInDays: Int?) throws -> (TokenRecord, String) {
        let user = try caller.requireUser()
        try caller.requireWrite()
        return try database.withConnection { connection in
            try Store.insertToken(connection, kind: .personal, name: name, scope: scope, userID: user, organizationID: nil,
                                  projectID: nil, createdBy: user, expiresInDays: expiresInDays)
        }
    }

    package func revokePersonalToken(_ caller: Caller, id: UUID) throws {
        let user = try caller.requireUser()
        try caller.requireWrite()
        let changed = try database.query("""
            UPDATE api_tokens SET revoked_at = coalesce(revoked_at, now())
            WHERE id = \(id) AND kind = 'personal' AND user_id = \(user)
            """).affectedRows
        if changed == 0 { throw AppError.notFound("No such token.") }
    }

    package func listProjectTokens(_ caller: Caller, projectID: UUID, page: Page) throws -> Paged<TokenRecord> {
        _ = try project(caller, id: projectID)
        _ = try caller.requireUser()
        let result = try database.query("""
            SELECT \(unsafeSQL: Representation.tokenColumns), count(*) OVER () AS total FROM api_tokens t
            WHERE t.kind = 'project' AND t.project_id = \(projectID)
            ORDER BY t.created_at DESC LIMIT \(page.limit) OFFSET \(page.offset)
            """)
        return try page.of(result, TokenRecord.init)
    }

    package func createProjectToken(_ caller: Caller, projectID: UUID, name: String, scope: String, expiresInDays: Int?) throws -> (TokenRecord, String) {
        _ = try project(caller, id: projectID)
        let user = try caller.requireUser()
        try caller.requireWrite()
        guard let project = try database.query("""
            SELECT p.organization_id FROM projects p WHERE p.id = \(projectID) AND \(Store.projectAccess(caller))
            """).first else { throw AppError.notFound("No such project.") }
        let organizationID: UUID = try project.decode("organization_id")
        return try database.withConnection { connection in
            try Store.insertToken(connection, kind: .project, name: name, scope: scope, userID: nil, organizationID: organizationID,
                                  projectID: projectID, createdBy: user, expiresInDays: expiresInDays)
        }
    }

    package func revokeProjectToken(_ caller: Caller, projectID: UUID, tokenID: UUID) throws {
        _ = try project(caller, id: projectID)
        _ = try caller.requireUser()
        try caller.requireWrite()
        let changed = try database.query("""
            UPDATE api_tokens t SET revoked_at = coalesce(t.revoked_at, now())
            WHERE t.id = \(tokenID) AND t.kind = 'project' AND t.project_id = \(projectID)
            """).affectedRows
        if changed == 0 { throw AppError.notFound("No such token.") }
    }

    package func me(_ caller: Caller) throws -> UserRecord {
        let user = try caller.requireUser()
        guard let row = try database.query("SELECT id, email, name, is_operator, created_at FROM users WHERE id = \(user)").first else {
            throw AppError.unauthorized()
        }
        return try UserRecord(row)
    }
}
