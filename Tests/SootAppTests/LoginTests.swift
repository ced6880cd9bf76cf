import Foundation
import HTTPServer
import Postgres
@testable import SootStore
@testable import SootWeb
import TestSupport
import Testing

@Suite struct LoginTests {
    func user(_ app: AppFixture) throws -> (email: String, password: String) {
        try app.pool.transaction { try Accounts.createUser($0, email: "Ada@Example.com", name: "Ada", password: "correct horse battery") }
        return ("ada@example.com", "correct horse battery")
    }

    @Test func loggingInSetsARotatedHttpOnlySessionCookie() throws {
        try withApp { app in
            let (email, password) = try user(app)
            var browser = Browser(app: app)
            #expect(try browser.get("/").status == 303)
            let login = try browser.logIn(email: email, password: password, next: "/?welcome=1")
            #expect(login.status == 303)
            #expect(login.header("Location") == "/?welcome=1")
            let cookie = try #require(login.headers("Set-Cookie").first { $0.hasPrefix("soot_session=") })
            #expect(cookie.contains("HttpOnly"))
            #expect(cookie.contains("SameSite=Lax"))
            #expect(!cookie.contains("Secure"))
            let first = try #require(browser.cookies["soot_session"])
            let home = try browser.get("/")
            #expect(home.status == 200)
            #expect(home.text.contains("Signed in as <strong>Ada@Example.com</strong>"))
            // The cookie value is not what the database stores.
            #expect(try app.pool.query("SELECT count(*) AS n FROM sessions WHERE id = \(first)").first!.decode("n", as: Int.self) == 0)
            // Logging in while carrying a session rotates it: the old id stops working.
            var fresh = Browser(app: app)
            let form = try fresh.get("/login")
            fresh.cookies["soot_session"] = first
            _ = try fresh.post("/login", form: [("csrf_token", try #require(Browser.csrf(in: form.text))), ("email", email),
                                                ("password", password)])
            let second = try #require(fresh.cookies["soot_session"])
            #expect(first != second)
            var stale = Browser(app: app, cookies: ["soot_session": first])
            #expect(try stale.get("/").status == 303)
        }
    }

    @Test func sessionsLiveInTheDatabaseSoAnotherInstanceAcceptsThem() throws {
        try withApp { app in
            let (email, password) = try user(app)
            var browser = Browser(app: app)
            _ = try browser.logIn(email: email, password: password)
            let other = Application(configuration: app.application.configuration, store: Store(database: ConnectionPool(url: app.url)))
            let server = other.makeServer(Configuration(port: 0))
            try server.start()
            defer {
                server.shutdown(gracePeriod: 1)
                other.shutdown()
            }
            var elsewhere = Browser(app: AppFixture(pool: app.pool, url: app.url, server: server, application: other), cookies: browser.cookies)
            #expect(try elsewhere.get("/").status == 200)
        }
    }

    @Test func wrongPasswordsAreRefusedAndThenSlowedDown() throws {
        try withApp { app in
            let (email, password) = try user(app)
            var browser = Browser(app: app)
            for attempt in 1...5 {
                let answer = try browser.logIn(email: email, password: "wrong password \(attempt)")
                #expect(answer.status == 401)
                #expect(answer.text.contains("do not match"))
                #expect(browser.cookies["soot_session"] == nil)
            }
            let locked = try browser.logIn(email: email, password: password)
            #expect(locked.status == 429)
            #expect(Int(locked.header("Retry-After") ?? "") ?? 0 >= 1)
            // Unknown accounts get the same answer as wrong passwords.
            let unknown = try browser.logIn(email: "nobody@example.com", password: "whatever 12345")
            #expect(unknown.status == 401 || unknown.status == 429)
            #expect(try app.pool.query("SELECT count(*) AS n FROM login_failures WHERE locked_until > now()").first!.decode("n", as: Int.self) >= 1)
        }
    }

    @Test func formsNeedTheirCSRFToken() throws {
        try withApp { app in
            let (email, password) = try user(app)
            var browser = Browser(app: app)
            _ = try browser.get("/login")
            let forged = try browser.post("/login", form: [("csrf_token", "forged"), ("email", email), ("password", password)])
            #expect(forged.status == 403)
            #expect(browser.cookies["soot_session"] == nil)
            _ = try browser.logIn(email: email, password: password)
            let home = try browser.get("/")
            let token = try #require(Browser.csrf(in: home.text))
            #expect(try browser.post("/logout", form: [("csrf_token", "wrong")]).status == 403)
            #expect(try browser.get("/").status == 200)
            // The JSON API accepts the session only with the CSRF header on writes.
            let cookie = browser.cookieHeader
            #expect(try app.api("POST", "/api/v1/organizations", token: nil, json: ["name": "x"], headers: cookie).status == 403)
            #expect(try app.api("POST", "/api/v1/organizations", token: nil, json: ["name": "x"],
                                headers: cookie + [("X-CSRF-Token", token)]).status == 201)
            let logout = try browser.post("/logout", form: [("csrf_token", token)])
            #expect(logout.status == 303)
            #expect(browser.cookies["soot_session"] == nil)
            #expect(try app.pool.query("SELECT count(*) AS n FROM sessions").first!.decode("n", as: Int.self) == 0)
        }
    }

    /// Issue 15, item 11: a reset ended sessions but the personal tokens made with the old password kept working.
    @Test func aResetPasswordEndsSessionsAndPersonalTokens() throws {
        try withApp { app in
            let (email, password) = try user(app)
            var browser = Browser(app: app)
            _ = try browser.logIn(email: email, password: password)
            #expect(try browser.get("/").status == 200)
            let userID = try #require(try app.pool.withConnection { try Accounts.userID($0, email: email) })
            let token = try app.pool.transaction { connection in
                try Store.insertToken(connection, kind: .personal, name: "script", scope: "write", userID: userID,
                                      organizationID: nil, projectID: nil, createdBy: userID, expiresInDays: nil).1
            }
            #expect(try app.api("GET", "/api/v1/me", token: token).status == 200)
            let (generated, ended) = try app.pool.transaction { try Accounts.resetPassword($0, email: email, password: nil) }
            #expect(ended == Accounts.Ended(sessions: 1, personalTokens: 1))
            #expect(try browser.get("/").status == 303)
            #expect(try app.api("GET", "/api/v1/me", token: token).status == 401)
            var again = Browser(app: app)
            #expect(try again.logIn(email: email, password: try #require(generated)).status == 303)
        }
    }

    /// "Sign out everywhere" from the home page ends every session and revokes personal tokens, and says so.
    @Test func signingOutEverywhereEndsSessionsAndPersonalTokens() throws {
        try withApp { app in
            let (email, password) = try user(app)
            var laptop = Browser(app: app)
            var phone = Browser(app: app)
            _ = try laptop.logIn(email: email, password: password)
            _ = try phone.logIn(email: email, password: password)
            let userID = try #require(try app.pool.withConnection { try Accounts.userID($0, email: email) })
            let token = try app.pool.transaction { connection in
                try Store.insertToken(connection, kind: .personal, name: "script", scope: "write", userID: userID,
                                      organizationID: nil, projectID: nil, createdBy: userID, expiresInDays: nil).1
            }
            let home = try laptop.get("/")
            let csrf = try #require(Browser.csrf(in: home.text))
            #expect(home.text.contains("action=\"/logout/everywhere\""))
            // Without the form's CSRF token nothing happens.
            #expect(try laptop.post("/logout/everywhere", form: []).status == 403)
            #expect(try phone.get("/").status == 200)
            let done = try laptop.post("/logout/everywhere", form: [("csrf_token", csrf)])
            #expect(done.status == 200)
            #expect(done.text.contains("2 sessions ended and 1 personal access token revoked"))
            #expect(try phone.get("/").status == 303)
            #expect(try laptop.get("/").status == 303)
            #expect(try app.api("GET", "/api/v1/me", token: token).status == 401)
        }
    }
}
