import Emissions
import Foundation
import HTTPServer
import SootStore

/// CodeCarbon's `emissions_endpoint` output: one POST of the cumulative report (no auth header) at each flush
/// and at stop, to a per-project URL `/ingest/{project token}`. The report replaces the run's totals: the
/// difference from what is stored becomes one sample, so totals stay sums of samples and a repeated report
/// adds nothing. The token in the path is redacted from the access log.
struct EmissionsEndpointRoutes {
    let ingest: IngestService
    let authenticator: Authenticator

    func register(_ router: inout Router, _ api: inout APIRegistry) {
        let handler: Handler = { [ingest, authenticator] request in
            let caller = authenticator.withOrigin(try authenticator.callerForToken(request.parameter("token") ?? ""), request)
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
        let machine = try Machine(body)
        let experimentKey = try body.string("experiment_id", maxLength: 200)
        let projectName = try body.string("project_name", maxLength: 200) ?? "emissions endpoint"

        let runID = try ingest.recordCumulative(caller, projectID: projectID, runKey: runKey, experimentKey: experimentKey,
                                                projectName: projectName, cumulative: cumulative, timestamp: timestamp, machine: machine)
        return .json(["id": .id(runID)], status: .created)
    }
}
