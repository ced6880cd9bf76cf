import Emissions
import Foundation
import HTTPServer
import SootStore

/// Soot's own ingestion: a whole run report in one call, and samples in batches, with safe retries.
struct ReportRoutes {
    let store: Store
    let ingest: IngestService
    let authenticator: Authenticator
    static let maximumSamplesPerCall = 1000

    func register(_ router: inout Router, _ api: inout APIRegistry) {
        let store = self.store
        let ingest = self.ingest
        let authed = authenticator.api
        let large = RouteOptions(maximumBodyBytes: 8 * 1024 * 1024)

        api.add(&router, .post, "/api/v1/runs", summary: "Post a run report: where it ran, the machine, start and end, totals and/or samples",
                tag: "Ingestion", request: "RunReport", response: "Run", status: 201, alsoStatus: [200], options: large,
                handler: authed { request, caller in
                    try caller.requireWrite()
                    let body = try JSONBody(request)
                    let report = try RunReport(body)
                    return try Idempotency.perform(ingest, request: request, caller: caller) { transaction in
                        let (created, run) = try ingest.report(
                            transaction, caller, experimentID: report.experimentID, names: report.names, clientRunID: report.clientRunID,
                            startedAt: report.startedAt, endedAt: report.endedAt, machine: report.machine, samples: report.samples)
                        return (created ? .created : .ok, run.json)
                    }
                })

        api.add(&router, .post, "/api/v1/runs/:run_id/samples",
                summary: "Post up to 1,000 samples of a run; a sample's optional id makes retries count once", tag: "Ingestion",
                request: "SampleBatch", response: "SampleBatchResult", status: 201, options: large, handler: authed { request, caller in
                    try caller.requireWrite()
                    let runID = try Store.id(request.parameter("run_id"))
                    let body = try JSONBody(request)
                    guard case .array(let items)? = body.object["samples"] else {
                        throw AppError.invalid("samples", "samples must be an array of samples.")
                    }
                    if items.isEmpty { throw AppError.invalid("samples", "samples must not be empty.") }
                    if items.count > ReportRoutes.maximumSamplesPerCall {
                        throw AppError(.contentTooLarge, code: "too_large", "At most \(ReportRoutes.maximumSamplesPerCall) samples per call.", field: "samples")
                    }
                    let parsed = try ReportRoutes.samples(items)
                    let placement = try ingest.placement(ofRun: runID, for: caller)
                    return try Idempotency.perform(ingest, request: request, caller: caller) { transaction in
                        let written = try ingest.write(transaction, parsed, placement: placement)
                        return (.created, [
                            "run_id": .id(runID),
                            "accepted": .int(written.filter(\.fresh).count),
                            "duplicates": .int(written.filter { !$0.fresh }.count),
                            "sample_ids": .array(written.map { $0.fresh ? .id($0.id) : .null }),
                        ])
                    }
                })
        _ = store
    }

    static func samples(_ items: [JSONValue]) throws -> [(SampleMeasure, String?)] {
        try items.enumerated().map { index, item in
            guard case .object(let object) = item else { throw AppError.invalid("samples[\(index)]", "Each sample must be an object.") }
            return try SampleParsing.sample(JSONBody(object: object), prefix: "samples[\(index)].")
        }
    }
}

/// A run report as posted to `/api/v1/runs`.
struct RunReport {
    let experimentID: UUID?
    let names: ExperimentNames?
    let clientRunID: String?
    let startedAt: Date
    let endedAt: Date?
    let machine: Machine
    /// The samples to write: those posted, or one made from the totals.
    let samples: [(SampleMeasure, String?)]

    init(_ body: JSONBody) throws {
        experimentID = try body.uuid("experiment_id")
        if experimentID == nil {
            let organization = try body.string("organization", maxLength: 200)
            let team = try body.string("team", maxLength: 200)
            let project = try body.string("project", maxLength: 200)
            guard let organization, let team, let project else {
                throw AppError.invalid("experiment_id", "Give experiment_id, or organization, team, project (and experiment) names.")
            }
            names = ExperimentNames(organization: organization, team: team, project: project,
                          experiment: try body.string("experiment", maxLength: 200) ?? "Default")
        } else {
            names = nil
        }
        clientRunID = try body.string("client_run_id", maxLength: 200)
        startedAt = try SampleParsing.timestamp(body, "started_at")!
        endedAt = try SampleParsing.timestamp(body, "ended_at", required: false)
        if let endedAt, endedAt < startedAt { throw AppError.invalid("ended_at", "ended_at must not be before started_at.") }
        if let endedAt, endedAt.timeIntervalSince(startedAt) > Plausibility.maximumRunDuration {
            throw AppError.invalid("ended_at", "A run report may cover at most 366 days.")
        }
        machine = try Machine(body)

        var posted: [(SampleMeasure, String?)] = []
        if let value = body.object["samples"], value != .null {
            guard case .array(let items) = value else { throw AppError.invalid("samples", "samples must be an array.") }
            if items.count > ReportRoutes.maximumSamplesPerCall {
                throw AppError(.contentTooLarge, code: "too_large", "At most \(ReportRoutes.maximumSamplesPerCall) samples per report; post the rest to /api/v1/runs/{id}/samples.", field: "samples")
            }
            posted = try ReportRoutes.samples(items)
        }
        var totals: SampleMeasure?
        if let value = body.object["totals"], value != .null {
            guard case .object(var object) = value else { throw AppError.invalid("totals", "totals must be an object.") }
            object["timestamp"] = .string(ISOTime.format(endedAt ?? startedAt))
            do {
                totals = try SampleParsing.sample(JSONBody(object: object), prefix: "totals.").0
            } catch let error as AppError where error.field == "totals.duration_seconds" && endedAt != nil {
                object["duration_seconds"] = .number(max(1, endedAt!.timeIntervalSince(startedAt)))
                totals = try SampleParsing.sample(JSONBody(object: object), prefix: "totals.").0
            }
            if let total = totals, total.durationSeconds > Plausibility.maximumRunDuration {
                throw AppError.invalid("totals.duration_seconds", "A run report may cover at most 366 days.")
            }
        }
        if let totals, !posted.isEmpty {
            // Both given: they must agree, or the dashboard would disagree with the agent.
            func close(_ a: Double, _ b: Double) -> Bool { abs(a - b) <= 1e-9 * max(1, abs(a), abs(b)) }
            let sum = posted.reduce(into: (0.0, 0.0)) { $0.0 += $1.0.energyKWh; $0.1 += $1.0.emissionsKg }
            if !close(sum.0, totals.energyKWh) { throw AppError.invalid("totals.energy_kwh", "totals.energy_kwh is not the sum of the samples' energy_kwh.") }
            if !close(sum.1, totals.emissionsKg) { throw AppError.invalid("totals.emissions_kg", "totals.emissions_kg is not the sum of the samples' emissions_kg.") }
            samples = posted
        } else if let totals {
            samples = [(totals, "totals")]
        } else {
            samples = posted
        }
    }
}
