import Emissions
import Foundation
import HTTPServer
import SootStore

/// CodeCarbon's REST protocol, at the root and under `/api`, with CodeCarbon's JSON shapes and `{"detail": ...}`
/// errors. A CodeCarbon organization is a Soot organization; a CodeCarbon project is a Soot project in the
/// organization's CodeCarbon team (see `codecarbonTeam`).
struct CodeCarbonRoutes {
    let store: Store
    let ingest: IngestService
    let authenticator: Authenticator

    /// Registers `path` at the root and under `/api`.
    func both(_ router: inout Router, _ method: HTTPMethod, _ path: String, options: RouteOptions = .default,
              _ body: @escaping @Sendable (Request, Caller) throws -> Response) {
        let handler: Handler = { [authenticator] request in
            let caller = try authenticator.authenticate(request)
            guard caller.isAuthenticated else {
                var error = AppError.unauthorized("Not authenticated: send x-api-token or Authorization: Bearer.")
                error.challenge = "Bearer realm=\"soot\""
                throw error
            }
            var response = try body(request, caller)
            response.note(caller)
            return response
        }
        router.on(method, path, options: options, handler)
        router.on(method, "/api" + path, options: options, handler)
    }

    func register(_ router: inout Router) {
        let store = self.store
        let ingest = self.ingest

        // The tracker's two calls.
        both(&router, .post, "/runs") { request, caller in
            let body = try JSONBody(request)
            let experimentID = try body.uuid("experiment_id", required: true)!
            let started = try SampleParsing.timestamp(body, "timestamp")!
            let machine = try Machine(body)
            let run = try ingest.createRun(caller, experimentID: experimentID, startedAt: started, machine: machine, source: "codecarbon")
            return .json(CodeCarbonShapes.run(run), status: .created)
        }
        // The hot path runs on the event loop when the token and the run are cached, and answers after the
        // group commit without holding a thread; otherwise it moves itself to a worker.
        let authenticator = self.authenticator
        let emissions: Handler = { request in
            let caller: Caller
            if request.onEventLoop {
                guard let cached = authenticator.cachedCaller(request) else { throw OffloadToWorker() }
                caller = cached
            } else {
                caller = try authenticator.authenticate(request)
            }
            guard caller.isAuthenticated else { throw AppError.unauthorized("Not authenticated: send x-api-token or Authorization: Bearer.") }
            try caller.requireWrite()
            let body = try JSONSlots(request, keys: SampleParsing.codeCarbonEmissionKeys)
            let runID = try body.uuid("run_id", required: true)!
            let measure = try SampleParsing.codeCarbonEmission(body)
            let placement: RunPlacement
            if request.onEventLoop {
                guard let cached = ingest.cachedPlacement(ofRun: runID, for: caller) else { throw OffloadToWorker() }
                placement = cached
            } else {
                placement = try ingest.placement(ofRun: runID, for: caller)
            }
            return ingest.acceptLater(measure, placement: placement, request: request, caller: caller)
        }
        router.post("/emissions", options: .inline, emissions)
        router.post("/api/emissions", options: .inline, emissions)

        // Reads and management used by the codecarbon CLI (Authorization: Bearer).
        both(&router, .get, "/auth/check") { _, caller in
            let user = try caller.requireUser()
            let me = try store.me(caller)
            let organizations = try store.organizationIDs(ofUser: user).map { JSONValue.id($0) }
            return .json(["id": .id(me.id), "name": .string(me.name), "email": .string(me.email), "organizations": .array(organizations),
                          "is_active": true])
        }
        both(&router, .get, "/organizations") { _, caller in
            let list = try store.listOrganizations(caller, page: Page(limit: 1000, offset: 0))
            return .json(.array(list.items.map { CodeCarbonShapes.organization($0.json) }))
        }
        both(&router, .post, "/organizations") { request, caller in
            let body = try JSONBody(request)
            let created = try store.createOrganization(caller, name: try Naming.name(body)!, description: try Naming.description(body) ?? "")
            return .json(CodeCarbonShapes.organization(created.json), status: .created)
        }
        both(&router, .get, "/organizations/:organization_id") { request, caller in
            .json(CodeCarbonShapes.organization(try store.organization(caller, id: try Store.id(request.parameter("organization_id"))).json))
        }
        both(&router, .patch, "/organizations/:organization_id") { request, caller in
            let body = try JSONBody(request)
            return .json(CodeCarbonShapes.organization(try store.updateOrganization(
                caller, id: try Store.id(request.parameter("organization_id")), name: try Naming.name(body, required: false),
                description: try Naming.description(body)).json))
        }
        both(&router, .get, "/organizations/:organization_id/projects") { request, caller in
            let organizationID = try Store.id(request.parameter("organization_id"))
            _ = try store.organization(caller, id: organizationID)
            return .json(.array(try store.projects(caller, organizationID: organizationID).map { CodeCarbonShapes.project($0.json) }))
        }
        both(&router, .get, "/organizations/:organization_id/sums") { request, caller in
            let organizationID = try Store.id(request.parameter("organization_id"))
            let organization = try store.organization(caller, id: organizationID)
            let sums = try store.daySums(caller, level: .organization, id: organizationID, range: try SumsReport.range(request))
            return .json(SumsReport.report(sums, extra: [
                "organization_id": .id(organization.id), "name": .string(organization.name), "description": .string(organization.description),
            ]))
        }
        both(&router, .post, "/projects") { request, caller in
            let body = try JSONBody(request)
            let organizationID = try body.uuid("organization_id", required: true)!
            let teamID = try store.codecarbonTeam(caller, organizationID: organizationID)
            let project = try store.createProject(caller, teamID: teamID, name: try Naming.name(body)!,
                                                  description: try Naming.description(body) ?? "")
            return .json(CodeCarbonShapes.project(project.json), status: .created)
        }
        both(&router, .get, "/projects/:project_id") { request, caller in
            .json(CodeCarbonShapes.project(try store.project(caller, id: try Store.id(request.parameter("project_id"))).json))
        }
        both(&router, .get, "/projects/:project_id/experiments") { request, caller in
            let list = try store.listExperiments(caller, projectID: try Store.id(request.parameter("project_id")), page: Page(limit: 200, offset: 0))
            return .json(.array(list.items.map { CodeCarbonShapes.experiment($0.json) }))
        }
        both(&router, .get, "/projects/:project_id/sums") { request, caller in
            let projectID = try Store.id(request.parameter("project_id"))
            let project = try store.project(caller, id: projectID)
            let sums = try store.daySums(caller, level: .project, id: projectID, range: try SumsReport.range(request))
            return .json(SumsReport.report(sums, extra: [
                "project_id": .id(project.id), "name": .string(project.name), "description": .string(project.description),
                "organization_id": .id(project.organizationID),
            ]))
        }
        both(&router, .get, "/projects/:project_id/experiments/sums") { request, caller in
            let projectID = try Store.id(request.parameter("project_id"))
            _ = try store.project(caller, id: projectID)
            return .json(.array(try SumsReport.experiments(store.experimentSums(caller, projectID: projectID, range: try SumsReport.range(request)))))
        }
        both(&router, .post, "/projects/:project_id/api-tokens") { request, caller in
            let body = try JSONBody(request)
            let name = try Naming.name(body, required: false) ?? "api token"
            let access = try body.int("access", range: 1...3) ?? 2
            let (token, secret) = try store.createProjectToken(caller, projectID: try Store.id(request.parameter("project_id")),
                                                               name: name, scope: access == 1 ? "read" : "write", expiresInDays: nil)
            return .json(CodeCarbonShapes.projectToken(token.json, secret: secret), status: .created)
        }
        both(&router, .get, "/projects/:project_id/api-tokens") { request, caller in
            let list = try store.listProjectTokens(caller, projectID: try Store.id(request.parameter("project_id")), page: Page(limit: 200, offset: 0))
            return .json(.array(list.items.map { CodeCarbonShapes.projectToken($0.json, secret: nil) }))
        }
        both(&router, .post, "/experiments") { request, caller in
            let body = try JSONBody(request)
            let projectID = try body.uuid("project_id", required: true)!
            let fields = try Store.ExperimentFields(body, creating: true)
            return .json(CodeCarbonShapes.experiment(try store.createExperiment(caller, projectID: projectID, fields: fields).json), status: .created)
        }
        both(&router, .get, "/experiments/:experiment_id") { request, caller in
            .json(CodeCarbonShapes.experiment(try store.experiment(caller, id: try Store.id(request.parameter("experiment_id"))).json))
        }
        both(&router, .get, "/experiments/:experiment_id/runs/sums") { request, caller in
            let experimentID = try Store.id(request.parameter("experiment_id"))
            _ = try store.experiment(caller, id: experimentID)
            return .json(.array(try store.runs(caller, experimentID: experimentID, startedIn: try SumsReport.range(request)).map(SumsReport.run)))
        }
        both(&router, .get, "/runs/:run_id") { request, caller in
            let runID = try Store.id(request.parameter("run_id"))
            return .json(CodeCarbonShapes.run(try store.run(caller, id: runID)))
        }
        both(&router, .get, "/runs/:run_id/emissions") { request, caller in
            let runID = try Store.id(request.parameter("run_id"))
            _ = try store.run(caller, id: runID)
            // page × size stays at most 10^9: no arithmetic on them can overflow.
            let page = try request.integerQuery("page", in: 1...100_000, default: 1)
            let size = try request.integerQuery("size", in: 1...10_000, default: 1000)
            let (rows, total) = try store.samples(ofRun: runID, limit: size, offset: (page - 1) * size)
            return .json([
                "items": .array(rows.map(CodeCarbonShapes.emission)),
                "total": .int(total), "page": .int(page), "size": .int(size), "pages": .int((total + size - 1) / size),
            ])
        }
        both(&router, .get, "/lastrun/project/:project_id") { request, caller in
            let projectID = try Store.id(request.parameter("project_id"))
            _ = try store.project(caller, id: projectID)
            guard let run = try store.lastRun(caller, projectID: projectID) else { throw AppError.notFound("This project has no run yet.") }
            return .json(CodeCarbonShapes.run(run))
        }
    }
}

