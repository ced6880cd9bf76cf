import Foundation
import HTTPServer
import SootStore

/// Forms for the management the REST API offers, on the dashboard pages: create teams (organization admins),
/// projects (team members) and experiments; add members by email and change their roles; delete a project
/// after a confirmation page. Every form carries the session's CSRF token and goes through `Store`.
struct ManagementPages {
    let authenticator: Authenticator
    let store: Store
    let proxies: TrustedProxies

    func register(_ router: inout Router) {
        let pages = self
        router.post("/o/:org/teams") { request in try pages.createTeam(request) }
        router.post("/o/:org/members") { request in try pages.addMember(request) }
        router.post("/o/:org/members/:user/role") { request in try pages.changeRole(request) }
        router.post("/o/:org/invitations/:invitation/revoke") { request in try pages.revokeInvitation(request) }
        router.post("/o/:org/:team/projects") { request in try pages.createProject(request) }
        router.post("/o/:org/:team/:project/experiments") { request in try pages.createExperiment(request) }
        router.post("/o/:org/:team/rename") { request in try pages.renameTeam(request) }
        router.post("/o/:org/:team/members") { request in try pages.addTeamMember(request) }
        router.post("/o/:org/:team/members/:user/remove") { request in try pages.removeTeamMember(request) }
        router.post("/o/:org/:team/:project/rename") { request in try pages.renameProject(request) }
        router.post("/o/:org/:team/:project/experiments/:experiment/rename") { request in try pages.renameExperiment(request) }
        router.get("/o/:org/:team/:project/delete") { request in try pages.confirmDelete(request) }
        router.post("/o/:org/:team/:project/delete") { request in try pages.deleteProject(request) }
    }

    func signedIn(_ request: Request) throws -> (Caller, String) { try authenticator.sessionUser(request) }

    func organization(_ request: Request, _ caller: Caller) throws -> (id: UUID, slug: String) {
        try store.organization(caller, slug: request.parameter("org") ?? "")
    }

    static func name(_ request: Request) throws -> String {
        let name = (request.formField("name") ?? "").trimmingOWS()
        guard !name.isEmpty, name.count <= 200 else { throw AppError.invalid("name", "A name needs 1 to 200 characters.") }
        try TextRules.check(name, field: "name", allowLineBreaks: false)
        return name
    }

    /// Whether the feedback cookie should be `Secure` (the browser came over HTTPS through a trusted proxy).
    func secure(_ request: Request) -> Bool { proxies.isHTTPS(request) }

    func createTeam(_ request: Request) throws -> Response {
        let (caller, _) = try signedIn(request)
        let organization = try organization(request, caller)
        let page = "/o/\(FormDecoding.encode(organization.slug))"
        return try formSubmission(request, form: "new-team", page: page, secure: secure(request)) {
            let team = try store.createTeam(caller, organizationID: organization.id, name: try ManagementPages.name(request), description: "")
            return .back(to: "\(page)/\(FormDecoding.encode(team.slug))", .success("Team \(team.name) created."), secure: secure(request))
        }
    }

    /// Invites someone by email: the single-use link is shown once, here, for the inviter to send.
    func addMember(_ request: Request) throws -> Response {
        let (caller, csrf) = try signedIn(request)
        let organization = try organization(request, caller)
        return try formSubmission(request, form: "member-email", page: "/o/\(FormDecoding.encode(organization.slug))", field: "email",
                                  secure: secure(request)) {
            try invite(request, caller: caller, csrf: csrf, organization: organization)
        }
    }

    func invite(_ request: Request, caller: Caller, csrf: String, organization: (id: UUID, slug: String)) throws -> Response {
        guard let email = Accounts.validEmail(request.formField("email") ?? "") else { throw AppError.invalid("email", "That is not an email address.") }
        let role = ["owner", "admin", "member"].contains(request.formField("role") ?? "") ? request.formField("role")! : "member"
        let (_, secret) = try store.createInvitation(caller, organizationID: organization.id, email: email, role: role, teamID: nil)
        let back = "/o/\(FormDecoding.encode(organization.slug))#members"
        let host = request.headers["Host"] ?? "127.0.0.1:8080"
        let link = "\(proxies.isHTTPS(request) ? "https" : "http")://\(host)\(Store.invitationPath(secret))"
        let body: HTML = """
            <h1>\(email) is invited</h1>
            <p>Send them this link. It is shown only now, works once, and expires in \(Store.invitationLifetimeDays) days. They join as \
            <strong>\(role)</strong> when they open it and accept: signed in with this email, or by choosing a password.</p>
            <pre class="card secret">\(link)</pre><p><a href="\(back)">Back to the organization</a></p>
            """
        var response = Response.html(Layout.page(title: "Invitation created", body: body, csrfToken: csrf, signedIn: true), status: .created)
        response.headers.set("Cache-Control", "no-store")
        return response
    }

