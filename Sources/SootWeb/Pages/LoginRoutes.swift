import Emissions
import Foundation
import HTTPServer
import SootStore

/// `GET/POST /login`, `POST /logout`, and the signed-in home page.
struct LoginRoutes {
    let sessions: SessionStore
    let authenticator: Authenticator
    let throttle: LoginThrottle
    let secureCookies: Bool
    let proxies: TrustedProxies
    let store: Store

    static let loginCSRFCookie = "soot_login_csrf"

    func register(_ router: inout Router) {
        let routes = self
        router.get("/login") { request in try routes.loginForm(request, error: nil, status: .ok) }
        router.post("/login") { request in try routes.login(request) }
        router.post("/logout") { request in try routes.logout(request) }
        router.post("/logout/everywhere") { request in try routes.logoutEverywhere(request) }
        router.get("/") { request in try routes.home(request) }
    }

    /// A same-origin path to return to after login; anything else becomes "/".
    ///
    /// Browsers parse a `Location` leniently (WHATWG URL): they strip leading and trailing C0 controls and spaces,
    /// drop tabs and newlines anywhere, and read `\\` as `/`. So `/\t/evil.example` is `//evil.example`, another
    /// host. Only a path that is still a single-slash path after those rules passes: no control character, space
    /// or backslash at all, and no `//` at the start.
    static func safeNext(_ text: String?) -> String {
        guard let text, text.hasPrefix("/"), !text.hasPrefix("//"),
              !text.unicodeScalars.contains(where: { $0.value <= 0x20 || $0.value == 0x7F || $0 == "\\" }) else { return "/" }
        return text
    }

    /// Cookies are `Secure` when the operator says so, or when this request came over HTTPS through a trusted proxy.
    func secure(_ request: Request) -> Bool { secureCookies || proxies.isHTTPS(request) }

    func loginForm(_ request: Request, error: String?, status: HTTPStatus, email: String = "") throws -> Response {
        if error == nil, case .user = try authenticator.identify(request).identity {
            return .redirect(to: LoginRoutes.safeNext(request.query("next")))
        }
        let token = Cookies.value(LoginRoutes.loginCSRFCookie, in: request).flatMap { $0.utf8.count == 32 ? $0 : nil }
            ?? Crypto.randomToken(bytes: 24)
        let next = LoginRoutes.safeNext(request.query("next") ?? request.formField("next"))
        let message: HTML = error.map { text -> HTML in "<p class=\"notice error\" role=\"alert\">\(text)</p>" } ?? ""
        let body: HTML = """
            <section class="card narrow">
            <h1>Log in to Soot</h1>
            \(message)
            <form method="post" action="/login">
            <input type="hidden" name="csrf_token" value="\(token)">
            <input type="hidden" name="next" value="\(next)">
            <label for="email">Email</label>
            <input id="email" name="email" type="email" autocomplete="username" required value="\(email)">
            <label for="password">Password</label>
            <input id="password" name="password" type="password" autocomplete="current-password" required>
            <button type="submit">Log in</button>
            </form>
            </section>
            """
        var response = Response.html(Layout.page(title: "Log in", body: body), status: status)
        response.headers.add("Set-Cookie", Cookies.make(LoginRoutes.loginCSRFCookie, token, maxAge: 3600, secure: secure(request)))
        response.headers.set("Cache-Control", "no-store")
        return response
    }