/// CodeCarbon's JSON shapes, from Soot's representations.
enum CodeCarbonShapes {
    static func organization(_ value: JSONValue) -> JSONValue {
        ["id": value["id"] ?? .null, "name": value["name"] ?? .null, "description": value["description"] ?? .null]
    }

    static func project(_ value: JSONValue) -> JSONValue {
        ["id": value["id"] ?? .null, "name": value["name"] ?? .null, "description": value["description"] ?? .null,
         "organization_id": value["organization_id"] ?? .null, "team_id": value["team_id"] ?? .null, "experiments": []]
    }

    static func experiment(_ value: JSONValue) -> JSONValue {
        var object: [String: JSONValue] = [:]
        for key in ["id", "timestamp", "name", "description", "country_name", "country_iso_code", "region", "on_cloud",
                    "cloud_provider", "cloud_region", "project_id"] {
            object[key] = value[key] ?? .null
        }
        return .object(object)
    }

    static func run(_ run: RunRecord) -> JSONValue {
        let full = run.json
        var object: [String: JSONValue] = ["timestamp": full["started_at"] ?? .null]
        for key in ["id", "experiment_id", "os", "python_version", "codecarbon_version", "cpu_count", "cpu_model", "gpu_count",
                    "gpu_model", "longitude", "latitude", "region", "provider", "ram_total_size", "tracking_mode"] {
            object[key] = full[key] ?? .null
        }
        return .object(object)
    }