    /// Withdraws a pending invitation from the organization page.
    func revokeInvitation(_ request: Request) throws -> Response {
        let (caller, _) = try signedIn(request)
        let organization = try organization(request, caller)
        guard let id = UUID(uuidString: request.parameter("invitation") ?? "") else { throw AppError.notFound("No such pending invitation.") }
        try store.revokeInvitation(caller, organizationID: organization.id, invitationID: id)
        return .back(to: "/o/\(FormDecoding.encode(organization.slug))#members", .success("Invitation withdrawn."), secure: secure(request))
    }

    func changeRole(_ request: Request) throws -> Response {
        let (caller, _) = try signedIn(request)
        let organization = try organization(request, caller)
        let userID = try Store.id(request.parameter("user"))
        let page = "/o/\(FormDecoding.encode(organization.slug))"
        do {
            if request.formField("role") == "remove" {
                try store.removeOrganizationMember(caller, organizationID: organization.id, userID: userID)
                return .back(to: page + "#members", .success("Removed from the organization."), secure: secure(request))
            }
            guard let role = request.formField("role"), ["owner", "admin", "member"].contains(role) else {
                throw AppError.invalid("role", "Choose owner, admin or member.")
            }
            _ = try store.updateOrganizationMember(caller, organizationID: organization.id, userID: userID, role: role)
            return .back(to: page + "#members", .success("Role changed to \(role)."), secure: secure(request))
        } catch {
            // A refusal (the last owner cannot go, say) is said at the top of the page.
            guard let refusal = AppError.from(error), refusal.status == .conflict || refusal.status == .unprocessableContent
                    || refusal.status == .forbidden else { throw error }
            return .back(to: page + "#members", FormFeedback(form: "members", field: nil, message: refusal.message, value: nil, isError: true),
                         secure: secure(request))
        }
    }

    func team(_ request: Request, _ caller: Caller) throws -> (id: UUID, path: String) {
        let team = try store.team(caller, organization: request.parameter("org") ?? "", team: request.parameter("team") ?? "")
        return (team.id, "/o/" + team.slugs.map(FormDecoding.encode).joined(separator: "/"))
    }

    func createProject(_ request: Request) throws -> Response {
        let (caller, _) = try signedIn(request)
        let team = try team(request, caller)
        return try formSubmission(request, form: "new-project", page: team.path, secure: secure(request)) {
            let project = try store.createProject(caller, teamID: team.id, name: try ManagementPages.name(request), description: "")
            return .back(to: team.path + "/" + FormDecoding.encode(project.slug), .success("Project \(project.name) created."), secure: secure(request))
        }
    }

    func createExperiment(_ request: Request) throws -> Response {
        let (caller, _) = try signedIn(request)
        let project = try store.project(caller, at: request)
        return try formSubmission(request, form: "new-experiment", page: project.path, secure: secure(request)) {
            var fields = Store.ExperimentFields()
            fields.name = try ManagementPages.name(request)
            let experiment = try store.createExperiment(caller, projectID: project.id, fields: fields)
            return .back(to: project.path + "/experiments/" + experiment.id.idText, .success("Experiment \(experiment.name) created."),
                         secure: secure(request))
        }
    }

    // Renaming keeps the slug, so links and bookmarks go on working.
    func renameTeam(_ request: Request) throws -> Response {
        let (caller, _) = try signedIn(request)
        let team = try team(request, caller)
        return try formSubmission(request, form: "rename", page: team.path, secure: secure(request)) {
            let renamed = try store.updateTeam(caller, id: team.id, name: try ManagementPages.name(request), description: nil)
            return .back(to: team.path, .success("Renamed to \(renamed.name)."), secure: secure(request))
        }
    }

