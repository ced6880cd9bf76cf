import Foundation
import HTTPServer
import SootStore

/// `/account`: the signed-in person's own page: their password (which they must choose at their first sign-in
/// when they were given one) and their personal access tokens (for the REST API and `codecarbon`'s reads). The
/// home page's form creates an organization. Every form carries the session's CSRF token.
struct AccountPages {
    let authenticator: Authenticator
    let store: Store
    let proxies: TrustedProxies

    func register(_ router: inout Router) {
        let pages = self
        router.get("/account") { request in try pages.account(request) }
        router.post("/account/password") { request in try pages.changePassword(request) }
        router.post("/account/tokens") { request in try pages.createToken(request) }
        router.post("/account/tokens/:token/revoke") { request in try pages.revokeToken(request) }
        router.post("/organizations") { request in try pages.createOrganization(request) }
    }

    func secure(_ request: Request) -> Bool { proxies.isHTTPS(request) }

    func account(_ request: Request) throws -> Response {
        let caller = try authenticator.identify(request)
        guard case .user = caller.identity, case .session(_, let csrf) = caller.credential else {
            return .redirect(to: "/login?next=%2Faccount")
        }
        let me = try store.me(caller)
        let tokens = try store.listPersonalTokens(caller, page: Page(limit: 200, offset: 0)).items
        let feedback = FormFeedback.read(request)
        var response = Response.html(Layout.page(title: "Your account", body: AccountViews.page(
            email: me.email, mustChangePassword: caller.mustChangePassword, tokens: tokens, csrf: csrf, feedback: feedback,
            activity: try store.accountActivity(caller)),
            csrfToken: csrf, signedIn: true))
        response.headers.set("Cache-Control", "private, no-store")
        response.clearFeedback(request, secure: secure(request))
        return response
    }

    func changePassword(_ request: Request) throws -> Response {
        let (caller, _) = try authenticator.sessionUser(request)
        do {
            let ended = try store.changePassword(caller, current: request.formField("current_password") ?? "",
                                                 new: request.formField("new_password") ?? "", again: request.formField("new_password_again") ?? "")
            let others = ended == 0 ? "" : " Your \(ended) other \(ended == 1 ? "session was" : "sessions were") signed out."
            return .back(to: "/", .success("Password changed.\(others)"), secure: secure(request))
        } catch {
            guard let refusal = AppError.from(error), refusal.status == .unprocessableContent else { throw error }
            // Passwords are never sent back: the field is named, nothing typed is kept.
            let field = refusal.field ?? "new_password"
            return .back(to: "/account#\(field)", FormFeedback(form: field, field: field, message: refusal.message, value: nil, isError: true),
                         secure: secure(request))
        }
    }

    func createToken(_ request: Request) throws -> Response {
        let (caller, csrf) = try authenticator.sessionUser(request)
        return try formSubmission(request, form: "personal-token-name", page: "/account", secure: secure(request)) {
            let name = (request.formField("name") ?? "").trimmingOWS()
            guard !name.isEmpty, name.count <= 200 else { throw AppError.invalid("name", "Give the token a name of 1 to 200 characters.") }
            try TextRules.check(name, field: "name", allowLineBreaks: false)
            let scope = request.formField("scope") == "read" ? "read" : "write"
            // Empty: until revoked. Anything else must be a whole number of days in range (a number too long for an
            // Int used to be taken as "never").
            let text = (request.formField("expires_in_days") ?? "").trimmingOWS()
            var days: Int?
            if !text.isEmpty {
                guard text.utf8.count <= 4, let value = Int(text), (1...3650).contains(value) else {
                    throw AppError.invalid("expires_in_days", "A token lasts 1 to 3,650 days, or until revoked (leave it empty).")
                }
                days = value
            }
            let (_, token) = try store.createPersonalToken(caller, name: name, scope: scope, expiresInDays: days)
            let base = proxies.baseURL(request)
            let body: HTML = """
                <nav class="crumbs" aria-label="Breadcrumb"><a href="/account">Back to your account</a></nav>
                <h1>New personal access token</h1>
                <p class="notice">Copy it now: Soot keeps only a hash and cannot show it again. It acts as you, with \(scope) access.</p>
                <pre class="card copy" id="token">\(token)</pre>
                <h2>With the REST API</h2>
                <pre class="card copy">curl -H "Authorization: Bearer \(token)" \(base)/api/v1/organizations</pre>
                """
            var response = Response.html(Layout.page(title: "New personal access token", body: body, csrfToken: csrf, signedIn: true),
                                         status: .created)
            response.headers.set("Cache-Control", "no-store")
            return response
        }
    }

