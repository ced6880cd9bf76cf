import Foundation
import HTTPServer
import Postgres
@testable import SootStore
@testable import SootWeb
import TestSupport
import Testing

/// Creates a user with a personal token directly, for tests.
@Suite struct ManagementAPITests {
    @Test func theHierarchyCanBeCreatedReadUpdatedAndDeleted() throws {
        try withApp { app in
            let (_, token) = try makeUser(app.pool, email: "lead@example.com")
            let organization = try app.api("POST", "/api/v1/organizations", token: token, json: ["name": "Acme", "description": "Research"])
            #expect(organization.status == 201)
            #expect(organization.body["role"] == "owner")
            let organizationID = try #require(organization.body["id"]?.stringValue)

            let team = try app.api("POST", "/api/v1/organizations/\(organizationID)/teams", token: token, json: ["name": "Vision"])
            #expect(team.status == 201)
            let teamID = try #require(team.body["id"]?.stringValue)
            let project = try app.api("POST", "/api/v1/teams/\(teamID)/projects", token: token, json: ["name": "Detector"])
            #expect(project.status == 201)
            let projectID = try #require(project.body["id"]?.stringValue)
            let experiment = try app.api("POST", "/api/v1/projects/\(projectID)/experiments", token: token,
                                         json: ["name": "baseline", "country_iso_code": "FRA", "on_cloud": false])
            #expect(experiment.status == 201)
            #expect(experiment.body["country_iso_code"] == "FRA")
            let experimentID = try #require(experiment.body["id"]?.stringValue)

            #expect(try app.api("GET", "/api/v1/teams/\(teamID)/projects", token: token).body.items.count == 1)
            let renamed = try app.api("PATCH", "/api/v1/projects/\(projectID)", token: token, json: ["name": "Detector v2", "is_public": true])
            #expect(renamed.status == 200)
            #expect(renamed.body["name"] == "Detector v2")
            #expect(renamed.body["public_path"]?.stringValue?.hasPrefix("/p/") == true)
            let private_ = try app.api("PATCH", "/api/v1/projects/\(projectID)", token: token, json: ["is_public": false])
            #expect(private_.body["public_path"] == .null)

            // Duplicate sibling names conflict; the same name elsewhere is fine.
            let duplicate = try app.api("POST", "/api/v1/teams/\(teamID)/projects", token: token, json: ["name": "Detector v2"])
            #expect(duplicate.status == 409)
            #expect(duplicate.body["error"]?["field"] == "name")

            #expect(try app.api("DELETE", "/api/v1/experiments/\(experimentID)", token: token).status == 204)
            #expect(try app.api("GET", "/api/v1/experiments/\(experimentID)", token: token).status == 404)
            #expect(try app.api("DELETE", "/api/v1/projects/\(projectID)", token: token).status == 204)
            #expect(try app.api("DELETE", "/api/v1/teams/\(teamID)", token: token).status == 204)
            #expect(try app.api("DELETE", "/api/v1/organizations/\(organizationID)", token: token).status == 204)
            #expect(try app.pool.query("SELECT count(*) AS n FROM organizations").first!.decode("n", as: Int.self) == 0)
        }
    }

    @Test func namesThatDifferOnlyInCaseAreTheSameName() throws {
        try withApp { app in
            let (_, token) = try makeUser(app.pool, email: "lead@example.com")
            let organization = try app.api("POST", "/api/v1/organizations", token: token, json: ["name": "Acme"])
            let organizationID = try #require(organization.body["id"]?.stringValue)
            #expect(try app.api("POST", "/api/v1/organizations", token: token, json: ["name": "ACME"]).status == 409)
            let research = try app.api("POST", "/api/v1/organizations/\(organizationID)/teams", token: token, json: ["name": "Research"])
            #expect(research.status == 201)
            // Before, "research" became a second team with the slug research-2.
            let again = try app.api("POST", "/api/v1/organizations/\(organizationID)/teams", token: token, json: ["name": "research"])
            #expect(again.status == 409)
            #expect(again.body["error"]?["field"] == "name")
            let vision = try app.api("POST", "/api/v1/organizations/\(organizationID)/teams", token: token, json: ["name": "Vision"])
            let visionID = try #require(vision.body["id"]?.stringValue)
            #expect(try app.api("PATCH", "/api/v1/teams/\(visionID)", token: token, json: ["name": "RESEARCH"]).status == 409)
            let teamID = try #require(research.body["id"]?.stringValue)
            let project = try app.api("POST", "/api/v1/teams/\(teamID)/projects", token: token, json: ["name": "Detector"])
            let projectID = try #require(project.body["id"]?.stringValue)
            #expect(try app.api("POST", "/api/v1/projects/\(projectID)/experiments", token: token, json: ["name": "Baseline"]).status == 201)
            #expect(try app.api("POST", "/api/v1/projects/\(projectID)/experiments", token: token, json: ["name": "BASELINE"]).status == 409)
            // A run reported by names finds them whatever their case, and creates no second experiment.
            let report = try app.api("POST", "/api/v1/runs", token: token, json: [
                "organization": "acme", "team": "RESEARCH", "project": "detector", "experiment": "baseline",
                "started_at": .string(ISOTime.format(Date().addingTimeInterval(-60))), "totals": ["energy_kwh": 1, "emissions_kg": 0.1, "duration_seconds": 60],
            ])
            #expect(report.status == 201, "\(report.body)")
            #expect(try app.pool.query("SELECT name FROM experiments").rows.map { $0["name"] } == ["Baseline"])
            #expect(try app.pool.query("SELECT count(*) AS n FROM teams").first!.decode("n", as: Int.self) == 2)
        }
    }

