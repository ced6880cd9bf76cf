import Emissions
import Foundation
import HTTPServer
import SootStore

/// Reports as CSV (RFC 4180) or JSON, for an organization, a team, a project or an experiment over a date range,
/// and a run's samples (the store's `Reports` streams them):
///
///     GET /api/v1/reports/runs.csv?organization=ID&range=30d       one row per run
///     GET /api/v1/reports/summary.csv?team=ID&from=…&to=…          one row per child (by=team|project|experiment)
///     GET /api/v1/runs/{run_id}/samples.csv                        one row per sample
///
/// (`.json` for the same data as a JSON array.) A person's session or personal token, or a project token for its own
/// project. The range is the dashboard's (`range=7d|30d|90d|year|all`, or `from`/`to` days, UTC).
struct ExportRoutes {
    let reports: Reports
    /// The main store, which knows the replica.
    let store: Store
    let capacity: ReportCapacity
    let authenticator: Authenticator

    func register(_ router: inout Router, _ api: inout APIRegistry) {
        let routes = self
        let authed = authenticator.api
        let scopeQuery = ["organization", "team", "project", "experiment", "range", "from", "to"]
        for format in [ReportFormat.csv, .json] {
            api.add(&router, .get, "/api/v1/reports/runs.\(format.rawValue)",
                    summary: "One row per run of an organization, team, project or experiment over a date range (\(format.rawValue), streamed)",
                    tag: "Reports", query: scopeQuery, handler: authed { request, caller in
                        try routes.capacity.limited(caller, request) {
                            let stream = try routes.reading(caller).runs(caller, scope: try routes.scope(request, caller), range: try DashboardRange(request),
                                                                 format: format)
                            return ExportRoutes.response(stream)
                        }
                    })
            api.add(&router, .get, "/api/v1/reports/summary.\(format.rawValue)",
                    summary: "One row per team, project or experiment with totals and equivalents (\(format.rawValue))",
                    tag: "Reports", query: scopeQuery + ["by"], handler: authed { request, caller in
                        try routes.capacity.limited(caller, request) {
                            let scope = try routes.scope(request, caller)
                            let by = try request.query("by").map { text in
                                guard let level = Level(rawValue: text) else {
                                    throw AppError.invalid("by", "by must be team, project or experiment, below the report's scope.")
                                }
                                return level
                            }
                            let file = try routes.reading(caller).summary(caller, scope: scope, by: by,
                                                                  range: try DashboardRange(request), format: format)
                            var response = Response(contentType: file.format.contentType, bytes: file.bytes)
                            ExportRoutes.attach(&response, fileName: file.fileName)
                            return response
                        }
                    })
            api.add(&router, .get, "/api/v1/runs/:run_id/samples.\(format.rawValue)",
                    summary: "Every sample of a run (\(format.rawValue), streamed)", tag: "Reports", handler: authed { request, caller in
                        try routes.capacity.limited(caller, request) {
                            ExportRoutes.response(try routes.reading(caller).samples(caller, runID: try Store.id(request.parameter("run_id")), format: format))
                        }
                    })
        }
    }

    /// The report queries for `caller`: the replica's report connections when it may serve them.
    func reading(_ caller: Caller) -> Reports { store.reportsReading(caller, primary: reports) }

    /// The one of `organization`, `team`, `project` or `experiment` the query names, resolved for the caller.
    func scope(_ request: Request, _ caller: Caller) throws -> ReportScope {
        let levels: [Level] = [.organization, .team, .project, .experiment]
        let given = levels.compactMap { level in request.query(level.rawValue).map { (level, $0) } }
        guard given.count == 1, let (level, text) = given.first else {
            throw AppError.invalid("organization", "Give exactly one of organization, team, project or experiment (an id).")
        }
        guard let id = UUID(uuidString: text) else { throw AppError.invalid(level.rawValue, "\(level.rawValue) must be an id.") }
        return try reports.scope(caller, level: level, id: id)
    }

    /// A streamed report: the connection is held while the client reads, so a slow client slows the query instead
    /// of filling memory. An error after the first byte ends the transfer without its last chunk, so the client
    /// sees a broken download rather than a short file.
    static func response(_ stream: ReportStream) -> Response {
        var response = Response(body: .stream { writer in
            try stream.run(ReportSink(write: { try writer.write($0) }, flush: { try writer.flush() }))
        })
        response.headers.set("Content-Type", stream.format.contentType)
        attach(&response, fileName: stream.fileName)
        response.headers.set("X-Content-Type-Options", "nosniff")
        return response
    }

    static func attach(_ response: inout Response, fileName: String) {
        response.headers.set("Content-Disposition", "attachment; filename=\"\(fileName)\"")
        response.headers.set("Cache-Control", "private, no-store")
    }
}
