import Foundation
import Postgres

extension Store {
    /// A project found by its page's path (`/o/{org}/{team}/{project}`), if the caller may see it.
    package struct ProjectPage: Sendable {
        package let id: UUID
        /// The slugs of its organization, team and itself: the page's path.
        package let slugs: [String]
        /// Its first experiment, for the ready-made `.codecarbon.config`.
        package let experiment: UUID?
    }

    /// The project at `/o/{organization}/{team}/{project}` (slugs); 404 when the caller may not see it (or it does
    /// not exist).
    package func project(_ caller: Caller, organization: String, team: String, project: String) throws -> ProjectPage {
        guard let row = try database.query("""
            SELECT p.id, o.slug AS org_slug, t.slug AS team_slug, p.slug,
                   (SELECT e.id FROM experiments e WHERE e.project_id = p.id ORDER BY e.created_at LIMIT 1) AS experiment
            FROM projects p JOIN teams t ON t.id = p.team_id JOIN organizations o ON o.id = p.organization_id
            WHERE o.slug = \(organization) AND t.slug = \(team) AND p.slug = \(project) AND \(Store.projectAccess(caller))
            """).first else { throw AppError.notFound("No such project.") }
        return ProjectPage(id: try row.decode("id"), slugs: [try row.decode("org_slug"), try row.decode("team_slug"), try row.decode("slug")],
                           experiment: try row.decode("experiment", as: UUID?.self))
    }
}
