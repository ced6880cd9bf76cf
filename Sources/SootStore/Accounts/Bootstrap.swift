import Foundation
import Postgres

/// From nothing to a ready agent configuration: creates whatever of user, organization, team, project and
/// experiment is missing (reusing what exists by name), and issues a new project ingest token and a new
/// personal access token.
package enum Bootstrap {
    package struct Input: Sendable {
        package var organization: String
        package var team: String
        package var project: String
        package var experiment: String
        package var email: String

        package init(organization: String, team: String, project: String, experiment: String, email: String) {
            self.organization = organization
            self.team = team
            self.project = project
            self.experiment = experiment
            self.email = email
        }
    }

    /// Runs in one transaction; returns the JSON object the command prints.
    package static func run(_ pool: ConnectionPool, _ input: Input) throws -> Summary {
        for (field, value) in [("organization", input.organization), ("team", input.team), ("project", input.project),
                               ("experiment", input.experiment)] {
            let trimmed = value.trimmingCharacters(in: .whitespacesAndNewlines)
            if trimmed.isEmpty || trimmed.count > 200 { throw AppError.invalid(field, "\(field) must have 1 to 200 characters.") }
        }
        guard let email = Accounts.validEmail(input.email) else { throw AppError.invalid("email", "That is not an email address.") }
        return try pool.transaction { connection in
            // Serialise concurrent bootstraps so "create if missing" cannot race.
            try connection.query("SELECT pg_advisory_xact_lock(\(Int64(0x736F_6F74_6273)))")
            var password: String?
            let userID: UUID
            if let existing = try Accounts.userID(connection, email: email) {
                userID = existing
            } else {
                let created = try Accounts.createUser(connection, email: email, name: "", password: nil,
                                                      isOperator: try Accounts.userCount(connection) == 0)
                userID = created.id
                password = created.generatedPassword
            }
            let organizationID = try findOrCreate(connection, name: input.organization,
                                                  find: "SELECT id FROM organizations WHERE lower(name) = lower(\(input.organization.trimmed))") { slug in
                "INSERT INTO organizations (name, slug) VALUES (\(input.organization.trimmed), \(slug)) RETURNING id"
            }
            try connection.query("""
                INSERT INTO organization_members (organization_id, user_id, role) VALUES (\(organizationID), \(userID), 'owner')
                ON CONFLICT (organization_id, user_id) DO NOTHING
                """)
            let teamID = try findOrCreate(connection, name: input.team,
                                          find: "SELECT id FROM teams WHERE organization_id = \(organizationID) AND lower(name) = lower(\(input.team.trimmed))") { slug in
                "INSERT INTO teams (organization_id, name, slug) VALUES (\(organizationID), \(input.team.trimmed), \(slug)) RETURNING id"
            }
            try connection.query("""
                INSERT INTO team_members (organization_id, team_id, user_id) VALUES (\(organizationID), \(teamID), \(userID))
                ON CONFLICT DO NOTHING
                """)
            let projectID = try findOrCreate(connection, name: input.project,
                                             find: "SELECT id FROM projects WHERE team_id = \(teamID) AND lower(name) = lower(\(input.project.trimmed))") { slug in
                """
                INSERT INTO projects (organization_id, team_id, name, slug) VALUES (\(organizationID), \(teamID), \(input.project.trimmed), \(slug))
                RETURNING id
                """
            }
            let experimentID = try findOrCreate(connection, name: input.experiment,
                                                find: "SELECT id FROM experiments WHERE project_id = \(projectID) AND lower(name) = lower(\(input.experiment.trimmed))") { _ in
                """
                INSERT INTO experiments (organization_id, team_id, project_id, name) VALUES (\(organizationID), \(teamID), \(projectID),
                    \(input.experiment.trimmed)) RETURNING id
                """
            }
            let stamp = ISOTime.format(Date()).prefix(19)
            let (_, projectToken) = try Store.insertToken(
                connection, kind: .project, name: "bootstrap \(stamp)", scope: "write", userID: nil, organizationID: organizationID,
                projectID: projectID, createdBy: userID, expiresInDays: nil)
            let (_, personalToken) = try Store.insertToken(
                connection, kind: .personal, name: "bootstrap \(stamp)", scope: "write", userID: userID, organizationID: nil,
                projectID: nil, createdBy: userID, expiresInDays: nil)
            try Audit.record(connection, .commandLine, .bootstrap, organization: organizationID,
                             object: AuditObject("organization", organizationID, input.organization.trimmed),
                             new: [("email", email), ("user_created", String(password != nil)), ("team", input.team.trimmed),
                                   ("project", input.project.trimmed), ("experiment", input.experiment.trimmed),
                                   ("tokens", "bootstrap \(stamp)")])
            return [
                "user_id": .id(userID),
                "email": .string(email),
                "password": .text(password),
                "organization_id": .id(organizationID),
                "team_id": .id(teamID),
                "project_id": .id(projectID),
                "experiment_id": .id(experimentID),
                "project_token": .string(projectToken),
                "personal_token": .string(personalToken),
            ]
        }
    }

    private static func findOrCreate(
        _ connection: DatabaseConnection, name: String, find: SQLQuery, insert: (String) -> SQLQuery
    ) throws -> UUID {
        if let row = try connection.query(find).first { return try row.decode("id") }
        let base = Naming.slug(name)
        for attempt in 1...50 {
            let slug = attempt == 1 ? base : "\(base)-\(attempt)"
            try connection.execute("SAVEPOINT bootstrap_insert")
            do {
                let id: UUID = try connection.query(insert(slug)).first!.decode("id")
                try connection.execute("RELEASE SAVEPOINT bootstrap_insert")
                return id
            } catch let error as DatabaseError where error.isUniqueViolation && (error.constraint ?? "").contains("slug") {
                try connection.execute("ROLLBACK TO SAVEPOINT bootstrap_insert")
            }
        }
        throw AppError.conflict("No free URL name for \(name).")
    }
}

extension String {
    package var trimmed: String { trimmingCharacters(in: .whitespacesAndNewlines) }
}
