import Foundation
import Postgres
@testable import SootStore
@testable import SootWeb
import TestSupport
import Testing

@Suite struct IngestionTests {
    @Test func theCodeCarbonProtocolAtTheRootAndUnderAPI() throws {
        try withApp { app in
            let agent = try Agent(app)
            let run = try app.api("POST", "/runs", token: nil, json: runCreate(agent.experimentID), headers: agent.header)
            #expect(run.status == 201)
            let runID = try #require(run.body["id"]?.stringValue)
            #expect(run.body["experiment_id"]?.stringValue == agent.experimentID)
            #expect(run.body["cpu_model"] == "AMD EPYC")
            var energy = 0.0, emissions = 0.0
            for (index, path) in ["/emissions", "/api/emissions", "//emissions", "/api//emissions"].enumerated() {
                let e = 0.001 * Double(index + 1) + 1e-7, c = e * 0.052
                let answer = try app.api("POST", path, token: nil, json: emission(runID, energy: e, emissions: c), headers: agent.header)
                #expect(answer.status == 201, "\(path)")
                #expect(answer.body.stringValue.flatMap(UUID.init(uuidString:)) != nil)
                energy += e
                emissions += c
            }
            let stored = try app.pool.query("""
                SELECT sample_count, energy_kwh, emissions_kg, cpu_power_w, last_seen_at > now() - interval '1 minute' AS fresh
                FROM runs WHERE id = \(UUID(uuidString: runID)!)
                """).first!
            let sums = try sampleSums(app.pool, run: runID)
            #expect(try stored.decode("sample_count", as: Int.self) == 4)
            #expect(sums.count == 4)
            #expect(close(try stored.decode("energy_kwh", as: Double.self), sums.energy))
            #expect(close(sums.energy, energy))
            #expect(close(try stored.decode("emissions_kg", as: Double.self), emissions))
            #expect(try stored.decode("cpu_power_w", as: Double.self) == 42.5)
            #expect(try stored.decode("fresh", as: Bool.self))
            let day = try app.pool.query("SELECT sum(energy_kwh) AS e, sum(sample_count) AS n FROM experiment_days").first!
            #expect(close(try day.decode("e", as: Double.self), energy))
            #expect(try day.decode("n", as: Int.self) == 4)

            // Reads with a personal token, in CodeCarbon's shapes.
            let sums1 = try app.api("GET", "/experiments/\(agent.experimentID)/runs/sums", token: agent.personalToken)
            #expect(sums1.status == 200)
            #expect(sums1.body.arrayValue.first?["emissions_count"] == 4)
            #expect(close(sums1.body.arrayValue.first?["energy_consumed"]?.numberValue ?? 0, energy))
            let project = try app.api("GET", "/api/projects/\(agent.projectID)/sums", token: agent.personalToken)
            #expect(close(project.body["emissions"]?.numberValue ?? 0, emissions))
            let organization = try app.api("GET", "/organizations/\(agent.organizationID)/sums?start_date=2000-01-01&end_date=2100-01-01",
                                           token: agent.personalToken)
            #expect(organization.body["emissions_count"] == 4)
            let none = try app.api("GET", "/organizations/\(agent.organizationID)/sums?start_date=2001-01-01&end_date=2001-02-01",
                                   token: agent.personalToken)
            #expect(none.body["emissions_count"] == 0)
            let page = try app.api("GET", "/runs/\(runID)/emissions?size=3", token: agent.personalToken)
            #expect(page.body["total"] == 4)
            #expect(page.body["items"]?.arrayValue.count == 3)
            #expect(page.body["pages"] == 2)
            #expect(try app.api("GET", "/lastrun/project/\(agent.projectID)", token: agent.personalToken).body["id"]?.stringValue == runID)
        }
    }

