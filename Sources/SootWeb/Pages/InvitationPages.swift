import Foundation
import HTTPServer
import SootStore

/// `/invitations/{secret}`: the page an invitation's link opens. Signed in with the invited email, one button
/// joins; signed out, the visitor logs in (and comes back), or chooses a password for a new account with that
/// email. The secret in the path is redacted from the access log.
struct InvitationPages {
    let store: Store
    let authenticator: Authenticator
    let sessions: SessionStore
    let login: LoginRoutes

    func register(_ router: inout Router) {
        let pages = self
        router.get("/invitations/:secret") { request in try pages.show(request, error: nil) }
        router.post("/invitations/:secret") { request in try pages.accept(request) }
        router.post("/invitations/:secret/account") { request in try pages.createAccount(request) }
    }

    private func secret(_ request: Request) -> String { request.parameter("secret") ?? "" }

    func show(_ request: Request, error: String?, status: HTTPStatus = .ok) throws -> Response {
        let secret = secret(request)
        let invitation = try store.invitation(secret: secret)
        let caller = try authenticator.identify(request)
        let path = Store.invitationPath(secret)
        let joins: HTML = invitation.teamName.map { name -> HTML in " and its team <strong>\(name)</strong>" } ?? ""
        let notice: HTML = error.map { message -> HTML in "<p class=\"notice error\" role=\"alert\">\(message)</p>" } ?? ""
        var body: HTML = """
            <section class="card narrow">
            <h1>Join \(invitation.organizationName)</h1>
            <p>\(invitation.invitedBy ?? "An administrator") invites <strong>\(invitation.email)</strong> to \
            <strong>\(invitation.organizationName)</strong>\(joins) as <strong>\(invitation.role)</strong>.</p>
            \(notice)
            """
        var csrfForLayout: String?
        var response: Response
        if case .user(let userID) = caller.identity, case .session(_, let csrf) = caller.credential {
            csrfForLayout = csrf
            let me = try store.me(caller).email
            if me.lowercased() == invitation.email.lowercased() {
                body += """
                    <form method="post" action="\(path)"><input type="hidden" name="csrf_token" value="\(csrf)">
                    <button type="submit">Accept and join</button></form>
                    """
            } else {
                body += """
                    <p>You are logged in as <strong>\(me)</strong>. This invitation is for \(invitation.email): \
                    log out, then open this link again and log in with that email.</p>
                    """
            }
            _ = userID
            response = .html(Layout.page(title: "Invitation", body: body + "</section>", csrfToken: csrfForLayout, signedIn: true), status: status)
        } else {
            let token = Cookies.value(LoginRoutes.loginCSRFCookie, in: request).flatMap { $0.utf8.count == 32 ? $0 : nil }
                ?? Crypto.randomToken(bytes: 24)
            body += """
                <p><a class="button" href="/login?next=\(FormDecoding.encode(path))">Log in to accept</a> if you have a Soot account.</p>
                <h2>New to Soot?</h2>
                <form method="post" action="\(path)/account">
                <input type="hidden" name="csrf_token" value="\(token)">
                <label for="email">Email</label><input id="email" type="email" value="\(invitation.email)" readonly autocomplete="username">
                <label for="password">Choose a password (at least 10 characters)</label>
                <input id="password" name="password" type="password" minlength="10" required autocomplete="new-password">
                <label for="password-again">The same password again</label>
                <input id="password-again" name="password_again" type="password" minlength="10" required autocomplete="new-password">
                <button type="submit">Create my account and join</button>
                </form>
                </section>
                """
            response = .html(Layout.page(title: "Invitation", body: body), status: status)
            response.headers.add("Set-Cookie", Cookies.make(LoginRoutes.loginCSRFCookie, token, maxAge: 3600, secure: login.secure(request)))
        }
        response.headers.set("Cache-Control", "no-store")
        return response
    }

    /// Accepts as the signed-in person (session and CSRF checked).
    func accept(_ request: Request) throws -> Response {
        let (caller, _) = try authenticator.sessionUser(request)
        do {
            let organization = try store.acceptInvitation(caller, secret: secret(request))
            return .redirect(to: "/o/" + FormDecoding.encode(organization.slug))
        } catch let error as AppError where error.status == .forbidden {
            return try show(request, error: error.message, status: .forbidden)
        }
    }

    /// Creates the account with the chosen password, accepts, and signs in.
    func createAccount(_ request: Request) throws -> Response {
        let sent = request.formField("csrf_token") ?? ""
        let expected = Cookies.value(LoginRoutes.loginCSRFCookie, in: request) ?? ""
        guard !expected.isEmpty, Crypto.constantTimeEquals(sent, expected) else {
            return try show(request, error: "The form expired; please try again.", status: .forbidden)
        }
        let password = request.formField("password") ?? ""
        guard password == (request.formField("password_again") ?? "") else {
            return try show(request, error: "The two passwords differ.", status: .unprocessableContent)
        }
        // Whether an email has an account shows here, to whoever holds the link (the invitee, and the inviter):
        // each try counts against the sign-in throttle of the email and the address, so the page cannot be used
        // to list accounts faster than the login form could be.
        let invitation = try store.invitation(secret: secret(request))
        let keys = LoginThrottle.keys(email: invitation.email, address: login.proxies.clientAddress(request))
        if let wait = try login.throttle.begin(keys) {
            var response = try show(request, error: "Too many attempts. Try again in \(wait) seconds.", status: .tooManyRequests)
            response.headers.set("Retry-After", "\(wait)")
            return response
        }
        var origin = Caller.anonymous
        (origin.address, origin.requestID) = (login.proxies.clientAddress(request), request.id)
        let created: (userID: UUID, organization: (id: UUID, slug: String))
        do {
            created = try store.acceptInvitationWithNewAccount(secret: secret(request), password: password, from: origin)
        } catch let error as AppError where error.status == .unprocessableContent || error.status == .conflict {
            return try show(request, error: error.message, status: error.httpStatus)
        }
        try login.throttle.succeeded(keys)
        let (cookie, _) = try sessions.create(userID: created.userID, remoteAddress: login.proxies.clientAddress(request),
                                              userAgent: request.headers["User-Agent"], origin: origin)
        var response = Response.redirect(to: "/o/" + FormDecoding.encode(created.organization.slug))
        response.headers.add("Set-Cookie", Cookies.make(SessionStore.cookieName, cookie, maxAge: Int(sessions.lifetime), secure: login.secure(request)))
        response.headers.add("Set-Cookie", Cookies.expire(LoginRoutes.loginCSRFCookie, secure: login.secure(request)))
        return response
    }
}
