import Foundation
import Postgres
@testable import SootApp
import TestSupport
import Testing

/// What an attacker or a fault tried against Soot (issue 15), each kept as the test that failed before its fix.
@Suite struct HardeningTests {
    struct Setup {
        var organization = "", team = "", project = "", experiment = "", run = ""
        var owner = "", projectToken = "", readOnlyProjectToken = ""
    }

    static func setUp(_ app: AppFixture, name: String = "Hardening") throws -> Setup {
        var setup = Setup()
        let made = try Bootstrap.run(app.pool, .init(organization: "\(name) Org", team: "\(name) Team", project: "\(name) Project",
                                                     experiment: "\(name) Experiment", email: "owner@\(name.lowercased()).test"))
        setup.organization = made["organization_id"]!.stringValue!
        setup.team = made["team_id"]!.stringValue!
        setup.project = made["project_id"]!.stringValue!
        setup.experiment = made["experiment_id"]!.stringValue!
        setup.owner = made["personal_token"]!.stringValue!
        setup.projectToken = made["project_token"]!.stringValue!
        setup.readOnlyProjectToken = try app.api("POST", "/api/v1/projects/\(setup.project)/tokens", token: setup.owner,
                                                 json: ["name": "ro", "scope": "read"]).body["token"]!.stringValue!
        let run = try app.api("POST", "/runs", token: nil, json: [
            "timestamp": "2026-11-01T10:00:00+00:00", "experiment_id": .string(setup.experiment),
        ], headers: [("x-api-token", setup.projectToken)])
        #expect(run.status == 201)
        setup.run = run.body["id"]?.stringValue ?? ""
        return setup
    }

    /// Item 1: `page=Int64.max` overflowed `(page - 1) * size` and trapped the process. Every number from the query
    /// is parsed into its documented range; outside it is a 422 naming the parameter, and the server keeps serving.
    @Test func numbersFromTheQueryAreRangeCheckedNeverTrap() throws {
        try withApp { app in
            let setup = try HardeningTests.setUp(app)
            let token = setup.readOnlyProjectToken
            for prefix in ["", "/api"] {
                for (query, field) in [("page=9223372036854775807", "page"), ("page=99999999999999999999999", "page"),
                                       ("page=0", "page"), ("page=-1", "page"), ("page=1e3", "page"), ("size=0", "size"),
                                       ("size=10001", "size"), ("size=abc", "size"), ("page=%2B1", "page")] {
                    let answer = try app.api("GET", "\(prefix)/runs/\(setup.run)/emissions?\(query)", token: token)
                    #expect(answer.status == 422, "\(query)")
                    #expect(answer.body["detail"]?.arrayValue.first?["loc"]?.arrayValue.last?.stringValue == field, "\(query)")
                }
                let fine = try app.api("GET", "\(prefix)/runs/\(setup.run)/emissions?page=100000&size=10000", token: token)
                #expect(fine.status == 200)
                #expect(fine.body["items"] == .array([]))
            }
            for (query, field) in [("limit=99999999999999999999", "limit"), ("offset=10000001", "offset"), ("offset=-5", "offset"),
                                   ("limit=0", "limit")] {
                let answer = try app.api("GET", "/api/v1/projects/\(setup.project)/experiments?\(query)", token: setup.owner)
                #expect(answer.status == 422, "\(query)")
                #expect(answer.body["error"]?["field"]?.stringValue == field, "\(query)")
            }
            // Still up.
            #expect(try app.api("GET", "/api/runs/\(setup.run)/emissions", token: token).status == 200)
        }
    }