    func revokeToken(_ request: Request) throws -> Response {
        let (caller, _) = try authenticator.sessionUser(request)
        try store.revokePersonalToken(caller, id: try Store.id(request.parameter("token")))
        authenticator.tokenCache.clear()
        return .back(to: "/account#tokens", .success("Token revoked: it stops working at once."), secure: secure(request))
    }

    func createOrganization(_ request: Request) throws -> Response {
        let (caller, _) = try authenticator.sessionUser(request)
        return try formSubmission(request, form: "new-organization", page: "/", secure: secure(request)) {
            let organization = try store.createOrganization(caller, name: try ManagementPages.name(request), description: "")
            return .back(to: "/o/\(FormDecoding.encode(organization.slug))",
                         .success("Organization \(organization.name) created: you are its owner. Create a team next."), secure: secure(request))
        }
    }
}

/// The account page's view: pure, testable without a server.
enum AccountViews {
    static func page(email: String, mustChangePassword: Bool, tokens: [TokenRecord], csrf: String, feedback: FormFeedback?,
                     activity: [AuditEntryRecord] = []) -> HTML {
        let hidden: HTML = "<input type=\"hidden\" name=\"csrf_token\" value=\"\(csrf)\">"
        let current = FieldState(form: "current_password", feedback), new = FieldState(form: "new_password", feedback)
        let again = FieldState(form: "new_password_again", feedback), tokenName = FieldState(form: "personal-token-name", feedback)
        let first: HTML = mustChangePassword
            ? "<p class=\"notice\" role=\"status\">Choose your own password: the one you were given was for the first sign-in only.</p>" : ""
        var notice: HTML = ""
        if let feedback, !feedback.isError { notice = feedback.notice }
        var rows: HTML = ""
        for token in tokens where token.revokedAt == nil {
            let used = token.lastUsedAt.map(localTime) ?? "never"
            let expires = token.expiresAt.map(localTime) ?? "never"
            rows += "<tr><td>\(token.name)</td><td><code>\(token.prefix)…</code></td><td>\(token.scope)</td><td>\(used)</td><td>\(expires)</td>"
            rows += "<td><form method=\"post\" action=\"/account/tokens/\(token.id.idText)/revoke\" class=\"inline\">\(hidden)"
            rows += "<button type=\"submit\" class=\"link\">Revoke</button></form></td></tr>"
        }
        let list: HTML = rows.isEmpty ? "<p class=\"muted\">You have no personal access token.</p>" : """
            <div class="table-scroll" tabindex="0"><table><thead><tr><th scope="col">Name</th><th scope="col">Token</th><th scope="col">Scope</th>\
            <th scope="col">Last used</th><th scope="col">Expires</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>\
            <tbody>\(rows)</tbody></table></div>
            """
        return """
            <nav class="crumbs" aria-label="Breadcrumb"><a href="/">Home</a></nav>
            <h1>Your account</h1>
            \(first)\(notice)
            <p>Signed in as <strong>\(email)</strong>.</p>
            <h2 id="password">Password</h2>
            <form method="post" action="/account/password" class="card">\(hidden)
            <label for="current_password">Current password</label>
            <input id="current_password" name="current_password" type="password" autocomplete="current-password" required\(current.attributes())>\(current.message)
            <label for="new_password">New password (at least 10 characters)</label>
            <input id="new_password" name="new_password" type="password" autocomplete="new-password" minlength="10" required\(new.attributes())>\(new.message)
            <label for="new_password_again">New password, again</label>
            <input id="new_password_again" name="new_password_again" type="password" autocomplete="new-password" minlength="10" required\(again.attributes())>\(again.message)
            <button type="submit">Change password</button>
            <p class="muted">Your other sessions are signed out; this one and your tokens stay.</p></form>
            <h2 id="tokens">Personal access tokens</h2>
            <p>A personal token acts as you over the REST API (<code>Authorization: Bearer …</code>) and for the \
            <code>codecarbon</code> command line's reads.</p>
            \(list)
            <form method="post" action="/account/tokens" class="card">\(hidden)
            <label for="personal-token-name">New token</label>
            <input id="personal-token-name" name="name" required maxlength="200" placeholder="e.g. reporting script"\(tokenName.attributes())>\(tokenName.message)
            <label for="personal-token-scope">Scope</label>
            <select id="personal-token-scope" name="scope"><option value="read">read</option><option value="write">write</option></select>
            <label for="personal-token-days">Expires after (days; empty for never)</label>
            <input id="personal-token-days" name="expires_in_days" inputmode="numeric" pattern="[0-9]*" maxlength="4">
            <button type="submit">Create token</button></form>
            \(AuditViews.accountActivity(activity))
            """
    }
}