    @Test func deletingARunRemovesItsSamplesAndKeepsDailyTotalsExact() throws {
        try withApp { app in
            let boot = try Bootstrap.run(app.pool, .init(organization: "O", team: "T", project: "P", experiment: "E", email: "o@example.com"))
            let token = try #require(boot["personal_token"]?.stringValue)
            let experimentID = try #require(boot["experiment_id"]?.stringValue)
            let runs = try app.pool.transaction { connection in
                try (0..<2).map { _ in
                    try connection.query("""
                        INSERT INTO runs (organization_id, team_id, project_id, experiment_id, started_at)
                        SELECT organization_id, team_id, project_id, id, now() FROM experiments WHERE id = \(UUID(uuidString: experimentID)!)
                        RETURNING id
                        """).first!.decode("id", as: UUID.self)
                }
            }
            try app.pool.query("SELECT soot_sample_partition('2026-11-01T12:00:00Z')")  // samples are partitioned by month (0011)
            for (index, run) in runs.enumerated() {
                try app.pool.query("""
                    INSERT INTO emission_samples (id, organization_id, run_id, "timestamp", duration_seconds, emissions_kg, energy_kwh)
                    SELECT gen_random_uuid(), organization_id, id, '2026-11-01T12:00:00Z', 10, \(0.1 * Double(index + 1)), \(0.3 * Double(index + 1)) FROM runs WHERE id = \(run)
                    """)
            }
            try app.pool.withConnection { try RollupMaintenance.recompute($0, experimentID: UUID(uuidString: experimentID)!, days: ["2026-11-01"]) }
            #expect(try app.api("DELETE", "/api/v1/runs/\(runs[0].uuidString)", token: token).status == 204)
            let day = try #require(try app.pool.query("SELECT sample_count, energy_kwh FROM experiment_days").first)
            #expect(try day.decode("sample_count", as: Int.self) == 1)
            #expect(try day.decode("energy_kwh", as: Double.self) == 0.6)
            #expect(try app.pool.query("SELECT count(*) AS n FROM emission_samples").first!.decode("n", as: Int.self) == 1)
        }
    }

    @Test func badInputGetsPreciseErrorsAndChangesNothing() throws {
        try withApp { app in
            let (_, token) = try makeUser(app.pool, email: "lead@example.com")
            // Not JSON at all.
            let form = try app.send("POST", "/api/v1/organizations", headers: [("Authorization", "Bearer \(token)"),
                                    ("Content-Type", "application/x-www-form-urlencoded")], body: Array("name=x".utf8))
            #expect(form.status == 415)
            let broken = try app.send("POST", "/api/v1/organizations", headers: [("Authorization", "Bearer \(token)"),
                                      ("Content-Type", "application/json")], body: Array("{\"name\":".utf8))
            #expect(broken.status == 400)
            #expect(JSONValue.parse(broken.body)?["error"]?["code"] == "bad_request")
            for (body, field) in [
                (["name": ""], "name"),
                (["name": 42], "name"),
                (["name": .string(String(repeating: "x", count: 10_240))], "name"),
                (["name": "ok", "description": .string(String(repeating: "y", count: 10_001))], "description"),
                (["name": "bell\u{07}"], "name"),
                ([:], "name"),
                ([1, 2], "body"),
            ] as [(JSONValue, String)] {
                let answer = try app.api("POST", "/api/v1/organizations", token: token, json: body)
                #expect(answer.status == 422, "\(body)")
                #expect(answer.body["error"]?["field"]?.stringValue == field, "\(body)")
            }
            #expect(try app.pool.query("SELECT count(*) AS n FROM organizations").first!.decode("n", as: Int.self) == 0)
            // Pagination parameters are validated too.
            #expect(try app.api("GET", "/api/v1/organizations?limit=0", token: token).body["error"]?["field"] == "limit")
            #expect(try app.api("GET", "/api/v1/organizations?offset=-1", token: token).status == 422)
            // Ids that are not UUIDs simply do not exist.
            #expect(try app.api("GET", "/api/v1/teams/not-a-uuid", token: token).status == 404)
        }
    }

