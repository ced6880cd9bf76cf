import Foundation
import HTTPServer
import Postgres

/// On a project's page, for the people who work in it: ingest tokens (created and shown once, with the
/// `.codecarbon.config` snippet and environment variables, revocable) and the public read-only link.
/// Every form posts with the session's CSRF token and goes through the same `Store` checks as the REST API.
struct ProjectSettingsRoutes {
    let database: ConnectionPool
    let authenticator: Authenticator
    let store: Store

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
        let name = (request.formField("name") ?? "").trimmingOWS()
        guard !name.isEmpty, name.count <= 200 else { throw AppError.invalid("name", "Give the token a name of 1 to 200 characters.") }
        try TextRules.check(name, field: "name", allowLineBreaks: false)
        let scope = request.formField("scope") == "read" ? "read" : "write"
        let (_, token) = try store.createProjectToken(caller, projectID: project.id, name: name, scope: scope, expiresInDays: nil)
        let host = request.headers["Host"].map { "http://\($0)" } ?? "http://127.0.0.1:8080"
        let experiment = project.experiment?.lowercaseText ?? "<experiment-id>"
        let body: HTML = """
            <nav class="crumbs"><a href="\(project.path)">Back to the project</a></nav>
            <h1>New ingest token</h1>
            <p class="notice">Copy it now: Soot keeps only a hash and cannot show it again.</p>
            <pre class="card" id="token">\(token)</pre>
            <h2>For codecarbon: <code>.codecarbon.config</code></h2>
            <pre class="card">[codecarbon]
            api_endpoint = \(host)
            api_key = \(token)
            experiment_id = \(experiment)
            save_to_api = True</pre>
            <h2>Or as environment variables</h2>
            <pre class="card">export CODECARBON_API_ENDPOINT=\(host)
            export CODECARBON_API_KEY=\(token)
            export CODECARBON_EXPERIMENT_ID=\(experiment)</pre>
            <h2>Or CodeCarbon's <code>emissions_endpoint</code></h2>
            <pre class="card">EmissionsTracker(emissions_endpoint="\(host)/ingest/\(token)")</pre>
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
        return .redirect(to: project.path + "#send-data")
    }

    func setPublic(_ request: Request) throws -> Response {
        let (caller, _) = try signedIn(request)
        let project = try project(request, caller)
        _ = try store.updateProject(caller, id: project.id, name: nil, description: nil, isPublic: request.formField("public") == "on")
        return .redirect(to: project.path + "#sharing")
    }

    /// The "send data" and sharing panels shown on the project page.
    static func panels(_ database: ConnectionPool, caller: Caller, projectID: UUID, path: String) throws -> HTML {
        guard caller.userID != nil, case .session(_, let csrf) = caller.credential else { return "" }
        let tokens = try database.query("""
            SELECT t.id, t.name, t.prefix, t.scope, t.last_used_at, t.created_at FROM api_tokens t
            WHERE t.kind = 'project' AND t.project_id = \(projectID) AND t.revoked_at IS NULL ORDER BY t.created_at DESC
            """).rows
        let project = try database.query("SELECT is_public, public_slug FROM projects WHERE id = \(projectID)").first!
        let hidden: HTML = "<input type=\"hidden\" name=\"csrf_token\" value=\"\(csrf)\">"
        var rows: HTML = ""
        for row in tokens {
            let id: UUID = try row.decode("id")
            let used = try row.decode("last_used_at", as: Date?.self).map { ISOTime.format($0).prefix(16).replacingOccurrences(of: "T", with: " ") } ?? "never"
            rows += "<tr><td>\(try row.decode("name", as: String.self))</td><td><code>\(try row.decode("prefix", as: String.self))…</code></td>"
            rows += "<td>\(try row.decode("scope", as: String.self))</td><td>\(used)</td>"
            rows += "<td><form method=\"post\" action=\"\(path)/tokens/\(id.lowercaseText)/revoke\" class=\"inline\">\(hidden)"
            rows += "<button type=\"submit\" class=\"link\">Revoke</button></form></td></tr>"
        }
        let list: HTML = rows.isEmpty ? "<p class=\"muted\">No active ingest token.</p>"
            : "<table><thead><tr><th>Name</th><th>Token</th><th>Scope</th><th>Last used</th><th></th></tr></thead><tbody>\(rows)</tbody></table>"
        let isPublic: Bool = try project.decode("is_public")
        let link = try project.decode("public_slug", as: String?.self).map { "/p/\($0)" }
        let shared = link ?? ""
        let sharing: HTML = isPublic
            ? "<p>Anyone with this link can read this project's figures: <a href=\"\(shared)\">\(shared)</a></p><form method=\"post\" action=\"\(path)/public\">\(hidden)<input type=\"hidden\" name=\"public\" value=\"off\"><button type=\"submit\">Stop sharing</button></form>"
            : "<p class=\"muted\">Only members can see this project.</p><form method=\"post\" action=\"\(path)/public\">\(hidden)<input type=\"hidden\" name=\"public\" value=\"on\"><button type=\"submit\">Create a read-only public link</button></form>"
        return """
            <h2 id="send-data">Send data to this project</h2>
            \(list)
            <form method="post" action="\(path)/tokens" class="card">\(hidden)
            <label for="token-name">New ingest token</label><input id="token-name" name="name" required maxlength="200" placeholder="e.g. training cluster">
            <label for="token-scope">Scope</label><select id="token-scope" name="scope"><option value="write">write (agents post data)</option><option value="read">read</option></select>
            <button type="submit">Create token</button></form>
            <h2 id="sharing">Sharing</h2>
            \(sharing)
            """
    }
}
