import Foundation
import Postgres
@testable import SootStore
@testable import SootWeb
import TestSupport
import Testing

/// Two organizations and people in every role; every route that names organization A's things is tried as
/// each of them.
@Suite struct TenantIsolationTests {
    struct World {
        var organizationA = "", teamA1 = "", teamA2 = "", projectA1 = "", projectA2 = "", experimentA1 = "", runA1 = ""
        var organizationB = "", projectB = ""
        var ownerA = "", adminA = "", memberA1 = "", memberA2 = "", outsider = ""
        var memberA1ID = "", memberA2ID = ""
        var projectTokenA1 = "", readOnlyProjectTokenA1 = "", projectTokenB = "", readOnlyOwnerA = ""
        var tokenIDA1 = ""
        var secretWords: [String] = []
    }

    func build(_ app: AppFixture) throws -> World {
        var world = World()
        let a = try Bootstrap.run(app.pool, .init(organization: "Alpha Secret Org", team: "Alpha Team One", project: "Alpha Project One",
                                                  experiment: "Alpha Experiment", email: "owner@alpha.test"))
        let b = try Bootstrap.run(app.pool, .init(organization: "Beta Org", team: "Beta Team", project: "Beta Project",
                                                  experiment: "Beta Experiment", email: "owner@beta.test"))
        world.organizationA = a["organization_id"]!.stringValue!
        world.teamA1 = a["team_id"]!.stringValue!
        world.projectA1 = a["project_id"]!.stringValue!
        world.experimentA1 = a["experiment_id"]!.stringValue!
        world.ownerA = a["personal_token"]!.stringValue!
        world.projectTokenA1 = a["project_token"]!.stringValue!
        world.organizationB = b["organization_id"]!.stringValue!
        world.projectB = b["project_id"]!.stringValue!
        world.outsider = b["personal_token"]!.stringValue!
        world.projectTokenB = b["project_token"]!.stringValue!

        let admin = try makeUser(app.pool, email: "admin@alpha.test")
        let member1 = try makeUser(app.pool, email: "member1@alpha.test")
        let member2 = try makeUser(app.pool, email: "member2@alpha.test")
        world.adminA = admin.token
        world.memberA1 = member1.token
        world.memberA2 = member2.token
        world.memberA1ID = member1.id.uuidString
        world.memberA2ID = member2.id.uuidString
        world.readOnlyOwnerA = try app.api("POST", "/api/v1/tokens", token: world.ownerA, json: ["name": "ro", "scope": "read"]).body["token"]!.stringValue!
        for (email, role, token) in [("admin@alpha.test", "admin", world.adminA), ("member1@alpha.test", "member", world.memberA1),
                                     ("member2@alpha.test", "member", world.memberA2)] {
            try invite(app, organization: world.organizationA, by: world.ownerA, email: email, role: role, acceptedWith: token)
        }
        #expect(try app.api("POST", "/api/v1/teams/\(world.teamA1)/members", token: world.ownerA, json: ["email": "member1@alpha.test"]).status == 201)
        world.teamA2 = try app.api("POST", "/api/v1/organizations/\(world.organizationA)/teams", token: world.adminA,
                                   json: ["name": "Alpha Team Two"]).body["id"]!.stringValue!
        #expect(try app.api("POST", "/api/v1/teams/\(world.teamA2)/members", token: world.adminA, json: ["email": "member2@alpha.test"]).status == 201)
        world.projectA2 = try app.api("POST", "/api/v1/teams/\(world.teamA2)/projects", token: world.memberA2,
                                      json: ["name": "Alpha Project Two"]).body["id"]!.stringValue!
        let readOnly = try app.api("POST", "/api/v1/projects/\(world.projectA1)/tokens", token: world.ownerA, json: ["name": "ro", "scope": "read"])
        world.readOnlyProjectTokenA1 = readOnly.body["token"]!.stringValue!
        world.tokenIDA1 = readOnly.body["id"]!.stringValue!
        world.runA1 = try app.pool.query("""
            INSERT INTO runs (organization_id, team_id, project_id, experiment_id, started_at, cpu_model)
            SELECT organization_id, team_id, project_id, id, now(), 'Alpha CPU' FROM experiments WHERE id = \(UUID(uuidString: world.experimentA1)!)
            RETURNING id
            """).first!.decode("id", as: UUID.self).uuidString.lowercased()
        world.secretWords = ["Alpha Secret Org", "Alpha Team", "Alpha Project", "Alpha Experiment", "Alpha CPU", "alpha.test",
                             world.organizationA, world.teamA1, world.teamA2, world.projectA1, world.projectA2, world.experimentA1,
                             world.runA1]
        return world
    }