    static func emission(_ sample: SampleRow) -> JSONValue {
        [
            "id": .id(sample.id),
            "run_id": .id(sample.runID),
            "timestamp": .date(sample.timestamp),
            "duration": .number(sample.durationSeconds),
            "emissions_sum": .number(sample.emissionsKg),
            "emissions_rate": .number(sample.emissionsRate),
            "cpu_power": .number(sample.cpuPowerW),
            "gpu_power": .number(sample.gpuPowerW),
            "ram_power": .number(sample.ramPowerW),
            "cpu_energy": .number(sample.cpuEnergyKWh),
            "gpu_energy": .number(sample.gpuEnergyKWh),
            "ram_energy": .number(sample.ramEnergyKWh),
            "energy_consumed": .number(sample.energyKWh),
            "cpu_utilization_percent": .number(sample.cpuUtilization),
            "gpu_utilization_percent": .number(sample.gpuUtilization),
            "ram_utilization_percent": .number(sample.ramUtilization),
        ]
    }

    static func projectToken(_ value: JSONValue, secret: String?) -> JSONValue {
        [
            "id": value["id"] ?? .null, "project_id": value["project_id"] ?? .null, "name": value["name"] ?? .null,
            "token": .text(secret), "last_used": value["last_used_at"] ?? .null,
            "access": value["scope"] == "read" ? 1 : 2, "revoked": .bool(value["revoked_at"] != .null),
        ]
    }
}

