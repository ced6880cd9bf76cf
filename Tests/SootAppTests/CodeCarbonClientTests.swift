import Foundation
import Postgres
@testable import SootStore
@testable import SootWeb
import TestSupport
import Testing

/// The real `codecarbon` client from PyPI, unchanged, pointed at a Soot started by the test.
@Suite(.serialized) struct CodeCarbonClientTests {
    @Test func everySampleTheClientPostedIsStoredExactly() throws {
        let venv = try CodeCarbonClient.venv.get()
        try withApp { app in
            let agent = try Agent(app)
            let output = FileManager.default.temporaryDirectory.appendingPathComponent("soot-cc-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: output) }
            let script = TestDatabase.repositoryRoot.appendingPathComponent("Tests/CodeCarbon/track.py").path
            let result = try Shell.run(venv + "/bin/python", [script, "http://127.0.0.1:\(app.port)", agent.projectToken,
                                                              agent.experimentID, output.path])
            #expect(result.status == 0, "\(result.errors.suffix(3000))")
            let report = try #require(JSONValue.parse(Array(result.output.split(separator: "\n").last.map(String.init)?.utf8 ?? "".utf8)),
                                      "no JSON from the client: \(result.output.suffix(2000)) \(result.errors.suffix(2000))")
            let runs = report["runs"]?.arrayValue ?? []
            #expect(runs.count == 1)
            #expect(runs.first?["status"] == 201)
            let runID = try #require(runs.first?["id"]?.stringValue)
            let posts = report["posts"]?.arrayValue ?? []
            let accepted = posts.filter { $0["status"] == 201 }
            #expect(posts.count >= 3, "the client made only \(posts.count) emission posts")
            #expect(accepted.count == posts.count, "statuses: \(posts.map { $0["status"]?.numberValue ?? -1 })")

            // Sample for sample: what was posted and accepted is what is stored.
            let stored = try app.pool.query("""
                SELECT energy_kwh, emissions_kg, duration_seconds, cpu_energy_kwh, ram_energy_kwh FROM emission_samples
                WHERE run_id = \(UUID(uuidString: runID)!) ORDER BY energy_kwh, emissions_kg
                """).rows.map { (try $0.decode("energy_kwh", as: Double.self), try $0.decode("emissions_kg", as: Double.self),
                                 try $0.decode("duration_seconds", as: Double.self)) }
            let sent = accepted.compactMap { post -> (Double, Double, Double)? in
                guard let payload = post["payload"], let energy = payload["energy_consumed"]?.numberValue,
                      let emissions = payload["emissions_sum"]?.numberValue, let duration = payload["duration"]?.numberValue else { return nil }
                return (energy, emissions, duration)
            }.sorted { ($0.0, $0.1) < ($1.0, $1.1) }
            #expect(stored.count == sent.count)
            for (storedSample, sentSample) in zip(stored, sent) {
                #expect(storedSample.0 == sentSample.0 && storedSample.1 == sentSample.1 && storedSample.2 == sentSample.2,
                        "stored \(storedSample) but the client sent \(sentSample)")
            }
            let postedEnergy = sent.reduce(0) { $0 + $1.0 }
            let postedEmissions = sent.reduce(0) { $0 + $1.1 }
            let run = try app.api("GET", "/api/v1/runs/\(runID)", token: agent.personalToken).body
            #expect(run["sample_count"]?.numberValue == Double(sent.count))
            #expect(close(run["energy_kwh"]?.numberValue ?? -1, postedEnergy))
            #expect(close(run["emissions_kg"]?.numberValue ?? -1, postedEmissions))
            let csvEnergy = report["csv_energy"]?.numberValue ?? 0
            let gap = postedEnergy > 0 ? (csvEnergy - postedEnergy) / postedEnergy * 100 : 0
            print("codecarbon \(CodeCarbonClient.version): \(posts.count) emission posts, \(accepted.count) accepted (201); Soot stored \(stored.count) samples, \(postedEnergy) kWh = the sum of the accepted posts; the client's own emissions.csv says \(csvEnergy) kWh (\(String(format: "%+.1f", gap))% — deltas the client never posted)")
        }
    }

    @Test func codecarbonMonitorPostsToSoot() throws {
        let venv = try CodeCarbonClient.venv.get()
        try withApp { app in
            let agent = try Agent(app)
            let script = TestDatabase.repositoryRoot.appendingPathComponent("Tests/CodeCarbon/monitor.sh").path
            let result = try Shell.run(script, [venv + "/bin", "http://127.0.0.1:\(app.port)", agent.projectToken, agent.experimentID, "7"])
            #expect(result.status == 0, "\(result.errors.suffix(2000))")
            let row = try app.pool.query("""
                SELECT count(*) AS runs, coalesce(sum(sample_count), 0) AS samples FROM runs WHERE experiment_id = \(UUID(uuidString: agent.experimentID)!)
                """).first!
            #expect(try row.decode("runs", as: Int.self) == 1)
            let samples = try row.decode("samples", as: Int.self)
            #expect(samples >= 1, "codecarbon monitor posted no sample: \(result.errors.suffix(2000))")
            print("codecarbon monitor: 1 run, \(samples) samples in 7 s")
        }
    }
}
