import Foundation
import HTTPServer
import Postgres

extension Store {
    /// A project found by its page's path (`/o/{org}/{team}/{project}`), if the caller may see it.
    struct ProjectPage: Sendable {
        let id: UUID
        /// The page's canonical path.
        let path: String
        /// Its first experiment, for the ready-made `.codecarbon.config`.
        let experiment: UUID?
    }

    /// The project named by the `org`, `team` and `project` path parameters of `request`; 404 when the caller may not
    /// see it (or it does not exist).
    func project(_ caller: Caller, at request: Request) throws -> ProjectPage {
        guard let row = try database.query("""
            SELECT p.id, o.slug AS org_slug, t.slug AS team_slug, p.slug,
                   (SELECT e.id FROM experiments e WHERE e.project_id = p.id ORDER BY e.created_at LIMIT 1) AS experiment
            FROM projects p JOIN teams t ON t.id = p.team_id JOIN organizations o ON o.id = p.organization_id
            WHERE o.slug = \(request.parameter("org") ?? "") AND t.slug = \(request.parameter("team") ?? "")
              AND p.slug = \(request.parameter("project") ?? "") AND \(Store.projectAccess(caller))
            """).first else { throw AppError.notFound("No such project.") }
        let path = "/o/" + FormDecoding.encode(try row.decode("org_slug", as: String.self)) + "/"
            + FormDecoding.encode(try row.decode("team_slug", as: String.self)) + "/" + FormDecoding.encode(try row.decode("slug", as: String.self))
        return ProjectPage(id: try row.decode("id"), path: path, experiment: try row.decode("experiment", as: UUID?.self))
    }
}