    /// Item 14: `/login?next=/%09/evil.example` sent the browser off-site (it drops the tab: `//evil.example`).
    @Test func loginRedirectsStayOnThisOrigin() throws {
        for evil in ["/\t/evil.example", "/\n/evil.example", "/\r//evil.example", "/\\evil.example", "/\u{0}/evil.example",
                     " //evil.example", "/ /evil.example", "//evil.example", "https://evil.example", "/x\\..\\\\evil"] {
            #expect(LoginRoutes.safeNext(evil) == "/", "\(evil.debugDescription)")
        }
        for fine in ["/", "/o/acme?range=7d", "/o/acme/team%20a", "/%2F/x"] {
            #expect(LoginRoutes.safeNext(fine) == fine)
        }
        try withApp { app in
            let made = try Bootstrap.run(app.pool, .init(organization: "O", team: "T", project: "P", experiment: "E", email: "next@test.test"))
            _ = made
            let password = "a long password 123"
            try app.pool.query("UPDATE users SET password_hash = \(PasswordHasher.hash(password, iterations: 1000)) WHERE email = 'next@test.test'")
            let form = try app.send("GET", "/login?next=/%09/evil.example")
            let cookie = try #require(form.header("Set-Cookie")?.split(separator: ";").first.map(String.init))
            let csrf = String(cookie.split(separator: "=")[1])
            let body = "csrf_token=\(csrf)&email=next%40test.test&password=a+long+password+123&next=%2F%09%2Fevil.example"
            let login = try app.send("POST", "/login", headers: [("Cookie", cookie), ("Content-Type", "application/x-www-form-urlencoded")],
                                     body: Array(body.utf8))
            #expect(login.status == 303 || login.status == 302)
            #expect(login.header("Location") == "/")
        }
    }

    /// Item 16: `/%69ngest/{token}` routes like `/ingest/{token}` and was logged with the token in clear.
    @Test func ingestTokensAreRedactedWhateverTheSpelling() {
        let token = "soot_prj_abcdefghijklmnopqrstuvwxyz0123456789"
        for path in ["/ingest/\(token)", "/%69ngest/\(token)", "/%69%6E%67%65%73%74/\(token)", "//ingest//\(token)",
                     "/api/ingest/\(token)/more", "/INGEST/\(token)", "/ingest/\(token)%zz"] {
            let logged = Redaction.path(path)
            #expect(!logged.contains("abcdefghijklmnop"), "\(path) -> \(logged)")
            #expect(logged.contains("[redacted]"), "\(path)")
        }
        #expect(Redaction.path("/o/acme/runs") == "/o/acme/runs")
        #expect(Redaction.path("/o/caf%C3%A9") == "/o/caf%C3%A9")
    }

    /// Item 18: a write-scope project token renamed experiments; the README says it creates experiments and posts runs.
    @Test func aProjectTokenCannotChangeWhatExists() throws {
        try withApp { app in
            let setup = try HardeningTests.setUp(app)
            let rename = try app.api("PATCH", "/api/v1/experiments/\(setup.experiment)", token: setup.projectToken, json: ["name": "Renamed"])
            #expect(rename.status == 403)
            let name = try app.pool.query("SELECT name FROM experiments WHERE id = \(UUID(uuidString: setup.experiment)!)").first!.decode("name", as: String.self)
            #expect(name == "Hardening Experiment")
            // What it may do still works.
            let created = try app.api("POST", "/api/v1/projects/\(setup.project)/experiments", token: setup.projectToken, json: ["name": "New"])
            #expect(created.status == 201)
            #expect(try app.api("PATCH", "/api/v1/experiments/\(setup.experiment)", token: setup.owner, json: ["name": "Renamed"]).status == 200)
        }
    }

    /// Item 19: U+202E and the other bidi controls made a name display as something else in pages and CSV.
    @Test func bidirectionalControlsAreRefusedInNames() throws {
        try withApp { app in
            let setup = try HardeningTests.setUp(app)
            for control in ["\u{202A}", "\u{202B}", "\u{202C}", "\u{202D}", "\u{202E}", "\u{2066}", "\u{2067}", "\u{2068}", "\u{2069}"] {
                let answer = try app.api("POST", "/api/v1/teams/\(setup.team)/projects", token: setup.owner,
                                         json: ["name": .string("Budget\(control)txt.exe")])
                #expect(answer.status == 422)
                #expect(answer.body["error"]?["field"] == "name")
                let description = try app.api("PATCH", "/api/v1/projects/\(setup.project)", token: setup.owner,
                                              json: ["description": .string("a\(control)b")])
                #expect(description.status == 422)
            }
            // Right-to-left text itself is welcome.
            #expect(try app.api("POST", "/api/v1/teams/\(setup.team)/projects", token: setup.owner, json: ["name": "مشروع"]).status == 201)
            let count = try app.pool.query("SELECT count(*) AS n FROM projects WHERE name LIKE 'Budget%'").first!.decode("n", as: Int.self)
            #expect(count == 0)
        }
    }
}