    func addTeamMember(_ request: Request) throws -> Response {
        let (caller, _) = try signedIn(request)
        let team = try team(request, caller)
        return try formSubmission(request, form: "team-member-email", page: team.path, field: "email", secure: secure(request)) {
            let email = (request.formField("email") ?? "").trimmingOWS()
            guard !email.isEmpty else { throw AppError.invalid("email", "Give the email of a member of the organization.") }
            _ = try store.addTeamMember(caller, teamID: team.id, userID: nil, email: email)
            return .back(to: team.path + "#team-members", .success("\(email) added to the team."), secure: secure(request))
        }
    }

    func removeTeamMember(_ request: Request) throws -> Response {
        let (caller, _) = try signedIn(request)
        let team = try team(request, caller)
        guard let userID = UUID(uuidString: request.parameter("user") ?? "") else { throw AppError.notFound("No such team member.") }
        try store.removeTeamMember(caller, teamID: team.id, userID: userID)
        return .back(to: team.path + "#team-members", .success("Removed from the team."), secure: secure(request))
    }

    func renameProject(_ request: Request) throws -> Response {
        let (caller, _) = try signedIn(request)
        let project = try store.project(caller, at: request)
        return try formSubmission(request, form: "rename", page: project.path, secure: secure(request)) {
            let renamed = try store.updateProject(caller, id: project.id, name: try ManagementPages.name(request), description: nil, isPublic: nil)
            return .back(to: project.path, .success("Renamed to \(renamed.name)."), secure: secure(request))
        }
    }

    func renameExperiment(_ request: Request) throws -> Response {
        let (caller, _) = try signedIn(request)
        let project = try store.project(caller, at: request)
        guard let id = UUID(uuidString: request.parameter("experiment") ?? ""),
              try store.experimentExists(id, inProject: project.id) else {
            throw AppError.notFound("No such experiment.")
        }
        let page = project.path + "/experiments/" + id.idText
        return try formSubmission(request, form: "rename", page: page, secure: secure(request)) {
            var fields = Store.ExperimentFields()
            fields.name = try ManagementPages.name(request)
            let renamed = try store.updateExperiment(caller, id: id, fields: fields)
            return .back(to: page, .success("Renamed to \(renamed.name)."), secure: secure(request))
        }
    }

    func confirmDelete(_ request: Request) throws -> Response {
        let (caller, csrf) = try signedIn(request)
        let project = try store.project(caller, at: request)
        let contents = try store.projectContents(project.id)
        let name = contents.name
        let confirm = FieldState(form: "confirm", FormFeedback.read(request))
        let body: HTML = """
            <section class="card narrow"><h1>Delete \(name)?</h1>
            <p>This deletes the project with its experiments, \(contents.runs) runs and \(contents.samples) samples, and revokes its tokens. It cannot be undone.</p>
            <form method="post" action="\(project.path)/delete"><input type="hidden" name="csrf_token" value="\(csrf)">
            <label for="confirm">Type the project's name to confirm</label><input id="confirm" name="confirm" required autocomplete="off"\(confirm.attributes())>\(confirm.message)
            <button type="submit">Delete for good</button></form>
            <p><a href="\(project.path)">Keep it</a></p></section>
            """
        var response = Response.html(Layout.page(title: "Delete \(name)", body: body, csrfToken: csrf, signedIn: true))
        if confirm.error != nil { response.clearFeedback(request, secure: secure(request)) }
        return response
    }

    func deleteProject(_ request: Request) throws -> Response {
        let (caller, _) = try signedIn(request)
        let project = try store.project(caller, at: request)
        let name = try store.projectContents(project.id).name
        guard request.formField("confirm") == name else {
            return .back(to: project.path + "/delete#confirm",
                         FormFeedback(form: "confirm", field: "confirm", message: "That is not the project's name; type “\(name)” exactly to delete it.",
                                      value: request.formField("confirm"), isError: true), secure: secure(request))
        }
        try store.deleteProject(caller, id: project.id)
        authenticator.tokenCache.clear()
        return .back(to: String(project.path[..<project.path.lastIndex(of: "/")!]), .success("Project \(name) deleted, with all its runs."),
                     secure: secure(request))
    }
}