    @Test func namesAreStoredExactlyAndPagesEscapeThem() throws {
        try withApp { app in
            let (_, token) = try makeUser(app.pool, email: "lead@example.com")
            let names = ["<script>alert('x')</script>", "Quote \" and ' and & amp", "Émoji 🌍🔥 team", "a"]
            var ids: [String] = []
            for name in names {
                let created = try app.api("POST", "/api/v1/organizations", token: token, json: ["name": .string(name)])
                #expect(created.status == 201)
                #expect(created.body["name"]?.stringValue == name)
                ids.append(created.body["id"]?.stringValue ?? "")
            }
            let list = try app.api("GET", "/api/v1/organizations?limit=2", token: token)
            #expect(list.body["pagination"]?["total"] == 4)
            #expect(list.body.items.count == 2)
            let second = try app.api("GET", "/api/v1/organizations?limit=2&offset=2", token: token)
            #expect(Set((list.body.items + second.body.items).compactMap { $0["name"]?.stringValue }) == Set(names))
            let stored = try app.pool.query("SELECT name FROM organizations ORDER BY name").rows.map { try $0.decode("name", as: String.self) }
            #expect(Set(stored) == Set(names))
        }
    }

    @Test func openAPIDocumentsExactlyTheRoutesThatExist() throws {
        try withApp { app in
            let response = try app.send("GET", "/api/v1/openapi.json")
            #expect(response.status == 200)
            let document = try #require(JSONValue.parse(response.body))
            #expect(document["openapi"] == "3.0.3")
            guard case .object(let paths)? = document["paths"] else { Issue.record("no paths"); return }
            var documented = Set<String>()
            for (path, item) in paths {
                guard case .object(let operations) = item else { continue }
                for method in operations.keys { documented.insert("\(method.uppercased()) \(path)") }
            }
            var routed = Set<String>()
            for route in app.application.router.allRoutes where route.pattern.hasPrefix("/api/v1/") && route.pattern != "/api/v1/openapi.json" {
                routed.insert("\(route.method.rawValue) \(APIRegistry.openAPIPath(route.pattern))")
            }
            #expect(documented == routed)
            #expect(routed.count >= 35)
            // Every $ref points at a schema that exists.
            let text = String(decoding: response.body, as: UTF8.self)
            guard case .object(let schemas)? = document["components"]?["schemas"] else { Issue.record("no schemas"); return }
            let references = text.components(separatedBy: "#/components/schemas/").dropFirst().map { $0.prefix { $0 != "\"" } }
            for reference in references { #expect(schemas[String(reference)] != nil, "missing schema \(reference)") }
        }
    }

    @Test func tokensAreShownOnceAndRevocable() throws {
        try withApp { app in
            let (_, token) = try makeUser(app.pool, email: "lead@example.com")
            let created = try app.api("POST", "/api/v1/tokens", token: token, json: ["name": "ci", "scope": "read"])
            #expect(created.status == 201)
            let secret = try #require(created.body["token"]?.stringValue)
            #expect(secret.hasPrefix("soot_pat_"))
            let list = try app.api("GET", "/api/v1/tokens", token: token)
            #expect(!String(decoding: list.body.bytes, as: UTF8.self).contains(secret))
            let stored = try app.pool.query("SELECT secret_hash FROM api_tokens WHERE prefix = \(TokenFormat.prefix(of: secret))").first!
            #expect(try stored.decode("secret_hash", as: String.self) == Crypto.sha256Hex(secret))
            // Read scope reads but cannot write.
            #expect(try app.api("GET", "/api/v1/me", token: secret).status == 200)
            #expect(try app.api("POST", "/api/v1/organizations", token: secret, json: ["name": "x"]).status == 403)
            // Revoked tokens stop working at once; last use was recorded.
            #expect(try app.pool.query("SELECT last_used_at IS NOT NULL AS used FROM api_tokens WHERE prefix = \(TokenFormat.prefix(of: secret))").first!.decode("used", as: Bool.self))
            #expect(try app.api("DELETE", "/api/v1/tokens/\(created.body["id"]!.stringValue!)", token: token).status == 204)
            #expect(try app.api("GET", "/api/v1/me", token: secret).status == 401)
            // A token with one character changed is refused.
            var tampered = Array(token)
            tampered[tampered.count - 1] = tampered.last == "A" ? "B" : "A"
            #expect(try app.api("GET", "/api/v1/me", token: String(tampered)).status == 401)
            #expect(try app.api("GET", "/api/v1/me", token: nil).status == 401)
        }
    }

    @Test func bootstrapIsRepeatableAndIssuesWorkingTokens() throws {
        try withApp { app in
            let input = Bootstrap.Input(organization: "Acme", team: "ML", project: "Vision", experiment: "Default", email: "ml@acme.test")
            let first = try Bootstrap.run(app.pool, input)
            let second = try Bootstrap.run(app.pool, input)
            #expect(first["password"]?.stringValue?.isEmpty == false)
            #expect(second["password"] == .null)
            for key in ["user_id", "organization_id", "team_id", "project_id", "experiment_id"] {
                #expect(first[key] == second[key], "\(key)")
            }
            #expect(first["project_token"] != second["project_token"])
            let personal = try #require(second["personal_token"]?.stringValue)
            let project = try #require(second["project_token"]?.stringValue)
            let projectID = try #require(second["project_id"]?.stringValue)
            #expect(try app.api("GET", "/api/v1/projects/\(projectID)", token: personal).status == 200)
            #expect(try app.api("GET", "/api/v1/projects/\(projectID)/experiments", token: nil, headers: [("x-api-token", project)]).status == 200)
            // Concurrent bootstraps of the same names create one of each.
            DispatchQueue.concurrentPerform(iterations: 4) { _ in
                _ = try? Bootstrap.run(app.pool, .init(organization: "Beta", team: "T", project: "P", experiment: "E", email: "b@beta.test"))
            }
            #expect(try app.pool.query("SELECT count(*) AS n FROM organizations WHERE name = 'Beta'").first!.decode("n", as: Int.self) == 1)
            #expect(try app.pool.query("SELECT count(*) AS n FROM api_tokens t JOIN projects p ON p.id = t.project_id WHERE p.name = 'P'").first!.decode("n", as: Int.self) == 4)
        }
    }
}

@Suite struct HealthTests {
    @Test func readinessFollowsTheDatabase() throws {
        try withApp { app in
            #expect(try app.send("GET", "/healthz").status == 200)
            let ready = try app.send("GET", "/readyz")
            #expect(ready.status == 200)
            #expect(ready.text.contains("\"database\":\"ok\""))
        }
        TestLogging.quiet
        let unreachable = ConnectionPool(url: "host=/nonexistent-soot dbname=x user=soot", configuration: .init(acquireTimeout: 0.2))
        let application = Application(configuration: AppConfiguration(), store: Store(database: unreachable))
        let server = application.makeServer(Configuration(port: 0))
        try server.start()
        defer {
            server.shutdown(gracePeriod: 1)
            application.shutdown()
        }
        let connection = try RawConnection(port: server.port)
        try connection.send("GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n")
        let response = try connection.readResponse()
        #expect(response.status == 503)
        #expect(response.header("Retry-After") == "1")
        try connection.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(try connection.readResponse().status == 200)
    }
}

@Suite struct MethodologyTests {
    @Test func everyConstantIsShownWithItsSource() throws {
        try withApp { app in
            let page = try app.send("GET", "/methodology")
            #expect(page.status == 200)
            #expect(page.header("Content-Type") == "text/html; charset=utf-8")
            let html = page.text
            let equivalents = try app.pool.query("SELECT label, kg_co2e_per_unit, source, year FROM equivalents").rows
            #expect(equivalents.count == 7)
            for row in equivalents {
                let label: String = try row.decode("label")
                #expect(html.contains(label.replacingOccurrences(of: "'", with: "&#39;")), "\(label)")
                #expect(html.contains(try row.decode("source", as: String.self)))
            }
            #expect(html.contains("0.393 kg CO2e per mile"))
            #expect(html.contains("22.88 kg CO2e per day"))
            #expect(html.contains("60.0 kg CO2e per seedling") || html.contains("60 kg CO2e per seedling"))
            #expect(html.contains("CodeCarbon publishes no primary source"))
            let countries = try app.pool.query("SELECT count(*) AS n FROM grid_intensities WHERE kind = 'country'").first!.decode("n", as: Int.self)
            #expect(countries == 213)
            #expect(html.contains("<td class=\"num\">213</td>"))
        }
    }
}
