import Emissions
import Foundation
import Postgres

extension Store {
    /// The user whose email and password these are (an enabled account), or nil. The password is checked against
    /// a decoy hash when there is no such account, so both answers take as long.
    /// A failure is recorded in the audit trail (`sign_in.failed`, with the email as typed); a success is recorded
    /// when its session is made (`SessionStore.create`).
    package func signIn(email: String, password: String, from origin: Caller = .anonymous) throws -> UUID? {
        let row = try database.query("""
            SELECT id, password_hash FROM users WHERE lower(email) = lower(\(email)) AND disabled_at IS NULL
            """).first
        let hash = try row?.decode("password_hash", as: String.self) ?? PasswordHasher.decoy
        let valid = PasswordHasher.verify(password, against: hash) && row != nil
        guard valid else {
            let user = try row?.decode("id", as: UUID.self)
            try database.withConnection { connection in
                try Audit.record(connection, AuditActor(origin), .signInFailed, organization: nil,
                                 object: AuditObject("user", user, String(email.prefix(320))))
            }
            return nil
        }
        return try row?.decode("id", as: UUID.self)
    }

    /// Ends every session and revokes every personal token of the user ("sign out everywhere").
    package func endCredentials(_ caller: Caller) throws -> Accounts.Ended {
        let user = try caller.requireUser()
        return try database.transaction { connection in
            let ended = try Accounts.endCredentials(connection, userID: user)
            try Audit.record(connection, AuditActor(caller), .signOutEverywhere, organization: nil, object: AuditObject("user", user),
                             new: [("sessions_ended", String(ended.sessions)), ("personal_tokens_revoked", String(ended.personalTokens))])
            return ended
        }
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

    /// A team's emissions over the last 7 UTC days (today included) and the 7 before, for the home page.
    package struct TeamWeek: Sendable {
        package let organization: String
        package let organizationSlug: String
        package let team: String
        package let teamSlug: String
        package let lastSevenDaysKg: Double
        package let sevenDaysBeforeKg: Double
    }

    /// The teams the user is a member of, with their last 7 days against the 7 before, by organization and team.
    package func teamWeeks(_ caller: Caller, now: Date = Date()) throws -> [TeamWeek] {
        guard let user = caller.userID else { return [] }
        let today = UTCDay.string(now.timeIntervalSince1970)
        return try database.query("""
            SELECT o.name AS organization, o.slug AS organization_slug, t.name AS team, t.slug AS team_slug,
                   coalesce(sum(d.emissions_kg) FILTER (WHERE d.day > \(today)::date - 7), 0) AS recent,
                   coalesce(sum(d.emissions_kg) FILTER (WHERE d.day <= \(today)::date - 7), 0) AS before
            FROM team_members m JOIN teams t ON t.id = m.team_id JOIN organizations o ON o.id = t.organization_id
            LEFT JOIN experiment_days d ON d.team_id = t.id AND d.day > \(today)::date - 14 AND d.day <= \(today)::date
            WHERE m.user_id = \(user)
            GROUP BY o.name, o.slug, t.id, t.name, t.slug
            ORDER BY lower(o.name), lower(t.name)
            LIMIT 50
            """).rows.map { row in
            TeamWeek(organization: try row.decode("organization"), organizationSlug: try row.decode("organization_slug"),
                     team: try row.decode("team"), teamSlug: try row.decode("team_slug"),
                     lastSevenDaysKg: try row.decode("recent"), sevenDaysBeforeKg: try row.decode("before"))
        }
    }

    /// The runs the caller may read whose id starts with `prefix` (4 to 36 characters of hex and hyphens, as
    /// titles show the first 8), at most `limit`: the id range the prefix covers, so the primary key answers.
    package func runs(_ caller: Caller, idPrefix prefix: String, limit: Int = 2) throws -> [UUID] {
        let text = prefix.lowercased()
        let hex = text.filter { $0 != "-" }
        guard (4...32).contains(hex.count), hex.allSatisfy({ $0.isHexDigit }) else { return [] }
        func bound(_ fill: Character) -> UUID? {
            let digits = Array(hex + String(repeating: fill, count: 32 - hex.count))
            let grouped = [0..<8, 8..<12, 12..<16, 16..<20, 20..<32].map { String(digits[$0]) }.joined(separator: "-")
            return UUID(uuidString: grouped)
        }
        guard let low = bound("0"), let high = bound("f") else { return [] }
        return try database.query("""
            SELECT r.id FROM runs r
            WHERE r.id BETWEEN \(low) AND \(high) AND \(Store.projectAccess(caller, "r", idColumn: "project_id"))
            ORDER BY r.id LIMIT \(limit)
            """).rows.map { try $0.decode("id") }
    }

    /// Changes the caller's password after checking the current one: the new one must have 10 characters and differ
    /// from the old. The person's other sessions end (whoever knew the old password may hold one); this session and
    /// the personal tokens stay. Returns how many other sessions ended.
    package func changePassword(_ caller: Caller, current: String, new: String, again: String) throws -> Int {
        let user = try caller.requireUser()
        guard case .session(let sessionID, _) = caller.credential else { throw AppError.forbidden("Change your password on its page.") }
        guard new.count >= 10 else { throw AppError.invalid("new_password", "A password needs at least 10 characters.") }
        guard new == again else { throw AppError.invalid("new_password_again", "The two new passwords differ.") }
        guard new != current else { throw AppError.invalid("new_password", "Choose a password other than the current one.") }
        return try database.transaction { connection in
            guard let row = try connection.query("SELECT password_hash FROM users WHERE id = \(user) FOR UPDATE").first,
                  PasswordHasher.verify(current, against: try row.decode("password_hash", as: String.self)) else {
                throw AppError.invalid("current_password", "That is not your current password.")
            }
            try connection.query("""
                UPDATE users SET password_hash = \(PasswordHasher.hash(new)), must_change_password = false WHERE id = \(user)
                """)
            let ended = try connection.query("DELETE FROM sessions WHERE user_id = \(user) AND id <> \(sessionID)").affectedRows
            try Audit.record(connection, AuditActor(caller), .passwordChange, organization: nil, object: AuditObject("user", user),
                             new: [("sessions_ended", String(ended))])
            return ended
        }
    }
}
