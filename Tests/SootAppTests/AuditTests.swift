import Foundation
import HTTPServer
import Postgres
@testable import SootStore
@testable import SootWeb
import TestSupport
import Testing

/// The audit trail (issue 18): every management action leaves exactly one entry, written in the same transaction as
/// the change, and an action that fails leaves none.
@Suite struct AuditTests {
    struct Entry {
        let action: String
        let actorKind: String
        let actorName: String
        let organizationID: String?
        let objectKind: String
        let objectName: String
        let address: String?
        let requestID: String?
        let old: String?
        let new: String?
    }

    func count(_ app: AppFixture) throws -> Int {
        try app.pool.query("SELECT count(*) AS n FROM audit_events").first!.decode("n")
    }

    func newest(_ app: AppFixture) throws -> Entry {
        let row = try #require(try app.pool.query("""
            SELECT action, actor_kind, actor_name, organization_id::text AS organization_id, object_kind, object_name, address, request_id,
                   old_value::text AS old, new_value::text AS new
            FROM audit_events ORDER BY id DESC LIMIT 1
            """).first)
        return Entry(action: try row.decode("action"), actorKind: try row.decode("actor_kind"), actorName: try row.decode("actor_name"),
                     organizationID: row["organization_id"], objectKind: try row.decode("object_kind"), objectName: try row.decode("object_name"),
                     address: row["address"], requestID: row["request_id"], old: row["old"], new: row["new"])
    }

    /// Runs `action` and checks that it left exactly one entry, named `expected`; returns it.
    @discardableResult
    func one(_ app: AppFixture, _ expected: String, sourceLocation: SourceLocation = #_sourceLocation,
                    _ action: () throws -> Void) throws -> Entry {
        let before = try count(app)
        try action()
        let added = try count(app) - before
        #expect(added == 1, "\(expected): \(added) entries", sourceLocation: sourceLocation)
        let entry = try newest(app)
        #expect(entry.action == expected, sourceLocation: sourceLocation)
        return entry
    }

    /// Runs `action`, which fails, and checks that it left no entry.
    func noEntry(_ app: AppFixture, sourceLocation: SourceLocation = #_sourceLocation, _ action: () throws -> Void) throws {
        let before = try count(app)
        try action()
        #expect(try count(app) == before, "a failed action left an entry", sourceLocation: sourceLocation)
    }

    @Test func everyManagementActionLeavesExactlyOneEntryAndAFailedOneNone() throws {
        try withApp { app in
            let (ownerID, owner) = try makeUser(app.pool, email: "owner@acme.test")
            let (memberID, member) = try makeUser(app.pool, email: "member@acme.test")
            let (_, stranger) = try makeUser(app.pool, email: "stranger@elsewhere.test")
            var organizationID = ""
            let created = try one(app, "organization.create") { () throws -> Void in
                let response = try app.api("POST", "/api/v1/organizations", token: owner, json: ["name": "Acme"])
                organizationID = try #require(response.body["id"]?.stringValue)
            }
            #expect(created.actorKind == "personal_token" && created.actorName.hasPrefix("test ("))
            #expect(created.organizationID == organizationID && created.objectName == "Acme")
            #expect(created.address == "127.0.0.1")
            // The entry names the request: its id is the one the answer carried.
            let rename = try app.send("PATCH", "/api/v1/organizations/\(organizationID)",
                                      headers: [("Authorization", "Bearer \(owner)"), ("Content-Type", "application/json")],
                                      body: Array(#"{"name":"Acme Research"}"#.utf8))
            #expect(rename.status == 200)
            let renamed = try newest(app)
            #expect(renamed.action == "organization.update" && renamed.requestID == rename.header("X-Request-Id"))
            #expect(renamed.old == #"{"name": "Acme"}"# && renamed.new == #"{"name": "Acme Research"}"#)
            // Changing nothing is no action.
            try noEntry(app) { () throws -> Void in #expect(try app.api("PATCH", "/api/v1/organizations/\(organizationID)", token: owner, json: ["name": "Acme Research"]).status == 200) }

            var teamID = ""
            try one(app, "team.create") { () throws -> Void in
                teamID = try #require(try app.api("POST", "/api/v1/organizations/\(organizationID)/teams", token: owner, json: ["name": "Vision"]).body["id"]?.stringValue)
            }
            try noEntry(app) { () throws -> Void in #expect(try app.api("POST", "/api/v1/organizations/\(organizationID)/teams", token: owner, json: ["name": "vision"]).status == 409) }
            try one(app, "team.update") { () throws -> Void in #expect(try app.api("PATCH", "/api/v1/teams/\(teamID)", token: owner, json: ["description": "Eyes"]).status == 200) }

            // Invitations, joining, roles, teams.
            var secret = ""
            let invitation = try one(app, "invitation.create") { () throws -> Void in
                let pending = try app.api("POST", "/api/v1/organizations/\(organizationID)/invitations", token: owner, json: ["email": "member@acme.test"])
                secret = try #require(pending.body["link"]?.stringValue?.split(separator: "/").last.map(String.init))
            }
            #expect(invitation.objectName == "member@acme.test")
            try noEntry(app) { () throws -> Void in #expect(try app.api("POST", "/api/v1/invitations/accept", token: stranger, json: ["secret": .string(secret)]).status == 403) }
            let accepted = try one(app, "invitation.accept") { () throws -> Void in
                #expect(try app.api("POST", "/api/v1/invitations/accept", token: member, json: ["secret": .string(secret)]).status == 200)
            }
            #expect(accepted.actorName == "test (" + String(member.prefix(20)) + "…)" || accepted.actorKind == "personal_token")
            try one(app, "member.role") { () throws -> Void in
                #expect(try app.api("PATCH", "/api/v1/organizations/\(organizationID)/members/\(memberID)", token: owner, json: ["role": "admin"]).status == 200)
            }
            try noEntry(app) { () throws -> Void in
                #expect(try app.api("PATCH", "/api/v1/organizations/\(organizationID)/members/\(ownerID)", token: owner, json: ["role": "member"]).status == 409)
            }
            let added = try one(app, "team_member.add") { () throws -> Void in
                #expect(try app.api("POST", "/api/v1/teams/\(teamID)/members", token: owner, json: ["email": "member@acme.test"]).status == 201)
            }
            #expect(added.new?.contains("Vision") == true)
            try one(app, "team_member.remove") { () throws -> Void in #expect(try app.api("DELETE", "/api/v1/teams/\(teamID)/members/\(memberID)", token: owner).status == 204) }
            let withdrawn = try app.api("POST", "/api/v1/organizations/\(organizationID)/invitations", token: owner, json: ["email": "later@acme.test"])
            let withdrawnID = try #require(withdrawn.body["id"]?.stringValue)
            try one(app, "invitation.revoke") { () throws -> Void in
                #expect(try app.api("DELETE", "/api/v1/organizations/\(organizationID)/invitations/\(withdrawnID)", token: owner).status == 204)
            }

            // Projects, sharing, experiments, tokens, runs, imports.
            var projectID = ""
            try one(app, "project.create") { () throws -> Void in
                projectID = try #require(try app.api("POST", "/api/v1/teams/\(teamID)/projects", token: owner, json: ["name": "Detector"]).body["id"]?.stringValue)
            }
            try one(app, "project.update") { () throws -> Void in #expect(try app.api("PATCH", "/api/v1/projects/\(projectID)", token: owner, json: ["name": "Detector 2"]).status == 200) }
            let shared = try one(app, "public_link.on") { () throws -> Void in
                #expect(try app.api("PATCH", "/api/v1/projects/\(projectID)", token: owner, json: ["is_public": true]).status == 200)
            }
            #expect(shared.old == #"{"public": "false"}"# && shared.new == #"{"public": "true"}"#)
            try one(app, "public_link.off") { () throws -> Void in #expect(try app.api("PATCH", "/api/v1/projects/\(projectID)", token: owner, json: ["is_public": false]).status == 200) }
            var experimentID = ""
            try one(app, "experiment.create") { () throws -> Void in
                experimentID = try #require(try app.api("POST", "/api/v1/projects/\(projectID)/experiments", token: owner, json: ["name": "baseline"]).body["id"]?.stringValue)
            }
            try one(app, "experiment.update") { () throws -> Void in #expect(try app.api("PATCH", "/api/v1/experiments/\(experimentID)", token: owner, json: ["region": "paris"]).status == 200) }
            var projectToken = "", projectTokenID = ""
            let tokenEntry = try one(app, "token.create") { () throws -> Void in
                let made = try app.api("POST", "/api/v1/projects/\(projectID)/tokens", token: owner, json: ["name": "ci"])
                projectToken = try #require(made.body["token"]?.stringValue)
                projectTokenID = try #require(made.body["id"]?.stringValue)
            }
            #expect(tokenEntry.objectKind == "project_token" && !tokenEntry.objectName.contains(projectToken) && tokenEntry.objectName.hasPrefix("ci ("))
            var runID = ""
            let run = try one(app, "run.create") { () throws -> Void in
                let response = try app.api("POST", "/runs", token: nil, json: runCreate(experimentID), headers: [("x-api-token", projectToken)])
                #expect(response.status == 201, "\(response.body)")
                runID = try #require(response.body["id"]?.stringValue)
            }
            #expect(run.actorKind == "project_token" && run.actorName.hasPrefix("ci ("))
            // Samples are not management actions.
            try noEntry(app) { () throws -> Void in
                #expect(try app.api("POST", "/emissions", token: nil, json: emission(runID, energy: 0.01, emissions: 0.002),
                                    headers: [("x-api-token", projectToken)]).status == 201)
            }
            try one(app, "run.delete") { () throws -> Void in #expect(try app.api("DELETE", "/api/v1/runs/\(runID)", token: owner).status == 204) }
            let csv = "timestamp,project_name,run_id,experiment_id,duration,emissions,emissions_rate,cpu_power,gpu_power,ram_power,cpu_energy,gpu_energy,ram_energy,energy_consumed\n"
            let good = csv + "2026-11-30T10:00:00,p,run-a,,60,0.001,0.00001,10,0,2,0.0002,0,0.00005,0.00025\n"
            let imported = try one(app, "samples.import") { () throws -> Void in
                let response = try app.send("POST", "/api/v1/projects/\(projectID)/import",
                                            headers: [("Authorization", "Bearer \(owner)"), ("Content-Type", "text/csv")], body: Array(good.utf8))
                #expect(response.status == 200 || response.status == 201, "\(response.text)")
            }
            #expect(imported.new?.contains(#""samples_imported": "1""#) == true)
            // An import with a bad row is rolled back, entry and all.
            try noEntry(app) { () throws -> Void in
                let response = try app.send("POST", "/api/v1/projects/\(projectID)/import", headers: [("Authorization", "Bearer \(owner)"), ("Content-Type", "text/csv")],
                                            body: Array((good + "2026-11-30T11:00:00,p,run-a,,abc,0.001,0,0,0,0,0,0,0,0\n").utf8))
                #expect(response.status == 422, "\(response.text)")
            }
            try one(app, "token.revoke") { () throws -> Void in #expect(try app.api("DELETE", "/api/v1/projects/\(projectID)/tokens/\(projectTokenID)", token: owner).status == 204) }
            try noEntry(app) { () throws -> Void in #expect(try app.api("DELETE", "/api/v1/projects/\(projectID)/tokens/\(projectTokenID)", token: owner).status == 204) }
            var personalID = ""
            let personal = try one(app, "token.create") { () throws -> Void in
                personalID = try #require(try app.api("POST", "/api/v1/tokens", token: owner, json: ["name": "laptop"]).body["id"]?.stringValue)
            }
            #expect(personal.organizationID == nil && personal.objectKind == "personal_token")
            try one(app, "token.revoke") { () throws -> Void in #expect(try app.api("DELETE", "/api/v1/tokens/\(personalID)", token: owner).status == 204) }

            // A member may not rename the organization: a refusal leaves nothing.
            try noEntry(app) { () throws -> Void in #expect(try app.api("DELETE", "/api/v1/organizations/\(organizationID)", token: member).status == 403) }
            try one(app, "member.remove") { () throws -> Void in
                #expect(try app.api("DELETE", "/api/v1/organizations/\(organizationID)/members/\(memberID)", token: owner).status == 204)
            }
            try one(app, "experiment.delete") { () throws -> Void in #expect(try app.api("DELETE", "/api/v1/experiments/\(experimentID)", token: owner).status == 204) }
            try one(app, "project.delete") { () throws -> Void in #expect(try app.api("DELETE", "/api/v1/projects/\(projectID)", token: owner).status == 204) }
            try one(app, "team.delete") { () throws -> Void in #expect(try app.api("DELETE", "/api/v1/teams/\(teamID)", token: owner).status == 204) }
            let deleted = try one(app, "organization.delete") { () throws -> Void in #expect(try app.api("DELETE", "/api/v1/organizations/\(organizationID)", token: owner).status == 204) }
            // The organization's entries outlive it, for the operator.
            #expect(deleted.organizationID == organizationID)
            #expect(try app.pool.query("SELECT count(*) AS n FROM audit_events WHERE organization_id = \(UUID(uuidString: organizationID)!)").first!.decode("n", as: Int.self) > 20)
        }
    }

    @Test func signInsPasswordsAndSigningOutAreRecordedForTheAccount() throws {
        try withApp { app in
            let (userID, _) = try makeUser(app.pool, email: "ada@acme.test")
            var browser = Browser(app: app)
            let failed = try one(app, "sign_in.failed") { () throws -> Void in
                #expect(try browser.logIn(email: "ada@acme.test", password: "not the password").status == 401)
            }
            #expect(failed.actorKind == "anonymous" && failed.objectName == "ada@acme.test" && failed.address == "127.0.0.1")
            try one(app, "sign_in") { () throws -> Void in #expect(try browser.logIn(email: "ada@acme.test", password: "a long password 123").status == 303) }
            let account = try browser.get("/account")
            let csrf = try #require(Browser.csrf(in: account.text))
            try noEntry(app) { () throws -> Void in
                _ = try browser.post("/account/password", form: [("csrf_token", csrf), ("current_password", "wrong one!!"),
                                                                ("new_password", "a new long password"), ("new_password_again", "a new long password")])
            }
            try one(app, "password.change") { () throws -> Void in
                #expect(try browser.post("/account/password", form: [("csrf_token", csrf), ("current_password", "a long password 123"),
                                                                      ("new_password", "a new long password"), ("new_password_again", "a new long password")]).status == 303)
            }
            // The account page lists them for the person.
            let page = try browser.get("/account").text
            #expect(page.contains("Recent activity on your account") && page.contains("Failed sign-in") && page.contains("Password changed"))
            try one(app, "sign_out.everywhere") { () throws -> Void in #expect(try browser.post("/logout/everywhere", form: [("csrf_token", csrf)]).status == 200) }
            let reset = try one(app, "password.reset") { () throws -> Void in
                _ = try app.pool.transaction { try Accounts.resetPassword($0, email: "ada@acme.test", password: nil) }
            }
            #expect(reset.actorKind == "operator" && reset.new?.contains(#""generated": "true""#) == true)
            #expect(try app.pool.query("SELECT count(*) AS n FROM audit_events WHERE object_id = \(userID)").first!.decode("n", as: Int.self) == 5)
        }
    }

    @Test func ownersAndAdminsReadTheTrailOnAPageAndExportItMembersDoNot() throws {
        try withApp { app in
            let agent = try Agent(app)
            let (_, member) = try makeUser(app.pool, email: "member@acme.test")
            try invite(app, organization: agent.organizationID, by: agent.personalToken, email: "member@acme.test", acceptedWith: member)
            let teamID = try #require(try app.api("POST", "/api/v1/organizations/\(agent.organizationID)/teams", token: agent.personalToken,
                                                  json: ["name": "Speech"]).body["id"]?.stringValue)
            for index in 0..<52 {
                #expect(try app.api("PATCH", "/api/v1/teams/\(teamID)", token: agent.personalToken, json: ["description": .string("v\(index)")]).status == 200)
            }
            // API: newest first, paged, filtered.
            let firstPage = try app.api("GET", "/api/v1/organizations/\(agent.organizationID)/audit?kind=team&limit=10", token: agent.personalToken)
            #expect(firstPage.status == 200)
            #expect(firstPage.body["pagination"]?["total"] == 53)
            #expect(firstPage.body["data"]?.arrayValue.first?["new"]?["description"] == "v51")
            #expect(firstPage.body["data"]?.arrayValue.first?["actor"]?["kind"] == "personal_token")
            #expect(try app.api("GET", "/api/v1/organizations/\(agent.organizationID)/audit", token: member).status == 403)
            let (_, stranger) = try makeUser(app.pool, email: "x@elsewhere.test")
            #expect(try app.api("GET", "/api/v1/organizations/\(agent.organizationID)/audit", token: stranger).status == 404)
            #expect(try app.api("GET", "/api/v1/organizations/\(agent.organizationID)/audit?kind=nope", token: agent.personalToken).body["error"]?["field"] == "kind")
            #expect(try app.api("GET", "/api/v1/organizations/\(agent.organizationID)/audit?from=2026-02-30", token: agent.personalToken).body["error"]?["field"] == "from")
            let tomorrow = String(ISOTime.format(Date().addingTimeInterval(86_400)).prefix(10))
            #expect(try app.api("GET", "/api/v1/organizations/\(agent.organizationID)/audit?from=\(tomorrow)", token: agent.personalToken).body["pagination"]?["total"] == 0)

            // Exports: every entry of the filter, oldest first.
            let csv = try app.send("GET", "/api/v1/reports/audit.csv?organization=\(agent.organizationID)&kind=team",
                                   headers: [("Authorization", "Bearer \(agent.personalToken)")])
            #expect(csv.status == 200 && csv.header("Content-Disposition")?.contains("audit") == true)
            let lines = csv.text.split(whereSeparator: \.isNewline)
            #expect(lines.count == 54)
            #expect(lines[0].hasPrefix("id,at,organization_id,actor_kind"))
            #expect(lines[1].contains("team.create"))
            let json = try app.api("GET", "/api/v1/reports/audit.json?organization=\(agent.organizationID)&kind=member", token: agent.personalToken)
            #expect(json.body.arrayValue.count == 0)
            let invitations = try app.api("GET", "/api/v1/reports/audit.json?organization=\(agent.organizationID)&kind=invitation", token: agent.personalToken)
            #expect(invitations.body.arrayValue.map { $0["action"]?.stringValue } == ["invitation.create", "invitation.accept"])
            #expect(try app.send("GET", "/api/v1/reports/audit.csv?organization=\(agent.organizationID)",
                                 headers: [("Authorization", "Bearer \(member)")]).status == 403)

            // The page, with its filter and paging.
            var browser = Browser(app: app)
            try app.pool.query("UPDATE users SET must_change_password = false")
            _ = try app.pool.transaction { try Accounts.resetPassword($0, email: Agent.email("Acme"), password: "owner password 123") }
            #expect(try browser.logIn(email: Agent.email("Acme"), password: "owner password 123").status == 303)
            let page = try browser.get("/o/acme/-/audit?kind=team")
            #expect(page.status == 200)
            #expect(page.text.contains("Entries 1–50 of 53") && page.text.contains("Older →") && page.text.contains("team.update"))
            #expect(page.text.contains("/api/v1/reports/audit.csv?organization=\(agent.organizationID)&amp;kind=team"))
            let older = try browser.get("/o/acme/-/audit?kind=team&offset=50")
            #expect(older.text.contains("Entries 51–53 of 53") && older.text.contains("team.create") && older.text.contains("Newer"))
            let organization = try browser.get("/o/acme")
            #expect(organization.text.contains("/o/acme/-/audit"))
            #expect(try browser.get("/o/acme/-/audit?from=yesterday").status == 422)
        }
    }

    @Test func entriesPastTheRetentionAreRemoved() throws {
        try withApp(configure: { $0.auditRetentionDays = nil }) { app in
            let (_, owner) = try makeUser(app.pool, email: "owner@acme.test")
            #expect(try app.api("POST", "/api/v1/organizations", token: owner, json: ["name": "Acme"]).status == 201)
            try app.pool.query("""
                INSERT INTO audit_events (at, actor_kind, action, object_kind) VALUES (now() - interval '400 days', 'operator', 'user.create', 'user'),
                    (now() - interval '300 days', 'operator', 'user.create', 'user')
                """)
            let retention = AuditRetention(store: Store(database: app.pool), days: 365, logger: .init(label: "test"))
            #expect(try retention.prune() == 1)
            #expect(try count(app) == 2)
            #expect(try retention.prune() == 0)
        }
    }

    @Test func theOperatorReadsTheTrailAtTheCommandLine() throws {
        let binary = TestDatabase.repositoryRoot.appendingPathComponent(".build/debug/soot").path
        try #require(FileManager.default.isExecutableFile(atPath: binary), "build the soot executable first (swift build)")
        try withApp { app in
            let agent = try Agent(app)
            #expect(try app.api("POST", "/api/v1/organizations/\(agent.organizationID)/teams", token: agent.personalToken, json: ["name": "Speech \"Q\""]).status == 201)
            let other = try Agent(app, organization: "Globex")
            _ = other
            let text = try Shell.run(binary, ["audit", "--organization", agent.organizationID], environment: ["DATABASE_URL": app.url, "LOG_LEVEL": "error"])
            let lines = text.output.split(separator: "\n")
            #expect(lines.count == 2, "\(text.output)")
            #expect(lines.first?.contains("(operator) bootstrap organization \"Acme\"") == true)
            #expect(lines.last?.contains("team.create team \"Speech \\\"Q\\\"\"") == true)
            let json = try Shell.run(binary, ["audit", "--json", "--since", "2000-01-01"], environment: ["DATABASE_URL": app.url, "LOG_LEVEL": "error"])
            let entries = json.output.split(separator: "\n").compactMap { JSONValue.parse(Array($0.utf8)) }
            #expect(entries.count == 3)
            #expect(entries.map { $0["action"]?.stringValue } == ["bootstrap", "team.create", "bootstrap"])
            let refused = try Shell.run(binary, ["audit", "--since", "yesterday"], environment: ["DATABASE_URL": app.url, "LOG_LEVEL": "error"])
            #expect(refused.status != 0)
        }
    }
}

/// Every answer carries an `X-Request-Id` (issue 18): made here, or kept from a trusted proxy; error pages show it.
@Suite struct RequestIDTests {
    @Test func everyAnswerHasAnIdAndErrorPagesShowIt() throws {
        try withApp { app in
            let first = try app.send("GET", "/healthz")
            let second = try app.send("GET", "/healthz")
            let id = try #require(first.header("X-Request-Id"))
            #expect(id.utf8.count == 15 && id != second.header("X-Request-Id"))
            // Without trusted proxies a client's id is not believed.
            let forged = try app.send("GET", "/healthz", headers: [("X-Request-Id", "mine-123")])
            #expect(forged.header("X-Request-Id") != "mine-123")
            let missing = try app.send("GET", "/no/such/page", headers: [("Accept", "text/html")])
            #expect(missing.status == 404)
            #expect(missing.text.contains("Request id <code>\(try #require(missing.header("X-Request-Id")))</code>"))
            // A parse error, answered before any head: an id all the same.
            let connection = try RawConnection(port: app.port)
            try connection.send(Array("GET / HTTP/1.1\r\nHost: a\r\nBad Header\r\n\r\n".utf8))
            let refused = try connection.readResponse(timeout: 5)
            #expect(refused.status == 400 && refused.header("X-Request-Id") != nil)
        }
    }

    @Test func aTrustedProxysIdIsKeptAndLogged() throws {
        let proxies = try TrustedProxies.parse("127.0.0.1/32, ::1").get()
        try withApp(configure: { $0.trustedProxies = proxies }) { app in
            let kept = try app.send("GET", "/healthz", headers: [("X-Request-Id", "lb-42.abc")])
            #expect(kept.header("X-Request-Id") == "lb-42.abc")
            let replaced = try app.send("GET", "/healthz", headers: [("X-Request-Id", "has spaces in it")])
            #expect(replaced.header("X-Request-Id")?.utf8.count == 15)
            // The audit trail records it with the forwarded client address.
            let (_, token) = try makeUser(app.pool, email: "lead@acme.test")
            let created = try app.send("POST", "/api/v1/organizations", headers: [
                ("Authorization", "Bearer \(token)"), ("Content-Type", "application/json"), ("X-Request-Id", "lb-43"),
                ("X-Forwarded-For", "203.0.113.9"),
            ], body: Array(#"{"name":"Acme"}"#.utf8))
            #expect(created.status == 201)
            let row = try #require(try app.pool.query("SELECT address, request_id FROM audit_events WHERE action = 'organization.create'").first)
            #expect(row["address"] == "203.0.113.9" && row["request_id"] == "lb-43")
        }
    }
}

extension RequestIDTests {
    /// `soot serve --log-format json`: an ingest post's access line names its request, the caller's kind and the
    /// organization, so a tenant's traffic can be picked out in Loki or ELK.
    @Test func theJSONAccessLogNamesTheRequestTheCallerAndTheOrganization() throws {
        let binary = TestDatabase.repositoryRoot.appendingPathComponent(".build/debug/soot").path
        try #require(FileManager.default.isExecutableFile(atPath: binary), "build the soot executable first (swift build)")
        try withApp { app in
            let agent = try Agent(app)
            let child = try Shell.start(binary, ["serve", "--port", "0", "--metrics-listen", "off", "--log-format", "json",
                                                 "--public-dir", TestDatabase.repositoryRoot.appendingPathComponent("Public").path],
                                        environment: ["DATABASE_URL": app.url, "LOG_LEVEL": "info"])
            defer { child.signal(); _ = child.wait() }
            var port: UInt16?
            let deadline = Date().addingTimeInterval(60)
            while port == nil && Date() < deadline && child.isRunning {
                if let range = child.output.range(of: "serving on http://127.0.0.1:") {
                    port = UInt16(child.output[range.upperBound...].prefix { $0.isNumber })
                }
                usleep(50_000)
            }
            let served = try #require(port, "\(child.errors)")
            func post(_ path: String, _ json: JSONValue) throws -> RawResponse {
                let connection = try RawConnection(port: served)
                let body = json.bytes
                try connection.send(Array("POST \(path) HTTP/1.1\r\nHost: x\r\nConnection: close\r\nx-api-token: \(agent.projectToken)\r\nContent-Type: application/json\r\nContent-Length: \(body.count)\r\n\r\n".utf8) + body)
                return try connection.readResponse(timeout: 10)
            }
            let run = try post("/runs", runCreate(agent.experimentID))
            let runID = try #require(JSONValue.parse(run.body)?["id"]?.stringValue)
            let sample = try post("/emissions", emission(runID, energy: 0.01, emissions: 0.002))
            #expect(sample.status == 201)
            let requestID = try #require(sample.header("X-Request-Id"))
            var line: JSONValue?
            while line == nil && Date() < deadline {
                line = child.errors.split(separator: "\n").compactMap { JSONValue.parse(Array($0.utf8)) }.first { $0["request_id"]?.stringValue == requestID }
                if line == nil { usleep(100_000) }
            }
            let access = try #require(line, "\(child.errors)")
            #expect(access["route"] == "/emissions" && access["status"] == 201)
            #expect(access["caller"] == "project_token" && access["organization_id"]?.stringValue == agent.organizationID)
            // A page's line names the credential it was sent with.
            let page = try RawConnection(port: served)
            try page.send("GET /login HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            let login = try page.readResponse(timeout: 10)
            let loginID = try #require(login.header("X-Request-Id"))
            var pageLine: JSONValue?
            while pageLine == nil && Date() < deadline {
                pageLine = child.errors.split(separator: "\n").compactMap { JSONValue.parse(Array($0.utf8)) }.first { $0["request_id"]?.stringValue == loginID }
                if pageLine == nil { usleep(100_000) }
            }
            #expect(pageLine?["caller"] == "anonymous" && pageLine?["route"] == "/login")
        }
    }
}
