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
}