    func login(_ request: Request) throws -> Response {
        let sent = request.formField("csrf_token") ?? ""
        let expected = Cookies.value(LoginRoutes.loginCSRFCookie, in: request) ?? ""
        guard !expected.isEmpty, Crypto.constantTimeEquals(sent, expected) else {
            return try loginForm(request, error: "The form expired; please try again.", status: .forbidden)
        }
        let email = (request.formField("email") ?? "").trimmingCharacters(in: .whitespaces)
        let password = request.formField("password") ?? ""
        let client = proxies.clientAddress(request)
        let keys = LoginThrottle.keys(email: email, address: client)
        if let wait = try throttle.begin(keys) {
            var response = try loginForm(request, error: "Too many failed attempts. Try again in \(wait) seconds.",
                                         status: .tooManyRequests, email: email)
            response.headers.set("Retry-After", "\(wait)")
            return response
        }
        var origin = Caller.anonymous
        (origin.address, origin.requestID) = (client, request.id)
        guard let userID = try store.signIn(email: email, password: password, from: origin) else {
            return try loginForm(request, error: "That email and password do not match.", status: .unauthorized, email: email)
        }
        try throttle.succeeded(keys)
        // Rotate: whatever session the browser had ends; a new id is issued.
        if let old = Cookies.value(SessionStore.cookieName, in: request) {
            try sessions.delete(id: Crypto.sha256Hex(old))
        }
        let (cookie, _) = try sessions.create(userID: userID, remoteAddress: client, userAgent: request.headers["User-Agent"], origin: origin)
        var response = Response.redirect(to: LoginRoutes.safeNext(request.formField("next")))
        response.headers.add("Set-Cookie", Cookies.make(SessionStore.cookieName, cookie, maxAge: Int(sessions.lifetime), secure: secure(request)))
        response.headers.add("Set-Cookie", Cookies.expire(LoginRoutes.loginCSRFCookie, secure: secure(request)))
        return response
    }

    func logout(_ request: Request) throws -> Response {
        let caller = try authenticator.authenticate(request)
        if case .session(let id, _) = caller.credential { try sessions.delete(id: id) }
        var response = Response.redirect(to: "/login")
        response.headers.add("Set-Cookie", Cookies.expire(SessionStore.cookieName, secure: secure(request)))
        return response
    }

    /// Ends every session of the signed-in person and revokes their personal tokens, then says so.
    func logoutEverywhere(_ request: Request) throws -> Response {
        let caller = try authenticator.authenticate(request)
        guard case .session = caller.credential else {
            throw AppError.forbidden("Sign out everywhere from a signed-in browser.")
        }
        let ended = try store.endCredentials(caller)
        let body: HTML = """
            <section class="card narrow">
            <h1>Signed out everywhere</h1>
            <p role="status">\(ended.sessions) \(ended.sessions == 1 ? "session" : "sessions") ended and \
            \(ended.personalTokens) personal access \(ended.personalTokens == 1 ? "token" : "tokens") revoked. \
            Scripts that used those tokens need a new one. Project tokens were not touched.</p>
            <p><a href="/login">Log in again</a></p>
            </section>
            """
        var response = Response.html(Layout.page(title: "Signed out everywhere", body: body))
        response.headers.add("Set-Cookie", Cookies.expire(SessionStore.cookieName, secure: secure(request)))
        response.headers.set("Cache-Control", "no-store")
        return response
    }