    /// Every route naming A's things, destructive ones last.
    func routes(_ w: World) -> [(String, String, JSONValue?)] {
        [
            ("GET", "/api/v1/organizations/\(w.organizationA)", nil),
            ("PATCH", "/api/v1/organizations/\(w.organizationA)", ["name": "Hijacked"]),
            ("GET", "/api/v1/organizations/\(w.organizationA)/members", nil),
            ("POST", "/api/v1/organizations/\(w.organizationA)/members", ["email": "intruder@evil.test", "role": "owner"]),
            ("PATCH", "/api/v1/organizations/\(w.organizationA)/members/\(w.memberA1ID)", ["role": "owner"]),
            ("GET", "/api/v1/organizations/\(w.organizationA)/teams", nil),
            ("POST", "/api/v1/organizations/\(w.organizationA)/teams", ["name": "Intruders"]),
            ("GET", "/api/v1/teams/\(w.teamA1)", nil),
            ("PATCH", "/api/v1/teams/\(w.teamA1)", ["name": "Hijacked"]),
            ("GET", "/api/v1/teams/\(w.teamA1)/members", nil),
            ("POST", "/api/v1/teams/\(w.teamA1)/members", ["email": "member2@alpha.test"]),
            ("GET", "/api/v1/teams/\(w.teamA1)/projects", nil),
            ("POST", "/api/v1/teams/\(w.teamA1)/projects", ["name": "Intruder project"]),
            ("GET", "/api/v1/projects/\(w.projectA1)", nil),
            ("PATCH", "/api/v1/projects/\(w.projectA1)", ["is_public": true]),
            ("GET", "/api/v1/projects/\(w.projectA1)/experiments", nil),
            ("POST", "/api/v1/projects/\(w.projectA1)/experiments", ["name": "Intruder experiment"]),
            ("GET", "/api/v1/projects/\(w.projectA1)/tokens", nil),
            ("POST", "/api/v1/projects/\(w.projectA1)/tokens", ["name": "stolen"]),
            ("GET", "/api/v1/experiments/\(w.experimentA1)", nil),
            ("PATCH", "/api/v1/experiments/\(w.experimentA1)", ["name": "Hijacked"]),
            ("GET", "/api/v1/experiments/\(w.experimentA1)/runs", nil),
            ("GET", "/api/v1/runs/\(w.runA1)", nil),
            ("DELETE", "/api/v1/projects/\(w.projectA1)/tokens/\(w.tokenIDA1)", nil),
            ("DELETE", "/api/v1/runs/\(w.runA1)", nil),
            ("DELETE", "/api/v1/experiments/\(w.experimentA1)", nil),
            ("DELETE", "/api/v1/teams/\(w.teamA1)/members/\(w.memberA1ID)", nil),
            ("DELETE", "/api/v1/organizations/\(w.organizationA)/members/\(w.memberA1ID)", nil),
            ("DELETE", "/api/v1/projects/\(w.projectA1)", nil),
            ("DELETE", "/api/v1/teams/\(w.teamA1)", nil),
            ("DELETE", "/api/v1/organizations/\(w.organizationA)", nil),
        ]
    }

    func snapshot(_ pool: ConnectionPool) throws -> String {
        try pool.query("""
            SELECT (SELECT string_agg(name || ':' || description, ',' ORDER BY id) FROM organizations) || '|' ||
                   (SELECT string_agg(name, ',' ORDER BY id) FROM teams) || '|' ||
                   (SELECT string_agg(name || is_public::text, ',' ORDER BY id) FROM projects) || '|' ||
                   (SELECT string_agg(name, ',' ORDER BY id) FROM experiments) || '|' ||
                   (SELECT count(*)::text FROM runs) || '|' ||
                   (SELECT string_agg(organization_id::text || user_id::text || role, ',' ORDER BY organization_id, user_id) FROM organization_members) || '|' ||
                   (SELECT string_agg(team_id::text || user_id::text, ',' ORDER BY team_id, user_id) FROM team_members) || '|' ||
                   (SELECT count(*)::text FROM api_tokens WHERE revoked_at IS NULL) || '|' ||
                   (SELECT count(*)::text FROM users) AS state
            """).first!.decode("state")
    }

