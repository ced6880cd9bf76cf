import Emissions
import Postgres

/// Where a level lives in the database: its table and the key column rows below it carry. Fixed SQL literals per
/// case, so no table or column name is ever a string computed at run time.
extension Level {
    package var table: SQLQuery {
        switch self {
        case .organization: "organizations"
        case .team: "teams"
        case .project: "projects"
        case .experiment: "experiments"
        case .run: "runs"
        }
    }

    /// The column naming an item of this level in the rows below it (`team_id` in projects, rollups and runs).
    package var keyColumn: SQLQuery {
        switch self {
        case .organization: "organization_id"
        case .team: "team_id"
        case .project: "project_id"
        case .experiment: "experiment_id"
        case .run: "run_id"
        }
    }

    /// Whether its pages are addressed by slug (teams, projects) or by id (experiments, runs).
    package var hasSlug: Bool { self == .organization || self == .team || self == .project }
}
