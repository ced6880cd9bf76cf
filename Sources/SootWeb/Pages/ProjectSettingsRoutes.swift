import Foundation
import HTTPServer
import SootStore

/// On a project's page, for the people who work in it: ingest tokens (created and shown once, with the
/// `.codecarbon.config` snippet and environment variables, revocable) and the public read-only link.
/// Every form posts with the session's CSRF token and goes through the same `Store` checks as the REST API.
struct ProjectSettingsRoutes {
    let authenticator: Authenticator
    let store: Store
    let proxies: TrustedProxies

    func register(_ router: inout Router) {
        let routes = self
        router.post("/o/:org/:team/:project/tokens") { request in try routes.createToken(request) }
        router.post("/o/:org/:team/:project/tokens/:token/revoke") { request in try routes.revokeToken(request) }
        router.post("/o/:org/:team/:project/public") { request in try routes.setPublic(request) }
    }

    /// The project named by the path, visible to the caller (404 otherwise), and its page path.
    func project(_ request: Request, _ caller: Caller) throws -> Store.ProjectPage { try store.project(caller, at: request) }

    func signedIn(_ request: Request) throws -> (Caller, String) { try authenticator.sessionUser(request) }

    func createToken(_ request: Request) throws -> Response {
        let (caller, csrf) = try signedIn(request)
        let project = try project(request, caller)
        return try formSubmission(request, form: "token-name", page: project.path, secure: proxies.isHTTPS(request)) {
            try showNewToken(request, caller: caller, csrf: csrf, project: project)
        }
    }

    func showNewToken(_ request: Request, caller: Caller, csrf: String, project: Store.ProjectPage) throws -> Response {
        let name = (request.formField("name") ?? "").trimmingOWS()
        guard !name.isEmpty, name.count <= 200 else { throw AppError.invalid("name", "Give the token a name of 1 to 200 characters.") }
        try TextRules.check(name, field: "name", allowLineBreaks: false)
        let scope = request.formField("scope") == "read" ? "read" : "write"
        let (_, token) = try store.createProjectToken(caller, projectID: project.id, name: name, scope: scope, expiresInDays: nil)
        let host = proxies.baseURL(request)
        let experiment = project.experiment?.idText ?? "<experiment-id>"
        let body: HTML = """
            <nav class="crumbs"><a href="\(project.path)">Back to the project</a></nav>
            <h1>New ingest token</h1>
            <p class="notice">Copy it now: Soot keeps only a hash and cannot show it again.</p>
            <pre class="card copy" id="token">\(token)</pre>
            <h2>For codecarbon: <code>.codecarbon.config</code></h2>
            <pre class="card copy">[codecarbon]
            api_endpoint = \(host)
            api_key = \(token)
            experiment_id = \(experiment)
            save_to_api = True</pre>
            <h2>Or as environment variables</h2>
            <pre class="card copy">export CODECARBON_API_ENDPOINT=\(host)
            export CODECARBON_API_KEY=\(token)
            export CODECARBON_EXPERIMENT_ID=\(experiment)</pre>
            <h2>Or CodeCarbon's <code>emissions_endpoint</code></h2>
            <pre class="card copy">EmissionsTracker(emissions_endpoint="\(host)/ingest/\(token)")</pre>
            """
        var response = Response.html(Layout.page(title: "New ingest token", body: body, csrfToken: csrf, signedIn: true), status: .created)
        response.headers.set("Cache-Control", "no-store")
        return response
    }

    func revokeToken(_ request: Request) throws -> Response {
        let (caller, _) = try signedIn(request)
        let project = try project(request, caller)
        try store.revokeProjectToken(caller, projectID: project.id, tokenID: try Store.id(request.parameter("token")))
        authenticator.tokenCache.clear()
        return .back(to: project.path + "#send-data", .success("Token revoked: it stops working at once."), secure: proxies.isHTTPS(request))
    }

    func setPublic(_ request: Request) throws -> Response {
        let (caller, _) = try signedIn(request)
        let project = try project(request, caller)
        let on = request.formField("public") == "on"
        _ = try store.updateProject(caller, id: project.id, name: nil, description: nil, isPublic: on)
        return .back(to: project.path + "#sharing", .success(on ? "Anyone with the link can now read this project." : "The public link no longer works."),
                     secure: proxies.isHTTPS(request))
    }
}
