import Emissions
import Foundation
import HTTPServer
import Postgres

/// CodeCarbon's `emissions_endpoint` output: one POST of the cumulative report (no auth header) at each flush
/// and at stop, to a per-project URL `/ingest/{project token}`. The report replaces the run's totals: the
/// difference from what is stored becomes one sample, so totals stay sums of samples and a repeated report
/// adds nothing. The token in the path is redacted from the access log.
struct EmissionsEndpointRoutes {
    let ingest: IngestService
    let authenticator: Authenticator

    func register(_ router: inout Router, _ api: inout APIRegistry) {
        let handler: Handler = { [ingest, authenticator] request in
            let caller = try authenticator.callerForToken(request.parameter("token") ?? "")
            guard case .project(let projectID, _, _) = caller.identity else {
                throw AppError.forbidden("This address needs a project ingest token (soot_prj_...).")
            }
            try caller.requireWrite()
            let body = try JSONBody(request)
            return try EmissionsEndpointRoutes.record(body, caller: caller, projectID: projectID, ingest: ingest)
        }
        router.post("/ingest/:token", handler)
        router.post("/ingest/:token/emissions", handler)
        _ = api
    }

    static func record(_ body: JSONBody, caller: Caller, projectID: UUID, ingest: IngestService) throws -> Response {
        let runKey = try body.string("run_id", required: true, maxLength: 200)!
        let timestamp = try SampleParsing.timestamp(body, "timestamp")!
        guard let duration = try body.double("duration", required: true, range: 0...Plausibility.maximumRunDuration) else {
            throw AppError.invalid("duration", "duration is required.")
        }
        func amount(_ key: String, _ maximum: Double) throws -> Double { try body.double(key, range: 0...maximum) ?? 0 }
        let cumulative = SampleMeasure(
            timestamp: timestamp.timeIntervalSince1970, durationSeconds: duration,
            emissionsKg: try amount("emissions", Plausibility.maximumEmissionsKg),
            emissionsRate: try body.double("emissions_rate", range: 0...Plausibility.maximumEmissionsRate),
            cpuPowerW: try body.double("cpu_power", range: 0...Plausibility.maximumPowerW),
            gpuPowerW: try body.double("gpu_power", range: 0...Plausibility.maximumPowerW),
            ramPowerW: try body.double("ram_power", range: 0...Plausibility.maximumPowerW),
            cpuEnergyKWh: try amount("cpu_energy", Plausibility.maximumEnergyKWh),
            gpuEnergyKWh: try amount("gpu_energy", Plausibility.maximumEnergyKWh),
            ramEnergyKWh: try amount("ram_energy", Plausibility.maximumEnergyKWh),
            energyKWh: try amount("energy_consumed", Plausibility.maximumEnergyKWh),
            cpuUtilization: try body.double("cpu_utilization_percent", range: 0...100_000),
            gpuUtilization: try body.double("gpu_utilization_percent", range: 0...100_000),
            ramUtilization: try body.double("ram_utilization_percent", range: 0...100_000),
            waterLiters: try amount("water_consumed", Plausibility.maximumWaterLiters))
        let machine = try SampleParsing.Machine(body)
        let experimentKey = try body.string("experiment_id", maxLength: 200)
        let projectName = try body.string("project_name", maxLength: 200) ?? "emissions endpoint"

        let runID = try ingest.database.transaction { connection -> UUID in
            // Serialise reports of the same run (a flush and a stop may race).
            try connection.query("SELECT pg_advisory_xact_lock(hashtext(\(projectID.uuidString + runKey)))")
            var experimentID: UUID?
            if let key = experimentKey, let id = UUID(uuidString: key) {
                experimentID = try connection.query("SELECT id FROM experiments WHERE id = \(id) AND project_id = \(projectID)").first?.decode("id")
            }
            if experimentID == nil {
                experimentID = try connection.query("""
                    INSERT INTO experiments (organization_id, team_id, project_id, name)
                    SELECT organization_id, team_id, id, \(projectName) FROM projects WHERE id = \(projectID)
                    ON CONFLICT (project_id, name) DO UPDATE SET name = excluded.name
                    RETURNING id
                    """).first!.decode("id")
            }
            let existing = try connection.query("""
                SELECT \(unsafeSQL: Representation.runColumns) FROM runs r
                WHERE r.experiment_id = \(experimentID!) AND r.client_key = \(runKey) FOR UPDATE
                """).first
            let row = try existing ?? IngestService.createRun(
                connection, caller: caller, experimentID: experimentID!,
                startedAt: timestamp.addingTimeInterval(-duration), endedAt: timestamp, machine: machine,
                source: "codecarbon", clientKey: runKey)
            let placement = try IngestService.placement(of: row)
            func stored(_ column: String) throws -> Double { try row.decode(column, as: Double.self) }
            let delta = SampleMeasure(
                timestamp: cumulative.timestamp,
                durationSeconds: max(0, cumulative.durationSeconds - (try stored("duration_seconds"))),
                emissionsKg: max(0, cumulative.emissionsKg - (try stored("emissions_kg"))),
                emissionsRate: cumulative.emissionsRate, cpuPowerW: cumulative.cpuPowerW, gpuPowerW: cumulative.gpuPowerW,
                ramPowerW: cumulative.ramPowerW,
                cpuEnergyKWh: max(0, cumulative.cpuEnergyKWh - (try stored("cpu_energy_kwh"))),
                gpuEnergyKWh: max(0, cumulative.gpuEnergyKWh - (try stored("gpu_energy_kwh"))),
                ramEnergyKWh: max(0, cumulative.ramEnergyKWh - (try stored("ram_energy_kwh"))),
                energyKWh: max(0, cumulative.energyKWh - (try stored("energy_kwh"))),
                cpuUtilization: cumulative.cpuUtilization, gpuUtilization: cumulative.gpuUtilization,
                ramUtilization: cumulative.ramUtilization,
                waterLiters: max(0, cumulative.waterLiters - (try stored("water_liters"))))
            if delta.durationSeconds > 0 || delta.energyKWh > 0 || delta.emissionsKg > 0 {
                _ = try SampleWriter.write(connection, [SampleRecord(placement: placement, measure: delta, clientKey: nil)])
            }
            try connection.query("""
                UPDATE runs SET ended_at = greatest(coalesce(ended_at, \(timestamp)), \(timestamp)),
                    os = coalesce(os, \(machine.os)), python_version = coalesce(python_version, \(machine.pythonVersion)),
                    codecarbon_version = coalesce(codecarbon_version, \(machine.codecarbonVersion)),
                    country_name = coalesce(country_name, \(machine.countryName)),
                    country_iso_code = coalesce(country_iso_code, \(machine.countryISOCode)),
                    cloud_provider = coalesce(cloud_provider, \(machine.cloudProvider)), cloud_region = coalesce(cloud_region, \(machine.cloudRegion))
                WHERE id = \(placement.runID)
                """)
            return placement.runID
        }
        return .json(["id": .id(runID)], status: .created)
    }
}
