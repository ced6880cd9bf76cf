import ArgumentParser
import Foundation
import Postgres
import SootStore
import SootWeb

/// `soot user ...`: accounts, for the operator.
struct UserCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "user", abstract: "Create users and reset passwords.",
        subcommands: [Create.self, ResetPassword.self, List.self])

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a user. Without --password, a password is generated and printed once on stdout.")
        @Option(help: "The user's email address (their login).") var email: String
        @Option(help: "Display name.") var name: String = ""
        @Option(help: "Password (at least 10 characters). Prefer the generated one; a flag may end up in shell history.")
        var password: String?
        @Flag(help: "Mark the user as a Soot operator.") var `operator` = false
        @OptionGroup var database: DatabaseOptions

        func run() throws {
            try withDatabase(database) { pool in
                let (id, generated) = try pool.transaction { connection in
                    let created = try Accounts.createUser(connection, email: email, name: name, password: password, isOperator: `operator`)
                    try Audit.record(connection, .commandLine, .userCreate, organization: nil, object: AuditObject("user", created.id, email),
                                     new: [("operator", String(`operator`)), ("generated_password", String(password == nil))])
                    return created
                }
                printJSON(["user_id": .id(id), "email": .string(email), "password": .text(generated)])
            }
        }
    }

    struct ResetPassword: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "reset-password",
            abstract: "Set a new password (generated and printed once unless --password is given), end the user's sessions and revoke their personal tokens.")
        @Option(help: "The user's email address.") var email: String
        @Option(help: "The new password (at least 10 characters).") var password: String?
        @OptionGroup var database: DatabaseOptions

        func run() throws {
            try withDatabase(database) { pool in
                let (generated, ended) = try pool.transaction { try Accounts.resetPassword($0, email: email, password: password) }
                printJSON(["email": .string(email), "password": .text(generated), "sessions_ended": .int(ended.sessions),
                           "personal_tokens_revoked": .int(ended.personalTokens)])
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List users, one JSON object per line.")
        @OptionGroup var database: DatabaseOptions

        func run() throws {
            try withDatabase(database) { pool in
                for row in try pool.query("SELECT id, email, name, is_operator, created_at FROM users ORDER BY lower(email)").rows {
                    printJSON([
                        "id": .id(try row.decode("id", as: UUID.self)), "email": .string(try row.decode("email")),
                        "name": .string(try row.decode("name")), "is_operator": .bool(try row.decode("is_operator")),
                    ])
                }
            }
        }
    }
}

/// `soot token ...`: personal access tokens and project ingest tokens, for the operator and scripts.
struct TokenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token", abstract: "Create, list and revoke tokens.",
        subcommands: [Create.self, Revoke.self, List.self])

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a token and print it (only now) on stdout.",
            discussion: """
                With --project, a project ingest token (for codecarbon's CODECARBON_API_KEY / x-api-token). \
                Otherwise a personal access token for --email (Authorization: Bearer).
                """)
        @Option(help: "Owner of a personal access token.") var email: String?
        @Option(help: "Project id, for a project ingest token.") var project: String?
        @Option(help: "A name to recognise the token by.") var name: String = "cli"
        @Option(help: "read or write.") var scope: String = "write"
        @Flag(help: "Print only the token, without JSON.") var plain = false
        @OptionGroup var database: DatabaseOptions

        func validate() throws {
            guard (email == nil) != (project == nil) else { throw ValidationError("Give exactly one of --email or --project.") }
            guard ["read", "write"].contains(scope) else { throw ValidationError("--scope must be read or write.") }
        }

        func run() throws {
            try withDatabase(database) { pool in
                let (description, token) = try pool.transaction { connection -> (TokenRecord, String) in
                    if let email {
                        guard let user = try Accounts.userID(connection, email: email) else { throw ValidationError("No user with email \(email).") }
                        let made = try Store.insertToken(connection, kind: .personal, name: name, scope: scope, userID: user,
                                                         organizationID: nil, projectID: nil, createdBy: nil, expiresInDays: nil)
                        try Audit.record(connection, .commandLine, .tokenCreate, organization: nil,
                                         object: AuditObject("personal_token", made.0.id, "\(name) (\(made.0.prefix)…)"),
                                         new: [("user", email), ("scope", scope)])
                        return made
                    }
                    guard let projectID = UUID(uuidString: project!),
                          let row = try connection.query("SELECT organization_id FROM projects WHERE id = \(projectID)").first else {
                        throw ValidationError("No project with id \(project!).")
                    }
                    let organizationID: UUID = try row.decode("organization_id")
                    let made = try Store.insertToken(connection, kind: .project, name: name, scope: scope, userID: nil,
                                                     organizationID: organizationID, projectID: projectID, createdBy: nil, expiresInDays: nil)
                    try Audit.record(connection, .commandLine, .tokenCreate, organization: organizationID,
                                     object: AuditObject("project_token", made.0.id, "\(name) (\(made.0.prefix)…)"),
                                     new: [("project_id", projectID.lowercaseText), ("scope", scope)])
                    return made
                }
                if plain { print(token) } else {
                    guard case .object(var members) = description.json else { return }
                    members["token"] = .string(token)
                    printJSON(.object(members))
                }
            }
        }
    }

    struct Revoke: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a token by its id or its prefix (soot_prj_XXXXXXXXXXXX).")
        @Argument(help: "Token id or prefix.") var token: String
        @OptionGroup var database: DatabaseOptions

        func run() throws {
            try withDatabase(database) { pool in
                let id = UUID(uuidString: token)
                try pool.transaction { connection in
                    let rows = try connection.query("""
                        SELECT id, kind, name, prefix, organization_id, revoked_at IS NOT NULL AS revoked FROM api_tokens
                        WHERE id = \(id) OR prefix = \(TokenFormat.prefix(of: token)) FOR UPDATE
                        """).rows
                    if rows.isEmpty { throw ValidationError("No token matches \(token).") }
                    for row in rows where try !row.decode("revoked", as: Bool.self) {
                        let tokenID: UUID = try row.decode("id")
                        try connection.query("UPDATE api_tokens SET revoked_at = now() WHERE id = \(tokenID)")
                        try Audit.record(connection, .commandLine, .tokenRevoke, organization: try row.decode("organization_id", as: UUID?.self),
                                         object: AuditObject("\(try row.decode("kind", as: String.self))_token", tokenID,
                                                             "\(try row.decode("name", as: String.self)) (\(try row.decode("prefix", as: String.self))…)"))
                    }
                }
                print("Revoked.")
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List tokens (never their secrets), one JSON object per line.")
        @OptionGroup var database: DatabaseOptions

        func run() throws {
            try withDatabase(database) { pool in
                for row in try pool.query("""
                    SELECT t.id, t.kind, t.name, t.prefix, t.scope, t.project_id, u.email, t.last_used_at, t.revoked_at
                    FROM api_tokens t LEFT JOIN users u ON u.id = t.user_id ORDER BY t.created_at
                    """).rows {
                    printJSON([
                        "id": .id(try row.decode("id", as: UUID.self)), "kind": .string(try row.decode("kind")),
                        "name": .string(try row.decode("name")), "prefix": .string(try row.decode("prefix")),
                        "scope": .string(try row.decode("scope")), "project_id": .id(try row.decode("project_id", as: UUID?.self)),
                        "email": .text(try row.decode("email", as: String?.self)),
                        "last_used_at": .date(try row.decode("last_used_at", as: Date?.self)),
                        "revoked_at": .date(try row.decode("revoked_at", as: Date?.self)),
                    ])
                }
            }
        }
    }
}

