import Foundation
import Postgres

// The lookups of the management pages: an organization or team named by its slugs in a page's path, and what a
// confirmation page shows. Each carries the caller's access rule in the same statement (404 otherwise).
extension Store {
    /// The organization with this slug that the signed-in caller is a member of.
    package func organization(_ caller: Caller, slug: String) throws -> (id: UUID, slug: String) {
        guard let user = caller.userID, let row = try database.query("""
            SELECT o.id, o.slug FROM organizations o JOIN organization_members m ON m.organization_id = o.id AND m.user_id = \(user)
            WHERE o.slug = \(slug)
            """).first else { throw AppError.notFound("No such organization.") }
        return (try row.decode("id"), try row.decode("slug"))
    }

    /// The team at `/o/{organization}/{team}` the caller may read: its id and the slugs of the path.
    package func team(_ caller: Caller, organization: String, team: String) throws -> (id: UUID, slugs: [String]) {
        guard let row = try database.query("""
            SELECT t.id, o.slug AS org_slug, t.slug FROM teams t JOIN organizations o ON o.id = t.organization_id
            WHERE o.slug = \(organization) AND t.slug = \(team)
              AND \(Access.team(caller, organizationColumn: "t.organization_id", teamColumn: "t.id"))
            """).first else { throw AppError.notFound("No such team.") }
        return (try row.decode("id"), [try row.decode("org_slug"), try row.decode("slug")])
    }

    /// Whether `experimentID` is an experiment of the project.
    package func experimentExists(_ experimentID: UUID, inProject projectID: UUID) throws -> Bool {
        try database.query("SELECT 1 FROM experiments WHERE id = \(experimentID) AND project_id = \(projectID)").first != nil
    }

    /// What deleting a project would take with it (its id was looked up for the caller already).
    package func projectContents(_ projectID: UUID) throws -> (name: String, runs: Int, samples: Int) {
        let row = try database.query("""
            SELECT p.name, (SELECT count(*) FROM runs r WHERE r.project_id = p.id) AS runs,
                   (SELECT coalesce(sum(sample_count), 0) FROM runs r WHERE r.project_id = p.id)::bigint AS samples
            FROM projects p WHERE p.id = \(projectID)
            """).first
        guard let row else { throw AppError.notFound("No such project.") }
        return (try row.decode("name"), try row.decode("runs"), try row.decode("samples"))
    }
}
