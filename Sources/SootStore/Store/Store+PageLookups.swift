import Foundation
import Postgres

// The lookups of the management pages: an organization or team named by its slugs in a page's path, and what a
// confirmation page shows. Each carries the caller's access rule in the same statement (404 otherwise).
extension Store {
    /// The organization with this slug that the signed-in caller is a member of (the dashboard's lookup).
    package func organization(_ caller: Caller, slug: String) throws -> (id: UUID, slug: String) {
        let page = try organizationPage(caller, slug: slug)
        return (page.id, page.trail[0].segment)
    }

    /// The team at `/o/{organization}/{team}` the caller may read: its id and the slugs of the path.
    package func team(_ caller: Caller, organization: String, team: String) throws -> (id: UUID, slugs: [String]) {
        let page = try teamPage(caller, organization: organization, team: team)
        return (page.id, page.trail.map(\.segment))
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