    @Test func codeCarbonErrorsUseItsShape() throws {
        try withApp { app in
            let agent = try Agent(app)
            let other = try Agent(app, organization: "Other", project: "Elsewhere")
            let runID = try app.api("POST", "/runs", token: nil, json: runCreate(agent.experimentID), headers: agent.header).body["id"]!.stringValue!
            let anonymous = try app.api("POST", "/emissions", token: nil, json: emission(runID, energy: 1, emissions: 1))
            #expect(anonymous.status == 401)
            #expect(anonymous.body["detail"]?.stringValue != nil)
            // Another project's token cannot post into this run, nor create runs in this experiment.
            #expect(try app.api("POST", "/emissions", token: nil, json: emission(runID, energy: 1, emissions: 1), headers: other.header).status == 404)
            #expect(try app.api("POST", "/runs", token: nil, json: runCreate(agent.experimentID), headers: other.header).status == 404)
            // Validation: a 422 naming the field, in FastAPI's shape; nothing stored.
            let invalid: [(String, JSONValue)] = [("duration", .number(0)), ("energy_consumed", .number(-1)), ("emissions_sum", .string("lots")),
                                                  ("energy_consumed", .number(2_000_000)), ("duration", .number(3_600 * 24 * 365 * 100)),
                                                  ("run_id", .string("not-a-uuid"))]
            for (field, value) in invalid {
                guard case .object(var body) = emission(runID, energy: 1, emissions: 1) else { continue }
                body[field] = value
                let answer = try app.api("POST", "/emissions", token: nil, json: .object(body), headers: agent.header)
                #expect(answer.status == 422, "\(field)=\(value)")
                #expect(answer.body["detail"]?.arrayValue.first?["loc"]?.arrayValue.last?.stringValue == field, "\(field)")
            }
            guard case .object(var future) = emission(runID, energy: 1, emissions: 1, timestamp: Date().addingTimeInterval(86_400 * 7)) else { return }
            #expect(try app.api("POST", "/emissions", token: nil, json: .object(future), headers: agent.header).status == 422)
            future.removeValue(forKey: "timestamp")
            #expect(try app.api("POST", "/emissions", token: nil, json: .object(future), headers: agent.header).status == 422)
            let text = try app.send("POST", "/emissions", headers: agent.header + [("Content-Type", "text/plain")], body: Array("hi".utf8))
            #expect(text.status == 415)
            #expect(try sampleSums(app.pool, run: runID).count == 0)
            // A read-only project token cannot write.
            let readOnly = try app.api("POST", "/api/v1/projects/\(agent.projectID)/tokens", token: agent.personalToken,
                                       json: ["name": "ro", "scope": "read"]).body["token"]!.stringValue!
            #expect(try app.api("POST", "/emissions", token: nil, json: emission(runID, energy: 1, emissions: 1),
                                headers: [("x-api-token", readOnly)]).status == 403)
        }
    }

    /// A run deleted while its agent is still posting: the placement is cached, so the sample reaches the group
    /// commit, where the writing statement finds the run missing; the agent gets CodeCarbon's 404, nothing is
    /// stored, and the next post is refused without reaching the database writer.
    @Test func aSampleForARunDeletedMeanwhileIs404() throws {
        try withApp { app in
            let agent = try Agent(app)
            let runID = try app.api("POST", "/runs", token: nil, json: runCreate(agent.experimentID), headers: agent.header).body["id"]!.stringValue!
            #expect(try app.api("POST", "/emissions", token: nil, json: emission(runID, energy: 1, emissions: 1), headers: agent.header).status == 201)
            try app.pool.query("DELETE FROM runs WHERE id = \(UUID(uuidString: runID)!)")
            for _ in 0..<2 {
                let answer = try app.api("POST", "/emissions", token: nil, json: emission(runID, energy: 1, emissions: 1), headers: agent.header)
                #expect(answer.status == 404)
                #expect(answer.body["detail"]?.stringValue == "No such run.")
            }
            #expect(try app.pool.query("SELECT count(*) AS n FROM emission_samples").first!.decode("n", as: Int.self) == 0)
        }
    }

    @Test func codeCarbonManagementCalls() throws {
        try withApp { app in
            let agent = try Agent(app)
            let token = agent.personalToken
            #expect(try app.api("GET", "/auth/check", token: token).body["email"] == "agent@acme.test")
            let organizations = try app.api("GET", "/organizations", token: token)
            #expect(organizations.body.arrayValue.map { $0["name"] } == ["Acme"])
            let created = try app.api("POST", "/projects", token: token, json: [
                "name": "From CLI", "description": "made by codecarbon config", "organization_id": .string(agent.organizationID),
            ])
            #expect(created.status == 201)
            let projectID = try #require(created.body["id"]?.stringValue)
            let team = try app.pool.query("SELECT t.name FROM projects p JOIN teams t ON t.id = p.team_id WHERE p.id = \(UUID(uuidString: projectID)!)").first!
            #expect(try team.decode("name", as: String.self) == "CodeCarbon")
            #expect(try app.api("GET", "/organizations/\(agent.organizationID)/projects", token: token).body.arrayValue.count == 2)
            let experiment = try app.api("POST", "/experiments", token: token, json: [
                "timestamp": .string(ISOTime.format(Date())), "name": "exp", "description": "d", "on_cloud": false,
                "project_id": .string(projectID), "country_iso_code": "FRA",
            ])
            #expect(experiment.status == 201)
            #expect(try app.api("GET", "/projects/\(projectID)/experiments", token: token).body.arrayValue.count == 1)
            let apiToken = try app.api("POST", "/projects/\(projectID)/api-tokens", token: token,
                                       json: ["project_id": .string(projectID), "name": "api token", "x_token": "???"])
            #expect(apiToken.status == 201)
            let secret = try #require(apiToken.body["token"]?.stringValue)
            let run = try app.api("POST", "/runs", token: nil, json: runCreate(experiment.body["id"]!.stringValue!),
                                  headers: [("x-api-token", secret)])
            #expect(run.status == 201)
            #expect(try app.api("GET", "/projects/\(projectID)/experiments/sums", token: token).body.arrayValue.first?["name"] == "exp")
        }
    }

    @Test func runReportsWithTotalsOrSamples() throws {
        try withApp { app in
            let agent = try Agent(app)
            let start = Date().addingTimeInterval(-3_600)
            let totalsOnly = try app.api("POST", "/api/v1/runs", token: agent.personalToken, json: [
                "experiment_id": .string(agent.experimentID), "started_at": .string(ISOTime.format(start)),
                "ended_at": .string(ISOTime.format(start.addingTimeInterval(1_800))), "cpu_model": "Xeon",
                "totals": ["energy_kwh": 1.25, "emissions_kg": 0.0625, "cpu_energy_kwh": 1, "ram_energy_kwh": 0.25],
            ])
            #expect(totalsOnly.status == 201)
            #expect(totalsOnly.body["energy_kwh"] == 1.25)
            #expect(totalsOnly.body["duration_seconds"] == 1_800)
            #expect(totalsOnly.body["sample_count"] == 1)

            let samples: [JSONValue] = (0..<250).map { index -> JSONValue in
                let at: JSONValue = .string(ISOTime.format(start.addingTimeInterval(Double(index) * 10)))
                let energy: JSONValue = .number(0.001 * Double(index % 7 + 1))
                let emissions: JSONValue = .number(0.00005 * Double(index % 5 + 1))
                return .object(["timestamp": at, "duration_seconds": .number(10), "energy_kwh": energy, "emissions_kg": emissions,
                                "cpu_power_w": .number(100)])
            }
            let byName = try app.api("POST", "/api/v1/runs", token: nil, json: [
                "organization": "Acme", "team": "ML", "project": "Vision", "experiment": "nightly",
                "started_at": .string(ISOTime.format(start)), "samples": .array(samples),
            ], headers: agent.header)
            #expect(byName.status == 201)
            let runID = try #require(byName.body["id"]?.stringValue)
            let sums = try sampleSums(app.pool, run: runID)
            #expect(sums.count == 250)
            #expect(close(byName.body["energy_kwh"]?.numberValue ?? 0, sums.energy))
            #expect(try app.pool.query("SELECT count(*) AS n FROM experiments WHERE name = 'nightly'").first!.decode("n", as: Int.self) == 1)

            // Totals that disagree with the samples are refused; nothing is written.
            let mismatch = try app.api("POST", "/api/v1/runs", token: agent.personalToken, json: [
                "experiment_id": .string(agent.experimentID), "started_at": .string(ISOTime.format(start)),
                "samples": .array(Array(samples.prefix(2))), "totals": ["energy_kwh": 99, "emissions_kg": 1, "duration_seconds": 20],
            ])
            #expect(mismatch.status == 422)
            #expect(mismatch.body["error"]?["field"] == "totals.energy_kwh")
            #expect(try app.pool.query("SELECT count(*) AS n FROM runs").first!.decode("n", as: Int.self) == 2)
        }
    }

    @Test func badReportsGetAPreciseFieldAndChangeNothing() throws {
        try withApp { app in
            let agent = try Agent(app)
            let now = ISOTime.format(Date())
            let good: [String: JSONValue] = ["timestamp": .string(now), "duration_seconds": 5, "energy_kwh": 0.1, "emissions_kg": 0.01]
            func report(_ sample: [String: JSONValue]) -> JSONValue {
                ["experiment_id": .string(agent.experimentID), "started_at": .string(now), "samples": [.object(sample)]]
            }
            var cases: [(JSONValue, String)] = []
            for (key, value) in [("energy_kwh", JSONValue.number(-0.1)), ("energy_kwh", 5_000_000), ("emissions_kg", "NaN"),
                                 ("duration_seconds", 0), ("duration_seconds", 3_155_760_000), ("timestamp", "2999-01-01T00:00:00Z"),
                                 ("timestamp", "yesterday"), ("cpu_power_w", 1e12), ("energy_kwh", true)] as [(String, JSONValue)] {
                var sample = good
                sample[key] = value
                cases.append((report(sample), "samples[0].\(key)"))
            }
            var missing = good
            missing.removeValue(forKey: "energy_kwh")
            cases.append((report(missing), "samples[0].energy_kwh"))
            cases.append((["experiment_id": .string(agent.experimentID)], "started_at"))
            cases.append((["started_at": .string(now)], "experiment_id"))
            cases.append((["experiment_id": .string(agent.experimentID), "started_at": .string(now), "latitude": 123], "latitude"))
            for (body, field) in cases {
                let answer = try app.api("POST", "/api/v1/runs", token: agent.personalToken, json: body)
                #expect(answer.status == 422, "\(field): \(answer.status)")
                #expect(answer.body["error"]?["field"]?.stringValue == field, "\(field): \(answer.body.serialized)")
            }
            #expect(try app.pool.query("SELECT count(*) AS n FROM runs").first!.decode("n", as: Int.self) == 0)
            // Too many samples in one call, too large a body, not JSON.
            let many = JSONValue.array(Array(repeating: .object(good), count: 1001))
            #expect(try app.api("POST", "/api/v1/runs", token: agent.personalToken,
                                json: ["experiment_id": .string(agent.experimentID), "started_at": .string(now), "samples": many]).status == 413)
            let huge = try app.send("POST", "/api/v1/runs", headers: [("Authorization", "Bearer \(agent.personalToken)"),
                                    ("Content-Type", "application/json")], body: Array(repeating: UInt8(ascii: " "), count: 9 * 1024 * 1024))
            #expect(huge.status == 413)
            let form = try app.send("POST", "/api/v1/runs", headers: [("Authorization", "Bearer \(agent.personalToken)"),
                                    ("Content-Type", "text/csv")], body: Array("a,b".utf8))
            #expect(form.status == 415)
            #expect(try app.api("POST", "/api/v1/runs", token: nil, json: ["started_at": .string(now)]).status == 401)
        }
    }

    @Test func retriesWithAnIdempotencyKeyCountOnce() throws {
        try withApp { app in
            let agent = try Agent(app)
            let start = ISOTime.format(Date().addingTimeInterval(-60))
            let report: JSONValue = [
                "experiment_id": .string(agent.experimentID), "started_at": .string(start),
                "totals": ["duration_seconds": 60, "energy_kwh": 0.5, "emissions_kg": 0.025],
            ]
            let headers = [("Idempotency-Key", "report-42")]
            let first = try app.api("POST", "/api/v1/runs", token: agent.personalToken, json: report, headers: headers)
            let second = try app.api("POST", "/api/v1/runs", token: agent.personalToken, json: report, headers: headers)
            #expect(first.status == 201)
            #expect(second.status == 201)
            #expect(first.body == second.body)
            let reused = try app.api("POST", "/api/v1/runs", token: agent.personalToken,
                                     json: ["experiment_id": .string(agent.experimentID), "started_at": .string(start)], headers: headers)
            #expect(reused.status == 422)
            #expect(reused.body["error"]?["field"] == "Idempotency-Key")

            // Eight copies at the same moment: one run.
            let results = Results()
            DispatchQueue.concurrentPerform(iterations: 8) { _ in
                let answer = try? app.api("POST", "/api/v1/runs", token: agent.personalToken, json: report,
                                          headers: [("Idempotency-Key", "burst")])
                results.append([answer?.status ?? -1])
            }
            #expect(results.values.flatMap { $0 }.allSatisfy { $0 == 201 })
            #expect(try app.pool.query("SELECT count(*) AS n FROM runs").first!.decode("n", as: Int.self) == 2)

            // Sample ids make batch retries safe too, with or without a key.
            let runID = first.body["id"]!.stringValue!
            let batch: JSONValue = ["samples": .array((0..<300).map { index in
                ["id": .string("s\(index)"), "timestamp": .string(ISOTime.format(Date())), "duration_seconds": 1,
                 "energy_kwh": 0.001, "emissions_kg": 0.0001]
            })]
            let posted = try app.api("POST", "/api/v1/runs/\(runID)/samples", token: nil, json: batch, headers: agent.header)
            #expect(posted.body["accepted"] == 300)
            let again = try app.api("POST", "/api/v1/runs/\(runID)/samples", token: nil, json: batch, headers: agent.header)
            #expect(again.body["accepted"] == 0)
            #expect(again.body["duplicates"] == 300)
            let run = try app.api("GET", "/api/v1/runs/\(runID)", token: agent.personalToken).body
            #expect(run["sample_count"] == 301)
            #expect(close(run["energy_kwh"]?.numberValue ?? 0, 0.5 + 0.3))
            #expect(close(try sampleSums(app.pool, run: runID).energy, 0.8))
        }
    }

    @Test func theEmissionsEndpointRecordsCumulativeReports() throws {
        try withApp { app in
            let agent = try Agent(app)
            let runKey = UUID().uuidString.lowercased()
            func report(duration: Double, energy: Double) -> JSONValue {
                [
                    "timestamp": .string(String(ISOTime.format(Date()).prefix(19))), "project_name": "nightly-train", "run_id": .string(runKey),
                    "experiment_id": "5b0fa12a-3dd7-45bb-9766-cc326314d9f1", "duration": .number(duration), "emissions": .number(energy * 0.05),
                    "emissions_rate": .number(energy * 0.05 / duration), "cpu_power": 42.5, "gpu_power": 0, "ram_power": 10,
                    "cpu_energy": .number(energy * 0.8), "gpu_energy": 0, "ram_energy": .number(energy * 0.2), "energy_consumed": .number(energy),
                    "water_consumed": 0, "country_name": "France", "country_iso_code": "FRA", "region": "ile-de-france",
                    "cloud_provider": "", "cloud_region": "", "os": "Linux", "python_version": "3.11.7", "codecarbon_version": "3.3.2",
                    "cpu_count": 2.0, "cpu_model": "AMD EPYC", "gpu_count": 0.0, "gpu_model": "", "longitude": 2.3, "latitude": 48.9,
                    "ram_total_size": 23.4, "tracking_mode": "machine", "cpu_utilization_percent": 12.0, "gpu_utilization_percent": 0.0,
                    "ram_utilization_percent": 30.0, "ram_used_gb": 7.0, "on_cloud": "N", "pue": 1.0, "wue": 0.0, "user": "ml",
                ]
            }
            let path = "/ingest/\(agent.projectToken)"
            #expect(try app.api("POST", path, token: nil, json: report(duration: 60, energy: 0.01)).status == 201)
            let last = try app.api("POST", path, token: nil, json: report(duration: 120, energy: 0.025))
            #expect(last.status == 201)
            #expect(try app.api("POST", path, token: nil, json: report(duration: 120, energy: 0.025)).status == 201)
            let runID = try #require(last.body["id"]?.stringValue)
            let run = try app.api("GET", "/api/v1/runs/\(runID)", token: agent.personalToken).body
            #expect(close(run["energy_kwh"]?.numberValue ?? 0, 0.025))
            #expect(run["duration_seconds"] == 120)
            #expect(run["country_iso_code"] == "FRA")
            #expect(close(try sampleSums(app.pool, run: runID).energy, 0.025))
            #expect(try app.pool.query("SELECT name FROM experiments e JOIN runs r ON r.experiment_id = e.id WHERE r.id = \(UUID(uuidString: runID)!)").first!.decode("name", as: String.self) == "nightly-train")
            #expect(try app.api("POST", "/ingest/soot_prj_notarealtokenxxxxxxxxxxxxxxxxxxxxxxxxxx", token: nil, json: report(duration: 1, energy: 1)).status == 401)
            #expect(try app.api("POST", "/ingest/\(agent.personalToken)", token: nil, json: report(duration: 1, energy: 1)).status == 403)
        }
    }
}

final class Results: @unchecked Sendable {
    // Safety: guarded by `lock`.
    private let lock = NSLock()
    private var storage: [[Int]] = []
    func append(_ value: [Int]) { lock.lock(); storage.append(value); lock.unlock() }
    var values: [[Int]] { lock.lock(); defer { lock.unlock() }; return storage }
}
