import Foundation
import HTTPServer
import Postgres
@testable import SootStore
@testable import SootWeb
import TestSupport
import Testing

/// The account page, against the real server: a given password is changed at the first sign-in, personal tokens
/// are made and revoked on a page, and an organization is created from the home page.
@Suite struct AccountPagesTests {
    @Test func aGivenPasswordMustBeChangedAtTheFirstSignIn() throws {
        try withApp { app in
            let generated = try app.pool.transaction { connection in
                try Accounts.createUser(connection, email: "new@acme.test", name: "", password: nil).generatedPassword
            }
            let password = try #require(generated)
            var browser = Browser(app: app)
            #expect(try browser.logIn(email: "new@acme.test", password: password).status == 303)
            // Before, the one-time password went on working for ever; now every page sends them to choose one.
            let home = try browser.get("/")
            #expect(home.status == 303 && home.header("Location") == "/account#password")
            #expect(try browser.get("/o/anything").header("Location") == "/account#password")
            let account = try browser.get("/account")
            #expect(account.status == 200 && account.text.contains("Choose your own password"))
            let csrf = try #require(Browser.csrf(in: account.text))
            var other = Browser(app: app)
            #expect(try other.logIn(email: "new@acme.test", password: password).status == 303)

            // Refusals come back under their field; passwords are never echoed.
            let wrong = try browser.post("/account/password", form: [("csrf_token", csrf), ("current_password", "not it at all"),
                                                                     ("new_password", "my own password"), ("new_password_again", "my own password")])
            #expect(wrong.status == 303 && wrong.header("Location") == "/account#current_password")
            let shown = try browser.get("/account").text
            #expect(shown.contains("id=\"current_password-error\">That is not your current password.") && !shown.contains("not it at all"))
            _ = try browser.post("/account/password", form: [("csrf_token", csrf), ("current_password", password),
                                                           ("new_password", "my own password"), ("new_password_again", "my own passwerd")])
            #expect(try browser.get("/account").text.contains("The two new passwords differ."))

            let changed = try browser.post("/account/password", form: [("csrf_token", csrf), ("current_password", password),
                                                                       ("new_password", "my own password"), ("new_password_again", "my own password")])
            #expect(changed.status == 303 && changed.header("Location") == "/")
            let welcome = try browser.get("/")
            #expect(welcome.status == 200 && welcome.text.contains("Password changed. Your 1 other session was signed out."))
            #expect(try other.get("/").header("Location")?.hasPrefix("/login") == true)
            var again = Browser(app: app)
            #expect(try again.logIn(email: "new@acme.test", password: password).status != 303 || (try again.get("/")).status != 200)
            #expect(try again.logIn(email: "new@acme.test", password: "my own password").status == 303)
            #expect(try again.get("/").status == 200)
        }
    }

    @Test func personalTokensAndOrganizationsFromPages() throws {
        try withApp { app in
            _ = try makeUser(app.pool, email: "lead@acme.test")
            var browser = Browser(app: app)
            #expect(try browser.logIn(email: "lead@acme.test", password: "a long password 123").status == 303)
            let home = try browser.get("/")
            let csrf = try #require(Browser.csrf(in: home.text))
            #expect(home.text.contains("New organization") && home.text.contains("href=\"/account\""))

            // An organization, created on a page (it took the REST API or the command line before).
            let created = try browser.post("/organizations", form: [("csrf_token", csrf), ("name", "Acme Research")])
            #expect(created.status == 303 && created.header("Location") == "/o/acme-research")
            let page = try browser.get("/o/acme-research")
            #expect(page.status == 200 && page.text.contains("Organization Acme Research created: you are its owner."))
            // With no run yet, the organization's page and the home page show the next step, with the snippet.
            #expect(page.text.contains("Send your first run") && page.text.contains("export CODECARBON_API_ENDPOINT=http://soot.test"))
            #expect(home.text.contains("Send your first run"))
            let duplicate = try browser.post("/organizations", form: [("csrf_token", csrf), ("name", "ACME research")])
            #expect(duplicate.header("Location") == "/#new-organization")
            #expect(try browser.get("/").text.contains("There is already one named “ACME research” here"))

            // A personal token made on the account page works on the API, shown once, and stops when revoked.
            let made = try browser.post("/account/tokens", form: [("csrf_token", csrf), ("name", "reporting"), ("scope", "read"),
                                                                  ("expires_in_days", "30")])
            #expect(made.status == 201)
            let token = try #require(made.text.components(separatedBy: "<pre class=\"card copy\" id=\"token\">").dropFirst().first?
                .components(separatedBy: "</pre>").first)
            #expect(token.hasPrefix("soot_pat_"))
            #expect(try app.api("GET", "/api/v1/organizations", token: token).status == 200)
            let account = try browser.get("/account").text
            #expect(account.contains("<td>reporting</td>") && !account.contains(token))
            let tokenID = try app.pool.query("SELECT id FROM api_tokens WHERE name = 'reporting'").first!.decode("id", as: UUID.self)
            #expect(try browser.post("/account/tokens/\(tokenID.lowercaseText)/revoke", form: [("csrf_token", csrf)]).status == 303)
            #expect(try app.api("GET", "/api/v1/organizations", token: token).status == 401)
            #expect(try browser.post("/account/tokens", form: [("csrf_token", csrf), ("name", "x"), ("expires_in_days", "0")]).header("Location")
                    == "/account#personal-token-name")
            // A number too long for an Int is refused too (it made a token that never expires).
            for days in ["99999999999999999999", "12x", "-5"] {
                let refused = try browser.post("/account/tokens", form: [("csrf_token", csrf), ("name", "long \(days)"), ("expires_in_days", days)])
                #expect(refused.status == 303 && refused.header("Location") == "/account#personal-token-name", "\(days)")
            }
            #expect(try app.pool.query("SELECT count(*) AS n FROM api_tokens WHERE name LIKE 'long %'").first!.decode("n", as: Int.self) == 0)
        }
    }
}
