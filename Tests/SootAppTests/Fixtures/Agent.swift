import Foundation
import HTTPServer
import Postgres
@testable import SootStore
@testable import SootWeb
import TestSupport
import Testing

/// The ids and tokens `soot bootstrap` gives, for ingestion tests.
struct Agent {
    let experimentID: String
    let projectID: String
    let organizationID: String
    let projectToken: String
    let personalToken: String

    init(_ app: AppFixture, organization: String = "Acme", project: String = "Vision") throws {
        let boot = try Bootstrap.run(app.pool, .init(organization: organization, team: "ML", project: project, experiment: "Default",
                                                     email: Agent.email(organization)))
        experimentID = boot["experiment_id"]!.stringValue!
        projectID = boot["project_id"]!.stringValue!
        organizationID = boot["organization_id"]!.stringValue!
        projectToken = boot["project_token"]!.stringValue!
        personalToken = boot["personal_token"]!.stringValue!
    }

    var header: [(String, String)] { [("x-api-token", projectToken)] }

    static func email(_ organization: String) -> String {
        "agent@" + String(organization.lowercased().filter { $0.isLetter && $0.isASCII }) + ".test"
    }
}

func runCreate(_ experimentID: String, timestamp: String = ISOTime.format(Date())) -> JSONValue {
    [
        "timestamp": .string(timestamp), "experiment_id": .string(experimentID), "os": "Linux-6.1-x86_64", "python_version": "3.11.7",
        "codecarbon_version": "3.3.2", "cpu_count": 2, "cpu_model": "AMD EPYC", "gpu_count": .null, "gpu_model": .null,
        "longitude": 2.3, "latitude": 48.9, "region": "ile-de-france", "provider": .null, "ram_total_size": 23.4, "tracking_mode": "machine",
    ]
}

func emission(_ runID: String, energy: Double, emissions: Double, duration: Int = 3, timestamp: Date = Date()) -> JSONValue {
    [
        "timestamp": .string(ISOTime.format(timestamp)), "run_id": .string(runID), "duration": .number(Double(duration)),
        "emissions_sum": .number(emissions), "emissions_rate": .number(emissions / Double(duration)), "cpu_power": 42.5, "gpu_power": 0,
        "ram_power": 8.8, "cpu_energy": .number(energy * 0.8), "gpu_energy": 0, "ram_energy": .number(energy * 0.2),
        "energy_consumed": .number(energy), "cpu_utilization_percent": 37.5, "gpu_utilization_percent": .null,
        "ram_utilization_percent": 40.1, "wue": 0,
    ]
}

/// Sums of the samples as the database computes them.
func sampleSums(_ pool: ConnectionPool, run: String) throws -> (count: Int, energy: Double, emissions: Double) {
    let row = try pool.query("""
        SELECT count(*) AS n, coalesce(sum(energy_kwh), 0) AS e, coalesce(sum(emissions_kg), 0) AS c FROM emission_samples WHERE run_id = \(UUID(uuidString: run)!)
        """).first!
    return (try row.decode("n"), try row.decode("e"), try row.decode("c"))
}

func close(_ a: Double, _ b: Double) -> Bool { abs(a - b) <= 1e-12 * max(1, abs(a), abs(b)) }