/// Sums in CodeCarbon's report shapes (the store's `daySums`, `experimentSums`, runs' own totals).
enum SumsReport {
    /// `start_date` / `end_date` (CodeCarbon's names), or `from` / `to`.
    static func range(_ request: Request) throws -> DateRange {
        func parse(_ key: String) throws -> Date? {
            guard let text = request.query(key), !text.isEmpty else { return nil }
            if let date = ISOTime.parse(text) ?? ISOTime.parse(text + "T00:00:00Z") { return date }
            throw AppError.invalid(key, "\(key) must be an ISO 8601 date or timestamp.")
        }
        let from = try parse("start_date") ?? parse("from")
        let to = try parse("end_date") ?? parse("to")
        return DateRange(from: from, to: to)
    }

    /// Sums plus average powers (W) and emissions rate (kg/s) derived from them.
    static func report(_ totals: Sums, extra: [String: JSONValue]) -> JSONValue {
        func power(_ kwh: Double) -> Double { totals.duration > 0 ? kwh * 3_600_000 / totals.duration : 0 }
        var object = extra
        object["emissions"] = .number(totals.emissions)
        object["energy_consumed"] = .number(totals.energy)
        object["cpu_energy"] = .number(totals.cpu)
        object["gpu_energy"] = .number(totals.gpu)
        object["ram_energy"] = .number(totals.ram)
        object["cpu_power"] = .number(power(totals.cpu))
        object["gpu_power"] = .number(power(totals.gpu))
        object["ram_power"] = .number(power(totals.ram))
        object["duration"] = .number(totals.duration.rounded())
        object["emissions_rate"] = .number(totals.duration > 0 ? totals.emissions / totals.duration : 0)
        object["emissions_count"] = .int(totals.count)
        return .object(object)
    }

    static func experiments(_ rows: [(ExperimentRecord, Sums)]) -> [JSONValue] {
        rows.map { experimentRecord, sums in
            let experiment = experimentRecord.json
            var extra: [String: JSONValue] = ["experiment_id": experiment["id"]!]
            for key in ["timestamp", "name", "description", "country_name", "country_iso_code", "region", "on_cloud",
                        "cloud_provider", "cloud_region", "project_id"] {
                extra[key] = experiment[key] ?? .null
            }
            return report(sums, extra: extra)
        }
    }

    static func run(_ run: RunRecord) -> JSONValue {
        guard case .object(var extra) = CodeCarbonShapes.run(run) else { return .null }
        extra["run_id"] = extra["id"]
        extra.removeValue(forKey: "id")
        return report(Sums(run), extra: extra)
    }
}
