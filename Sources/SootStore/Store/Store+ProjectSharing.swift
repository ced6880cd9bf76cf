import Foundation
import Postgres

extension Store {
    /// An active ingest token of a project, as its settings panel lists it (never the secret).
    package struct ProjectTokenSummary: Sendable, Equatable {
        package let id: UUID
        package let name: String
        package let prefix: String
        package let scope: String
        package let lastUsedAt: Date?
    }

    /// What a project's "send data" and sharing panels show.
    package struct ProjectSharing: Sendable, Equatable {
        package let tokens: [ProjectTokenSummary]
        package let isPublic: Bool
        /// The read-only public page, when sharing is on.
        package let publicPath: String?
    }

    /// The active ingest tokens and the sharing state of a project the caller can see.
    package func projectSharing(_ caller: Caller, projectID: UUID) throws -> ProjectSharing {
        guard let project = try database.query("""
            SELECT p.is_public, p.public_slug FROM projects p WHERE p.id = \(projectID) AND \(Store.projectAccess(caller))
            """).first else { throw AppError.notFound("No such project.") }
        let tokens = try database.query("""
            SELECT t.id, t.name, t.prefix, t.scope, t.last_used_at FROM api_tokens t
            WHERE t.kind = 'project' AND t.project_id = \(projectID) AND t.revoked_at IS NULL ORDER BY t.created_at DESC
            """).rows.map { row in
            ProjectTokenSummary(id: try row.decode("id"), name: try row.decode("name"), prefix: try row.decode("prefix"),
                                scope: try row.decode("scope"), lastUsedAt: try row.decode("last_used_at", as: Date?.self))
        }
        let isPublic: Bool = try project.decode("is_public")
        let slug = try project.decode("public_slug", as: String?.self)
        return ProjectSharing(tokens: tokens, isPublic: isPublic, publicPath: isPublic ? slug.map { "/p/" + $0 } : nil)
    }
}
