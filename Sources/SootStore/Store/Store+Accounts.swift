import Foundation
import Postgres

extension Store {
    /// The user whose email and password these are (an enabled account), or nil. The password is checked against
    /// a decoy hash when there is no such account, so both answers take as long.
    package func signIn(email: String, password: String) throws -> UUID? {
        let row = try database.query("""
            SELECT id, password_hash FROM users WHERE lower(email) = lower(\(email)) AND disabled_at IS NULL
            """).first
        let hash = try row?.decode("password_hash", as: String.self) ?? PasswordHasher.decoy
        let valid = PasswordHasher.verify(password, against: hash) && row != nil
        guard valid else { return nil }
        return try row?.decode("id", as: UUID.self)
    }

    /// Ends every session and revokes every personal token of the user.
    package func endCredentials(userID: UUID) throws -> Accounts.Ended {
        try database.transaction { try Accounts.endCredentials($0, userID: userID) }
    }

    /// A run as the home page lists it.
    package struct RecentRun: Sendable {
        package let id: UUID
        package let startedAt: Date
        package let emissionsKg: Double
        package let experiment: String
        package let project: String
    }

    /// The caller's latest runs, newest first.
    package func recentRuns(_ caller: Caller, limit: Int = 10) throws -> [RecentRun] {
        try database.query("""
            SELECT r.id, r.started_at, r.emissions_kg, e.name AS experiment, p.name AS project FROM runs r
            JOIN experiments e ON e.id = r.experiment_id JOIN projects p ON p.id = r.project_id
            WHERE \(Store.projectAccess(caller, "r", idColumn: "project_id"))
            ORDER BY r.started_at DESC LIMIT \(limit)
            """).rows.map { row in
            RecentRun(id: try row.decode("id"), startedAt: try row.decode("started_at"), emissionsKg: try row.decode("emissions_kg"),
                      experiment: try row.decode("experiment"), project: try row.decode("project"))
        }
    }
}