    func home(_ request: Request) throws -> Response {
        let caller = try authenticator.identify(request)
        guard case .user = caller.identity, case .session(_, let csrf) = caller.credential else {
            return .redirect(to: "/login")
        }
        if caller.mustChangePassword { return .redirect(to: "/account#password") }
        let feedback = FormFeedback.read(request)
        let newOrganization = FieldState(form: "new-organization", feedback)
        var notice: HTML = ""
        if let feedback, !feedback.isError { notice = feedback.notice }
        let me = try store.me(caller)
        let organizations = try store.listOrganizations(caller, page: Page(limit: 200, offset: 0))
        var items: HTML = ""
        for organization in organizations.items {
            let (name, slug) = (organization.name, organization.slug)
            guard let role = organization.role else { continue }
            items += "<li><a href=\"/o/\(FormDecoding.encode(slug))\">\(name)</a> <span class=\"muted\">(\(role))</span></li>\n"
        }
        if items.isEmpty { items = "<li class=\"muted\">You do not belong to an organization yet.</li>" }
        let email = me.email
        guard let user = caller.userID else { throw AppError.unauthorized() }
        var recent: HTML = ""
        for run in try store.recentRuns(caller) {
            let mass = Formatting.mass(kilograms: run.emissionsKg)
            let started = localTime(run.startedAt)
            recent += "<tr><td><a href=\"/run/\(run.id.idText)\">\(started)</a></td>"
            recent += "<td>\(run.project) / \(run.experiment)</td>"
            recent += "<td class=\"num\">\(mass.value) \(mass.unit)</td></tr>"
        }
        _ = user
        let weeks = try store.teamWeeks(caller)
        var teamRows: HTML = ""
        for week in weeks {
            let recentMass = Formatting.mass(kilograms: week.lastSevenDaysKg), beforeMass = Formatting.mass(kilograms: week.sevenDaysBeforeKg)
            var change: HTML = "–"
            if week.sevenDaysBeforeKg > 0 {
                let fraction = (week.lastSevenDaysKg - week.sevenDaysBeforeKg) / week.sevenDaysBeforeKg
                change = "\(fraction > 0 ? "+" : "")\(Formatting.percent(fraction)) %"
            } else if week.lastSevenDaysKg > 0 {
                change = "new"
            }
            let link = "/o/\(FormDecoding.encode(week.organizationSlug))/\(FormDecoding.encode(week.teamSlug))?range=7d"
            teamRows += "<tr><td><a href=\"\(link)\">\(week.team)</a> <span class=\"muted\">\(week.organization)</span></td>"
            teamRows += "<td class=\"num\">\(recentMass.value) \(recentMass.unit)</td><td class=\"num\">\(beforeMass.value) \(beforeMass.unit)</td>"
            teamRows += "<td class=\"num\">\(change)</td></tr>"
        }
        let thisWeek: HTML = weeks.isEmpty ? "" : """
            <h2>Your teams this week</h2>
            <div class="table-scroll" tabindex="0"><table><thead><tr><th scope="col">Team</th><th scope="col" class="num">Last 7 days (CO2e)</th>\
            <th scope="col" class="num">7 days before</th><th scope="col" class="num">Change</th></tr></thead><tbody>\(teamRows)</tbody></table></div>
            """
        let firstSteps: HTML = recent.isEmpty ? FirstSteps.card(base: baseURL(request)) : ""
        let runs: HTML = recent.isEmpty ? "<p class=\"muted\">No runs yet.</p>"
            : "<div class=\"table-scroll\" tabindex=\"0\"><table><thead><tr><th>Started</th><th>Project / experiment</th><th class=\"num\">Emissions</th></tr></thead><tbody>\(recent)</tbody></table></div>"
        let body: HTML = """
            <h1>Welcome</h1>
            \(notice)
            <p>Signed in as <strong>\(email)</strong>.</p>
            \(firstSteps)\(thisWeek)
            <h2>Your organizations</h2>
            <ul class="plain">\(items)</ul>
            <form method="post" action="/organizations" class="card"><input type="hidden" name="csrf_token" value="\(csrf)">
            <label for="new-organization">New organization</label>
            <input id="new-organization" name="name" required maxlength="200" placeholder="e.g. Acme Research"\(newOrganization.attributes())>\(newOrganization.message)
            <button type="submit">Create organization</button></form>
            <p><a href="/account">Your account</a>: password and personal access tokens.</p>
            <form method="post" action="/logout/everywhere" class="inline">
            <input type="hidden" name="csrf_token" value="\(csrf)">
            <button type="submit" class="link">Sign out everywhere</button>
            <span class="muted">ends every session and revokes your personal access tokens</span></form>
            <h2>Recent runs</h2>
            <form method="get" action="/find-run" class="card"><label for="run-id">Find a run by its id</label>
            <input id="run-id" name="id" placeholder="e.g. 6f1c…" required><button type="submit">Open the run</button></form>
            \(runs)
            """
        var response = Response.html(Layout.page(title: "Home", body: body, csrfToken: csrf, signedIn: true))
        response.headers.set("Cache-Control", "no-store")
        response.clearFeedback(request, secure: secure(request))
        return response
    }

    /// The address the browser used, for snippets (`http://` unless a trusted proxy says HTTPS).
    func baseURL(_ request: Request) -> String {
        let host = request.head.authority ?? "localhost:8080"
        return (secure(request) ? "https://" : "http://") + host
    }
}
