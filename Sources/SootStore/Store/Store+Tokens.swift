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
        return try database.transaction { connection in
            let (record, token) = try Store.insertToken(connection, kind: .personal, name: name, scope: scope, userID: user, organizationID: nil,
                                                        projectID: nil, createdBy: user, expiresInDays: expiresInDays)
            try Audit.record(connection, AuditActor(caller), .tokenCreate, organization: nil,
                             object: AuditObject("personal_token", record.id, "\(name) (\(record.prefix)…)"),
                             new: [("scope", scope), ("expires_in_days", expiresInDays.map(String.init))])
            return (record, token)
        }
    }

    package func revokePersonalToken(_ caller: Caller, id: UUID) throws {
        let user = try caller.requireUser()
        try caller.requireWrite()
        try database.transaction { connection in
            guard let row = try connection.query("""
                SELECT name, prefix, revoked_at IS NOT NULL AS revoked FROM api_tokens WHERE id = \(id) AND kind = 'personal' AND user_id = \(user) FOR UPDATE
                """).first else { throw AppError.notFound("No such token.") }
            // Revoking a revoked token changes nothing and leaves no entry.
            guard try !row.decode("revoked", as: Bool.self) else { return }
            try connection.query("UPDATE api_tokens SET revoked_at = now() WHERE id = \(id)")
            try Audit.record(connection, AuditActor(caller), .tokenRevoke, organization: nil,
                             object: AuditObject("personal_token", id, "\(try row.decode("name", as: String.self)) (\(try row.decode("prefix", as: String.self))…)"))
        }
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
        return try database.transaction { connection in
            let (record, token) = try Store.insertToken(connection, kind: .project, name: name, scope: scope, userID: nil,
                                                        organizationID: organizationID, projectID: projectID, createdBy: user,
                                                        expiresInDays: expiresInDays)
            try Audit.record(connection, AuditActor(caller), .tokenCreate, organization: organizationID,
                             object: AuditObject("project_token", record.id, "\(name) (\(record.prefix)…)"),
                             new: [("project_id", projectID.lowercaseText), ("scope", scope), ("expires_in_days", expiresInDays.map(String.init))])
            return (record, token)
        }
    }

    package func revokeProjectToken(_ caller: Caller, projectID: UUID, tokenID: UUID) throws {
        _ = try project(caller, id: projectID)
        _ = try caller.requireUser()
        try caller.requireWrite()
        try database.transaction { connection in
            guard let row = try connection.query("""
                SELECT t.name, t.prefix, t.organization_id, t.revoked_at IS NOT NULL AS revoked FROM api_tokens t
                WHERE t.id = \(tokenID) AND t.kind = 'project' AND t.project_id = \(projectID) FOR UPDATE
                """).first else { throw AppError.notFound("No such token.") }
            guard try !row.decode("revoked", as: Bool.self) else { return }
            try connection.query("UPDATE api_tokens SET revoked_at = now() WHERE id = \(tokenID)")
            try Audit.record(connection, AuditActor(caller), .tokenRevoke, organization: try row.decode("organization_id", as: UUID?.self),
                             object: AuditObject("project_token", tokenID, "\(try row.decode("name", as: String.self)) (\(try row.decode("prefix", as: String.self))…)"),
                             old: [("project_id", projectID.lowercaseText)])
        }
    }

    package func me(_ caller: Caller) throws -> UserRecord {
        let user = try caller.requireUser()
        guard let row = try database.query("SELECT id, email, name, is_operator, created_at FROM users WHERE id = \(user)").first else {
            throw AppError.unauthorized()
        }
        return try UserRecord(row)
    }
}