    @Test func anotherOrganizationSeesAndChangesNothing() throws {
        try withApp { app in
            let world = try build(app)
            let before = try snapshot(app.pool)
            for caller in [world.outsider, world.projectTokenB] {
                let headers: [(String, String)] = caller.hasPrefix("soot_prj_") ? [("x-api-token", caller)] : []
                let bearer: String? = caller.hasPrefix("soot_prj_") ? nil : caller
                for (method, path, body) in routes(world) {
                    let answer = try app.api(method, path, token: bearer, json: body, headers: headers)
                    #expect(answer.status == 404, "\(method) \(path) as another organization: \(answer.status)")
                    let text = answer.body.serialized
                    for word in world.secretWords { #expect(!text.contains(word), "\(method) \(path) leaked \(word)") }
                }
                // Their own listings show nothing of A either.
                for path in ["/api/v1/organizations", "/api/v1/tokens", "/api/v1/me"] {
                    let text = try app.api("GET", path, token: bearer, headers: headers).body.serialized
                    for word in world.secretWords { #expect(!text.contains(word), "\(path) leaked \(word)") }
                }
            }
            #expect(try snapshot(app.pool) == before)
        }
    }

    @Test func aMemberOfTeamA2CannotTouchTeamA1() throws {
        try withApp { app in
            let world = try build(app)
            let before = try snapshot(app.pool)
            for (method, path, body) in routes(world) {
                let answer = try app.api(method, path, token: world.memberA2, json: body)
                let expected: Set<Int>
                if path.hasSuffix("/members") && path.contains("/organizations/") && method == "GET" {
                    expected = [200]
                } else if path == "/api/v1/organizations/\(world.organizationA)" && method == "GET" {
                    expected = [200]
                } else if path.hasSuffix("/teams") && method == "GET" {
                    expected = [200]
                } else if path.contains("/organizations/") {
                    expected = [403]
                } else {
                    expected = [404]
                }
                #expect(expected.contains(answer.status), "\(method) \(path) as member of A2: \(answer.status)")
            }
            let teams = try app.api("GET", "/api/v1/organizations/\(world.organizationA)/teams", token: world.memberA2).body.items
            #expect(teams.compactMap { $0["name"]?.stringValue } == ["Alpha Team Two"])
            #expect(try snapshot(app.pool) == before)
        }
    }

    @Test func rolesDecideWhatAMemberMayDo() throws {
        try withApp { app in
            let world = try build(app)
            // A team member reads and writes inside the team, but does not manage the organization.
            #expect(try app.api("GET", "/api/v1/projects/\(world.projectA1)", token: world.memberA1).status == 200)
            #expect(try app.api("POST", "/api/v1/projects/\(world.projectA1)/experiments", token: world.memberA1, json: ["name": "mine"]).status == 201)
            #expect(try app.api("POST", "/api/v1/organizations/\(world.organizationA)/teams", token: world.memberA1, json: ["name": "x"]).status == 403)
            #expect(try app.api("PATCH", "/api/v1/organizations/\(world.organizationA)", token: world.memberA1, json: ["name": "x"]).status == 403)
            #expect(try app.api("DELETE", "/api/v1/organizations/\(world.organizationA)", token: world.memberA1).status == 403)
            // An admin manages teams and members, but cannot make owners or delete the organization.
            #expect(try app.api("GET", "/api/v1/projects/\(world.projectA2)", token: world.adminA).status == 200)
            #expect(try app.api("PATCH", "/api/v1/organizations/\(world.organizationA)/members/\(world.memberA1ID)", token: world.adminA,
                                json: ["role": "owner"]).status == 403)
            #expect(try app.api("PATCH", "/api/v1/organizations/\(world.organizationA)/members/\(world.memberA1ID)", token: world.adminA,
                                json: ["role": "admin"]).status == 200)
            #expect(try app.api("DELETE", "/api/v1/organizations/\(world.organizationA)", token: world.adminA).status == 403)
            // Read-only credentials never write.
            #expect(try app.api("PATCH", "/api/v1/projects/\(world.projectA1)", token: world.readOnlyOwnerA, json: ["name": "x"]).status == 403)
            #expect(try app.api("GET", "/api/v1/projects/\(world.projectA1)", token: world.readOnlyOwnerA).status == 200)
            // A project token reaches its own project only, and never manages anything.
            let project = [("x-api-token", world.projectTokenA1)]
            #expect(try app.api("GET", "/api/v1/projects/\(world.projectA1)", token: nil, headers: project).status == 200)
            #expect(try app.api("GET", "/api/v1/runs/\(world.runA1)", token: nil, headers: project).status == 200)
            #expect(try app.api("GET", "/api/v1/projects/\(world.projectA2)", token: nil, headers: project).status == 404)
            #expect(try app.api("GET", "/api/v1/organizations/\(world.organizationA)", token: nil, headers: project).status == 404)
            #expect(try app.api("POST", "/api/v1/projects/\(world.projectA1)/experiments", token: nil, json: ["name": "agent"], headers: project).status == 201)
            #expect(try app.api("DELETE", "/api/v1/projects/\(world.projectA1)", token: nil, headers: project).status == 403)
            #expect(try app.api("POST", "/api/v1/projects/\(world.projectA1)/experiments", token: nil, json: ["name": "ro"],
                                headers: [("x-api-token", world.readOnlyProjectTokenA1)]).status == 403)
            // The last owner cannot leave.
            let owner = try app.api("GET", "/api/v1/me", token: world.ownerA).body["id"]!.stringValue!
            #expect(try app.api("DELETE", "/api/v1/organizations/\(world.organizationA)/members/\(owner)", token: world.ownerA).status == 409)
            // Adding an outsider to a team requires organization membership first.
            #expect(try app.api("POST", "/api/v1/teams/\(world.teamA1)/members", token: world.ownerA, json: ["email": "owner@beta.test"]).status == 422)
        }
    }
}
