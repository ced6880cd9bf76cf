import Foundation
import SootStore
import HTTPServer

/// `/api/v1`: CRUD for organizations, teams, projects, experiments, runs, members and tokens.
struct ManagementRoutes {
    let store: Store
    let authenticator: Authenticator

    func register(_ router: inout Router, _ api: inout APIRegistry) {
        let store = self.store
        let authenticator = self.authenticator
        let authed = authenticator.api
        let v1 = "/api/v1"

        api.add(&router, .get, "\(v1)/me", summary: "The authenticated user", tag: "Accounts", response: "User",
                handler: authed { _, caller in .json(try store.me(caller)) })

        // Organizations
        api.add(&router, .get, "\(v1)/organizations", summary: "Organizations you belong to", tag: "Organizations",
                response: "OrganizationList", query: ["limit", "offset"], handler: authed { request, caller in
                    .json(try store.listOrganizations(caller, page: try Page(request)))
                })
        api.add(&router, .post, "\(v1)/organizations", summary: "Create an organization (you become its owner)", tag: "Organizations",
                request: "NamedInput", response: "Organization", status: 201, handler: authed { request, caller in
                    let body = try JSONBody(request)
                    return .json(try store.createOrganization(caller, name: try Naming.name(body)!, description: try Naming.description(body) ?? ""),
                                 status: .created)
                })
        api.add(&router, .get, "\(v1)/organizations/:organization_id", summary: "An organization", tag: "Organizations",
                response: "Organization", handler: authed { request, caller in
                    .json(try store.organization(caller, id: try Store.id(request.parameter("organization_id"))))
                })
        api.add(&router, .patch, "\(v1)/organizations/:organization_id", summary: "Rename or describe an organization (owners, admins)",
                tag: "Organizations", request: "NamedUpdate", response: "Organization", handler: authed { request, caller in
                    let body = try JSONBody(request)
                    return .json(try store.updateOrganization(caller, id: try Store.id(request.parameter("organization_id")),
                                                              name: try Naming.name(body, required: false), description: try Naming.description(body)))
                })
        api.add(&router, .delete, "\(v1)/organizations/:organization_id", summary: "Delete an organization and everything in it (owners)",
                tag: "Organizations", status: 204, handler: authed { request, caller in
                    try store.deleteOrganization(caller, id: try Store.id(request.parameter("organization_id")))
                    return Response(status: .noContent)
                })

        // Members of an organization
        api.add(&router, .get, "\(v1)/organizations/:organization_id/members", summary: "Members and their roles", tag: "Members",
                response: "MemberList", query: ["limit", "offset"], handler: authed { request, caller in
                    .json(try store.listOrganizationMembers(caller, organizationID: try Store.id(request.parameter("organization_id")),
                                                            page: try Page(request)))
                })
        // Nobody joins without saying yes: adding an email makes an invitation (the same as POST .../invitations).
        for path in ["\(v1)/organizations/:organization_id/members", "\(v1)/organizations/:organization_id/invitations"] {
            api.add(&router, .post, path,
                    summary: "Invite a person by email (owners, admins): a pending invitation whose single-use link (shown once, valid \(Store.invitationLifetimeDays) days) they accept while signed in with that email, or by choosing a password for a new account",
                    tag: "Members", request: "InvitationInput", response: "Invitation", status: 201, handler: authed { request, caller in
                        let body = try JSONBody(request)
                        let email = try body.string("email", required: true, maxLength: 320)!
                        let role = try body.choice("role", Store.roles) ?? "member"
                        let (invitation, _) = try store.createInvitation(
                            caller, organizationID: try Store.id(request.parameter("organization_id")), email: email, role: role,
                            teamID: try body.uuid("team_id"))
                        return .json(invitation, status: .created)
                    })
        }
        api.add(&router, .get, "\(v1)/organizations/:organization_id/invitations", summary: "Pending invitations (owners, admins)",
                tag: "Members", response: "InvitationList", handler: authed { request, caller in
                    .json(["data": try store.listInvitations(caller, organizationID: try Store.id(request.parameter("organization_id"))).json])
                })
        api.add(&router, .delete, "\(v1)/organizations/:organization_id/invitations/:invitation_id",
                summary: "Withdraw a pending invitation (owners, admins)", tag: "Members", status: 204, handler: authed { request, caller in
                    try store.revokeInvitation(caller, organizationID: try Store.id(request.parameter("organization_id")),
                                               invitationID: try Store.id(request.parameter("invitation_id")))
                    return Response(status: .noContent)
                })
        api.add(&router, .post, "\(v1)/invitations/accept",
                summary: "Accept an invitation as the signed-in person (personal token or session), whose email must be the invited one",
                tag: "Members", request: "InvitationAccept", response: "Organization", handler: authed { request, caller in
                    let body = try JSONBody(request)
                    let secret = try body.string("secret", required: true, maxLength: 100)!
                    let (id, _) = try store.acceptInvitation(caller, secret: secret)
                    return .json(try store.organization(caller, id: id))
                })
        api.add(&router, .patch, "\(v1)/organizations/:organization_id/members/:user_id", summary: "Change a member's role",
                tag: "Members", request: "RoleInput", response: "Member", handler: authed { request, caller in
                    let body = try JSONBody(request)
                    return .json(try store.updateOrganizationMember(
                        caller, organizationID: try Store.id(request.parameter("organization_id")),
                        userID: try Store.id(request.parameter("user_id")), role: try body.choice("role", Store.roles, required: true)!))
                })
        api.add(&router, .delete, "\(v1)/organizations/:organization_id/members/:user_id",
                summary: "Remove a member (owners, admins), or leave", tag: "Members", status: 204, handler: authed { request, caller in
                    try store.removeOrganizationMember(caller, organizationID: try Store.id(request.parameter("organization_id")),
                                                       userID: try Store.id(request.parameter("user_id")))
                    return Response(status: .noContent)
                })

        // Teams
        api.add(&router, .get, "\(v1)/organizations/:organization_id/teams", summary: "Teams you can see in an organization",
                tag: "Teams", response: "TeamList", query: ["limit", "offset"], handler: authed { request, caller in
                    .json(try store.listTeams(caller, organizationID: try Store.id(request.parameter("organization_id")), page: try Page(request)))
                })
        api.add(&router, .post, "\(v1)/organizations/:organization_id/teams", summary: "Create a team (owners, admins)", tag: "Teams",
                request: "NamedInput", response: "Team", status: 201, handler: authed { request, caller in
                    let body = try JSONBody(request)
                    return .json(try store.createTeam(caller, organizationID: try Store.id(request.parameter("organization_id")),
                                                      name: try Naming.name(body)!, description: try Naming.description(body) ?? ""),
                                 status: .created)
                })
        api.add(&router, .get, "\(v1)/teams/:team_id", summary: "A team", tag: "Teams", response: "Team",
                handler: authed { request, caller in .json(try store.team(caller, id: try Store.id(request.parameter("team_id")))) })
        api.add(&router, .patch, "\(v1)/teams/:team_id", summary: "Rename or describe a team (organization owners, admins)",
                tag: "Teams", request: "NamedUpdate", response: "Team", handler: authed { request, caller in
                    let body = try JSONBody(request)
                    return .json(try store.updateTeam(caller, id: try Store.id(request.parameter("team_id")),
                                                      name: try Naming.name(body, required: false), description: try Naming.description(body)))
                })
        api.add(&router, .delete, "\(v1)/teams/:team_id", summary: "Delete a team and its projects (organization owners, admins)",
                tag: "Teams", status: 204, handler: authed { request, caller in
                    try store.deleteTeam(caller, id: try Store.id(request.parameter("team_id")))
                    return Response(status: .noContent)
                })
        api.add(&router, .get, "\(v1)/teams/:team_id/members", summary: "Members of a team", tag: "Members", response: "MemberList",
                query: ["limit", "offset"], handler: authed { request, caller in
                    .json(try store.listTeamMembers(caller, teamID: try Store.id(request.parameter("team_id")), page: try Page(request)))
                })
        api.add(&router, .post, "\(v1)/teams/:team_id/members", summary: "Add an organization member to a team (owners, admins)",
                tag: "Members", request: "TeamMemberInput", response: "Member", status: 201, handler: authed { request, caller in
                    let body = try JSONBody(request)
                    let userID = try body.uuid("user_id")
                    let email = try body.string("email", maxLength: 320)
                    if userID == nil && email == nil { throw AppError.invalid("user_id", "Give user_id or email.") }
                    return .json(try store.addTeamMember(caller, teamID: try Store.id(request.parameter("team_id")), userID: userID, email: email),
                                 status: .created)
                })
        api.add(&router, .delete, "\(v1)/teams/:team_id/members/:user_id", summary: "Remove someone from a team", tag: "Members",
                status: 204, handler: authed { request, caller in
                    try store.removeTeamMember(caller, teamID: try Store.id(request.parameter("team_id")),
                                               userID: try Store.id(request.parameter("user_id")))
                    return Response(status: .noContent)
                })

        // Projects
        api.add(&router, .get, "\(v1)/teams/:team_id/projects", summary: "Projects of a team", tag: "Projects", response: "ProjectList",
                query: ["limit", "offset"], handler: authed { request, caller in
                    .json(try store.listProjects(caller, teamID: try Store.id(request.parameter("team_id")), page: try Page(request)))
                })
        api.add(&router, .post, "\(v1)/teams/:team_id/projects", summary: "Create a project in a team", tag: "Projects",
                request: "NamedInput", response: "Project", status: 201, handler: authed { request, caller in
                    let body = try JSONBody(request)
                    return .json(try store.createProject(caller, teamID: try Store.id(request.parameter("team_id")),
                                                         name: try Naming.name(body)!, description: try Naming.description(body) ?? ""),
                                 status: .created)
                })
        api.add(&router, .get, "\(v1)/projects/:project_id", summary: "A project", tag: "Projects", response: "Project",
                handler: authed { request, caller in .json(try store.project(caller, id: try Store.id(request.parameter("project_id")))) })
        api.add(&router, .patch, "\(v1)/projects/:project_id", summary: "Rename a project or make it public (read-only link)",
                tag: "Projects", request: "ProjectUpdate", response: "Project", handler: authed { request, caller in
                    let body = try JSONBody(request)
                    return .json(try store.updateProject(caller, id: try Store.id(request.parameter("project_id")),
                                                         name: try Naming.name(body, required: false), description: try Naming.description(body),
                                                         isPublic: try body.nonNullBool("is_public")))
                })
        api.add(&router, .delete, "\(v1)/projects/:project_id", summary: "Delete a project with its experiments, runs and samples",
                tag: "Projects", status: 204, handler: authed { request, caller in
                    try store.deleteProject(caller, id: try Store.id(request.parameter("project_id")))
                    return Response(status: .noContent)
                })

        // Experiments
        api.add(&router, .get, "\(v1)/projects/:project_id/experiments", summary: "Experiments of a project", tag: "Experiments",
                response: "ExperimentList", query: ["limit", "offset"], handler: authed { request, caller in
                    .json(try store.listExperiments(caller, projectID: try Store.id(request.parameter("project_id")), page: try Page(request)))
                })
        api.add(&router, .post, "\(v1)/projects/:project_id/experiments", summary: "Create an experiment", tag: "Experiments",
                request: "ExperimentInput", response: "Experiment", status: 201, handler: authed { request, caller in
                    let fields = try Store.ExperimentFields(try JSONBody(request), creating: true)
                    return .json(try store.createExperiment(caller, projectID: try Store.id(request.parameter("project_id")), fields: fields),
                                 status: .created)
                })
        api.add(&router, .get, "\(v1)/experiments/:experiment_id", summary: "An experiment", tag: "Experiments", response: "Experiment",
                handler: authed { request, caller in
                    .json(try store.experiment(caller, id: try Store.id(request.parameter("experiment_id"))))
                })
        api.add(&router, .patch, "\(v1)/experiments/:experiment_id", summary: "Change an experiment", tag: "Experiments",
                request: "ExperimentInput", response: "Experiment", handler: authed { request, caller in
                    let fields = try Store.ExperimentFields(try JSONBody(request), creating: false)
                    return .json(try store.updateExperiment(caller, id: try Store.id(request.parameter("experiment_id")), fields: fields))
                })
        api.add(&router, .delete, "\(v1)/experiments/:experiment_id", summary: "Delete an experiment with its runs and samples",
                tag: "Experiments", status: 204, handler: authed { request, caller in
                    try store.deleteExperiment(caller, id: try Store.id(request.parameter("experiment_id")))
                    return Response(status: .noContent)
                })

        // Runs
        api.add(&router, .get, "\(v1)/experiments/:experiment_id/runs", summary: "Runs of an experiment, newest first", tag: "Runs",
                response: "RunList", query: ["from", "to", "limit", "offset"], handler: authed { request, caller in
                    .json(try store.listRuns(caller, experimentID: try Store.id(request.parameter("experiment_id")),
                                             range: try DateRange(request), page: try Page(request)))
                })
        api.add(&router, .get, "\(v1)/runs/:run_id", summary: "A run with its totals", tag: "Runs", response: "Run",
                handler: authed { request, caller in .json(try store.run(caller, id: try Store.id(request.parameter("run_id")))) })
        api.add(&router, .delete, "\(v1)/runs/:run_id", summary: "Delete a run and its samples", tag: "Runs", status: 204,
                handler: authed { request, caller in
                    try store.deleteRun(caller, id: try Store.id(request.parameter("run_id")))
                    return Response(status: .noContent)
                })

        // Tokens
        api.add(&router, .get, "\(v1)/tokens", summary: "Your personal access tokens", tag: "Tokens", response: "TokenList",
                query: ["limit", "offset"], handler: authed { request, caller in
                    .json(try store.listPersonalTokens(caller, page: try Page(request)))
                })
        api.add(&router, .post, "\(v1)/tokens", summary: "Create a personal access token (the token is shown once)", tag: "Tokens",
                request: "TokenInput", response: "NewToken", status: 201, handler: authed { request, caller in
                    let input = try TokenInput(try JSONBody(request))
                    let (token, secret) = try store.createPersonalToken(caller, name: input.name, scope: input.scope, expiresInDays: input.expiresInDays)
                    return .json(TokenInput.withSecret(token, secret), status: .created)
                })
        api.add(&router, .delete, "\(v1)/tokens/:token_id", summary: "Revoke one of your personal access tokens", tag: "Tokens",
                status: 204, handler: authed { request, caller in
                    try store.revokePersonalToken(caller, id: try Store.id(request.parameter("token_id")))
                    authenticator.tokenCache.clear()
                    return Response(status: .noContent)
                })
        api.add(&router, .get, "\(v1)/projects/:project_id/tokens", summary: "Ingest tokens of a project", tag: "Tokens",
                response: "TokenList", query: ["limit", "offset"], handler: authed { request, caller in
                    .json(try store.listProjectTokens(caller, projectID: try Store.id(request.parameter("project_id")), page: try Page(request)))
                })
        api.add(&router, .post, "\(v1)/projects/:project_id/tokens", summary: "Create a project ingest token (shown once)",
                tag: "Tokens", request: "TokenInput", response: "NewToken", status: 201, handler: authed { request, caller in
                    let input = try TokenInput(try JSONBody(request))
                    let (token, secret) = try store.createProjectToken(caller, projectID: try Store.id(request.parameter("project_id")),
                                                                       name: input.name, scope: input.scope, expiresInDays: input.expiresInDays)
                    return .json(TokenInput.withSecret(token, secret), status: .created)
                })
        api.add(&router, .delete, "\(v1)/projects/:project_id/tokens/:token_id", summary: "Revoke a project ingest token",
                tag: "Tokens", status: 204, handler: authed { request, caller in
                    try store.revokeProjectToken(caller, projectID: try Store.id(request.parameter("project_id")),
                                                 tokenID: try Store.id(request.parameter("token_id")))
                    authenticator.tokenCache.clear()
                    return Response(status: .noContent)
                })

        // Conformance helper: reads a body and reports what arrived.
        api.add(&router, .post, "\(v1)/echo", summary: "Reads the request body and answers its length and SHA-256 (for HTTP testing)",
                tag: "Server", response: "Echo", authenticated: false, options: .inline, handler: { request in
            .json(["bytes": .int(request.body.count), "sha256": .string(Crypto.hex(Crypto.sha256(request.body)))])
        })
    }
}

/// The body of a token creation.
struct TokenInput {
    let name: String
    let scope: String
    let expiresInDays: Int?

    init(_ body: JSONBody) throws {
        name = try Naming.name(body)!
        scope = try body.choice("scope", ["read", "write"]) ?? "write"
        expiresInDays = try body.int("expires_in_days", range: 1...3650)
    }

    static func withSecret(_ token: TokenRecord, _ secret: String) -> JSONValue {
        guard case .object(var members) = token.json else { return token.json }
        members["token"] = .string(secret)
        return .object(members)
    }
}