/// `soot bootstrap`: everything an agent needs, in one JSON object.
struct BootstrapCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bootstrap",
        abstract: "Create what is missing of user, organization, team, project and experiment, and issue tokens.",
        discussion: """
            Prints one JSON object: user_id, email, password (only when the user was created now), organization_id, \
            team_id, project_id, experiment_id, project_token (for codecarbon's CODECARBON_API_KEY) and personal_token \
            (for Authorization: Bearer). Running it again with the same names reuses them and issues new tokens. \
            Works on the embedded data folder whether or not 'soot serve' is running, or on DATABASE_URL.
            """)
    @Option(help: "Organization name.") var organization: String
    @Option(help: "Team name.") var team: String
    @Option(help: "Project name.") var project: String
    @Option(help: "Experiment name.") var experiment: String = "Default"
    @Option(help: "Email of the user (created with a generated password if new).") var email: String
    @OptionGroup var database: DatabaseOptions

    func run() throws {
        try withDatabase(database) { pool in
            printJSON(try Bootstrap.run(pool, .init(organization: organization, team: team, project: project,
                                                     experiment: experiment, email: email)))
        }
    }
}

/// `soot demo`: a realistic organization to look at and to benchmark the dashboards with.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Fill a demo organization: teams, projects, experiments, runs over a year and their samples.",
        discussion: "Prints a JSON summary (with the demo user's password when the user was created). Progress goes to stderr.")
    @Option(help: "Organization name.") var organization = "Demo Research"
    @Option(help: "Email of the demo user.") var email = "demo@soot.local"
    @Option(help: "Number of teams.") var teams = 5
    @Option(help: "Projects per team.") var projectsPerTeam = 6
    @Option(help: "Experiments per project.") var experimentsPerProject = 3
    @Option(help: "Number of runs.") var runs = 3000
    @Option(help: "Number of samples in all (split evenly between runs).") var samples = 1_000_000
    @Option(help: "Spread the runs over this many days before now.") var days = 365
    @OptionGroup var database: DatabaseOptions

    func run() throws {
        try withDatabase(database) { pool in
            var options = DemoData.Options()
            options.organization = organization
            options.email = email
            options.teams = teams
            options.projectsPerTeam = projectsPerTeam
            options.experimentsPerProject = experimentsPerProject
            options.runs = runs
            options.samples = samples
            options.days = days
            let started = Date()
            let summary = try DemoData.generate(pool, options) { written, total in
                let rate = Double(written) / max(0.001, Date().timeIntervalSince(started))
                FileHandle.standardError.write(Data("\r\(written) / \(total) samples (\(Int(rate)) per second)   ".utf8))
            }
            FileHandle.standardError.write(Data("\n".utf8))
            printJSON(summary)
        }
    }
}
