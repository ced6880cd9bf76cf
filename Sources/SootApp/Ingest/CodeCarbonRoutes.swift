import Emissions
import Foundation
import HTTPServer
import Postgres

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
                error.headers.set("WWW-Authenticate", "Bearer realm=\"soot\"")
                throw error
            }
            return try body(request, caller)
        }
        router.on(method, path, options: options, handler)
        router.on(method, "/api" + path, options: options, handler)
    }

    func register(_ router: inout Router) {
        let store = self.store
        let ingest = self.ingest
        let database = store.database

        // The tracker's two calls.
        both(&router, .post, "/runs") { request, caller in
            let body = try JSONBody(request)
            let experimentID = try body.uuid("experiment_id", required: true)!
            let started = try SampleParsing.timestamp(body, "timestamp")!
            let machine = try SampleParsing.Machine(body)
            let row = try database.withConnection { connection in
                try IngestService.createRun(connection, caller: caller, experimentID: experimentID, startedAt: started,
                                     machine: machine, source: "codecarbon", clientKey: nil)
            }
            return .json(try CodeCarbonShapes.run(row), status: .created)
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
            return ingest.acceptLater(measure, placement: placement, request: request)
        }
        router.post("/emissions", options: .inline, emissions)
        router.post("/api/emissions", options: .inline, emissions)

        // Reads and management used by the codecarbon CLI (Authorization: Bearer).
        both(&router, .get, "/auth/check") { _, caller in
            let user = try caller.requireUser()
            let me = try store.me(caller)
            let organizations = try database.query("SELECT organization_id FROM organization_members WHERE user_id = \(user)").rows
                .map { JSONValue.id(try $0.decode("organization_id", as: UUID.self)) }
            return .json(["id": me["id"]!, "name": me["name"]!, "email": me["email"]!, "organizations": .array(organizations),
                          "is_active": true])
        }
        both(&router, .get, "/organizations") { _, caller in
            let list = try store.listOrganizations(caller, page: Page(limit: 1000, offset: 0))
            return .json(.array(list.items.map(CodeCarbonShapes.organization)))
        }
        both(&router, .post, "/organizations") { request, caller in
            let body = try JSONBody(request)
            let created = try store.createOrganization(caller, name: try Naming.name(body)!, description: try Naming.description(body) ?? "")
            return .json(CodeCarbonShapes.organization(created), status: .created)
        }
        both(&router, .get, "/organizations/:organization_id") { request, caller in
            .json(CodeCarbonShapes.organization(try store.organization(caller, id: try Store.id(request.parameter("organization_id")))))
        }
        both(&router, .patch, "/organizations/:organization_id") { request, caller in
            let body = try JSONBody(request)
            return .json(CodeCarbonShapes.organization(try store.updateOrganization(
                caller, id: try Store.id(request.parameter("organization_id")), name: try Naming.name(body, required: false),
                description: try Naming.description(body))))
        }
        both(&router, .get, "/organizations/:organization_id/projects") { request, caller in
            let organizationID = try Store.id(request.parameter("organization_id"))
            _ = try store.organization(caller, id: organizationID)
            let rows = try database.query("""
                SELECT p.* FROM projects p WHERE p.organization_id = \(organizationID) AND \(Store.projectAccess(caller))
                ORDER BY p.name, p.id
                """).rows
            return .json(.array(try rows.map { CodeCarbonShapes.project(try Representation.project($0)) }))
        }
        both(&router, .get, "/organizations/:organization_id/sums") { request, caller in
            let organizationID = try Store.id(request.parameter("organization_id"))
            let organization = try store.organization(caller, id: organizationID)
            let sums = try Sums.days(database, caller: caller, column: "organization_id", id: organizationID, range: try Sums.range(request))
            return .json(Sums.report(sums, extra: [
                "organization_id": organization["id"]!, "name": organization["name"]!, "description": organization["description"]!,
            ]))
        }
        both(&router, .post, "/projects") { request, caller in
            let body = try JSONBody(request)
            let organizationID = try body.uuid("organization_id", required: true)!
            let teamID = try CodeCarbonRoutes.codecarbonTeam(database, caller: caller, organizationID: organizationID)
            let project = try store.createProject(caller, teamID: teamID, name: try Naming.name(body)!,
                                                  description: try Naming.description(body) ?? "")
            return .json(CodeCarbonShapes.project(project), status: .created)
        }
        both(&router, .get, "/projects/:project_id") { request, caller in
            .json(CodeCarbonShapes.project(try store.project(caller, id: try Store.id(request.parameter("project_id")))))
        }
        both(&router, .get, "/projects/:project_id/experiments") { request, caller in
            let list = try store.listExperiments(caller, projectID: try Store.id(request.parameter("project_id")), page: Page(limit: 200, offset: 0))
            return .json(.array(list.items.map(CodeCarbonShapes.experiment)))
        }
        both(&router, .get, "/projects/:project_id/sums") { request, caller in
            let projectID = try Store.id(request.parameter("project_id"))
            let project = try store.project(caller, id: projectID)
            let sums = try Sums.days(database, caller: caller, column: "project_id", id: projectID, range: try Sums.range(request))
            return .json(Sums.report(sums, extra: [
                "project_id": project["id"]!, "name": project["name"]!, "description": project["description"]!,
                "organization_id": project["organization_id"]!,
            ]))
        }
        both(&router, .get, "/projects/:project_id/experiments/sums") { request, caller in
            let projectID = try Store.id(request.parameter("project_id"))
            _ = try store.project(caller, id: projectID)
            return .json(.array(try Sums.experiments(database, caller: caller, projectID: projectID, range: try Sums.range(request))))
        }
        both(&router, .post, "/projects/:project_id/api-tokens") { request, caller in
            let body = try JSONBody(request)
            let name = try Naming.name(body, required: false) ?? "api token"
            let access = try body.int("access", range: 1...3) ?? 2
            let (token, secret) = try store.createProjectToken(caller, projectID: try Store.id(request.parameter("project_id")),
                                                               name: name, scope: access == 1 ? "read" : "write", expiresInDays: nil)
            return .json(CodeCarbonShapes.projectToken(token, secret: secret), status: .created)
        }
        both(&router, .get, "/projects/:project_id/api-tokens") { request, caller in
            let list = try store.listProjectTokens(caller, projectID: try Store.id(request.parameter("project_id")), page: Page(limit: 200, offset: 0))
            return .json(.array(list.items.map { CodeCarbonShapes.projectToken($0, secret: nil) }))
        }
        both(&router, .post, "/experiments") { request, caller in
            let body = try JSONBody(request)
            let projectID = try body.uuid("project_id", required: true)!
            let fields = try Store.ExperimentFields(body, creating: true)
            return .json(CodeCarbonShapes.experiment(try store.createExperiment(caller, projectID: projectID, fields: fields)), status: .created)
        }
        both(&router, .get, "/experiments/:experiment_id") { request, caller in
            .json(CodeCarbonShapes.experiment(try store.experiment(caller, id: try Store.id(request.parameter("experiment_id")))))
        }
        both(&router, .get, "/experiments/:experiment_id/runs/sums") { request, caller in
            let experimentID = try Store.id(request.parameter("experiment_id"))
            _ = try store.experiment(caller, id: experimentID)
            return .json(.array(try Sums.runs(database, caller: caller, experimentID: experimentID, range: try Sums.range(request))))
        }
        both(&router, .get, "/runs/:run_id") { request, caller in
            let runID = try Store.id(request.parameter("run_id"))
            guard let row = try database.query("""
                SELECT \(unsafeSQL: Representation.runColumns) FROM runs r
                WHERE r.id = \(runID) AND \(Store.projectAccess(caller, "r", idColumn: "project_id"))
                """).first else { throw AppError.notFound("No such run.") }
            return .json(try CodeCarbonShapes.run(row))
        }
        both(&router, .get, "/runs/:run_id/emissions") { request, caller in
            let runID = try Store.id(request.parameter("run_id"))
            _ = try store.run(caller, id: runID)
            // page × size stays at most 10^9: no arithmetic on them can overflow.
            let page = try request.integerQuery("page", in: 1...100_000, default: 1)
            let size = try request.integerQuery("size", in: 1...10_000, default: 1000)
            let rows = try database.query("""
                SELECT s.*, count(*) OVER () AS total FROM emission_samples s WHERE s.run_id = \(runID)
                ORDER BY s."timestamp", s.id LIMIT \(size) OFFSET \((page - 1) * size)
                """).rows
            let total = try rows.first?.decode("total", as: Int.self)
                ?? (try database.query("SELECT count(*) AS n FROM emission_samples WHERE run_id = \(runID)").first!.decode("n", as: Int.self))
            return .json([
                "items": .array(try rows.map(CodeCarbonShapes.emission)),
                "total": .int(total), "page": .int(page), "size": .int(size), "pages": .int((total + size - 1) / size),
            ])
        }
        both(&router, .get, "/lastrun/project/:project_id") { request, caller in
            let projectID = try Store.id(request.parameter("project_id"))
            _ = try store.project(caller, id: projectID)
            guard let row = try database.query("""
                SELECT \(unsafeSQL: Representation.runColumns) FROM runs r
                WHERE r.project_id = \(projectID) AND \(Store.projectAccess(caller, "r", idColumn: "project_id"))
                ORDER BY r.started_at DESC LIMIT 1
                """).first else { throw AppError.notFound("This project has no run yet.") }
            return .json(try CodeCarbonShapes.run(row))
        }
    }

    /// The team that holds a CodeCarbon organization's projects: the one chosen in the organization's settings
    /// (`codecarbon_team_id`), else the team named "CodeCarbon", created on first use by an owner or admin.
    static func codecarbonTeam(_ database: ConnectionPool, caller: Caller, organizationID: UUID) throws -> UUID {
        guard caller.userID != nil else { throw AppError.notFound("No such organization.") }
        guard try database.query("""
            SELECT 1 FROM organizations o WHERE o.id = \(organizationID) AND \(Access.organizationMember(caller, organizationColumn: "o.id"))
            """).rowCount > 0 else { throw AppError.notFound("No such organization.") }
        if let chosen = try database.query("""
            SELECT t.id FROM settings s JOIN teams t ON t.id::text = s.value AND t.organization_id = s.organization_id
            WHERE s.organization_id = \(organizationID) AND s.key = 'codecarbon_team_id'
            """).first {
            return try chosen.decode("id")
        }
        if let named = try database.query("""
            SELECT id FROM teams WHERE organization_id = \(organizationID) AND name = 'CodeCarbon'
            """).first {
            return try named.decode("id")
        }
        return try database.transaction { connection in
            guard let row = try connection.query("""
                INSERT INTO teams (organization_id, name, slug, description)
                SELECT o.id, 'CodeCarbon', 'codecarbon', 'Projects created through the CodeCarbon API' FROM organizations o
                WHERE o.id = \(organizationID) AND \(Access.organizationAdmin(caller, organizationColumn: "o.id"))
                ON CONFLICT DO NOTHING
                RETURNING id
                """).first else {
                throw AppError.forbidden("This organization has no CodeCarbon team yet; an owner or admin must create the first CodeCarbon project.")
            }
            let teamID: UUID = try row.decode("id")
            if let user = caller.userID {
                try connection.query("""
                    INSERT INTO team_members (organization_id, team_id, user_id) VALUES (\(organizationID), \(teamID), \(user))
                    ON CONFLICT DO NOTHING
                    """)
            }
            return teamID
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

    static func run(_ row: Row) throws -> JSONValue {
        let full = try Representation.run(row)
        var object: [String: JSONValue] = ["timestamp": full["started_at"] ?? .null]
        for key in ["id", "experiment_id", "os", "python_version", "codecarbon_version", "cpu_count", "cpu_model", "gpu_count",
                    "gpu_model", "longitude", "latitude", "region", "provider", "ram_total_size", "tracking_mode"] {
            object[key] = full[key] ?? .null
        }
        return .object(object)
    }

    static func emission(_ row: Row) throws -> JSONValue {
        [
            "id": .id(try row.decode("id", as: UUID.self)),
            "run_id": .id(try row.decode("run_id", as: UUID.self)),
            "timestamp": .date(try row.decode("timestamp", as: Date.self)),
            "duration": .number(try row.decode("duration_seconds", as: Double.self)),
            "emissions_sum": .number(try row.decode("emissions_kg", as: Double.self)),
            "emissions_rate": .number(try row.decode("emissions_rate", as: Double?.self)),
            "cpu_power": .number(try row.decode("cpu_power_w", as: Double?.self)),
            "gpu_power": .number(try row.decode("gpu_power_w", as: Double?.self)),
            "ram_power": .number(try row.decode("ram_power_w", as: Double?.self)),
            "cpu_energy": .number(try row.decode("cpu_energy_kwh", as: Double.self)),
            "gpu_energy": .number(try row.decode("gpu_energy_kwh", as: Double.self)),
            "ram_energy": .number(try row.decode("ram_energy_kwh", as: Double.self)),
            "energy_consumed": .number(try row.decode("energy_kwh", as: Double.self)),
            "cpu_utilization_percent": .number(try row.decode("cpu_utilization_percent", as: Double?.self)),
            "gpu_utilization_percent": .number(try row.decode("gpu_utilization_percent", as: Double?.self)),
            "ram_utilization_percent": .number(try row.decode("ram_utilization_percent", as: Double?.self)),
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

/// Totals in CodeCarbon's report shapes, from the daily rollups (never the samples).
enum Sums {
    struct Totals {
        var emissions = 0.0, energy = 0.0, cpu = 0.0, gpu = 0.0, ram = 0.0, duration = 0.0, count = 0
    }

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

    static func days(_ database: ConnectionPool, caller: Caller, column: String, id: UUID, range: DateRange) throws -> Totals {
        let row = try database.query("""
            SELECT coalesce(sum(d.emissions_kg), 0) AS emissions, coalesce(sum(d.energy_kwh), 0) AS energy,
                   coalesce(sum(d.cpu_energy_kwh), 0) AS cpu, coalesce(sum(d.gpu_energy_kwh), 0) AS gpu,
                   coalesce(sum(d.ram_energy_kwh), 0) AS ram, coalesce(sum(d.duration_seconds), 0) AS duration,
                   coalesce(sum(d.sample_count), 0)::bigint AS n
            FROM experiment_days d
            WHERE d.\(unsafeSQL: column) = \(id) AND \(Store.projectAccess(caller, "d", idColumn: "project_id"))
              AND (\(range.from)::timestamptz IS NULL OR d.day >= (\(range.from)::timestamptz AT TIME ZONE 'UTC')::date)
              AND (\(range.to)::timestamptz IS NULL OR d.day <= (\(range.to)::timestamptz AT TIME ZONE 'UTC')::date)
            """).first!
        return Totals(emissions: try row.decode("emissions"), energy: try row.decode("energy"), cpu: try row.decode("cpu"),
                      gpu: try row.decode("gpu"), ram: try row.decode("ram"), duration: try row.decode("duration"),
                      count: try row.decode("n"))
    }

    /// Sums plus average powers (W) and emissions rate (kg/s) derived from them.
    static func report(_ totals: Totals, extra: [String: JSONValue]) -> JSONValue {
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

    static func experiments(_ database: ConnectionPool, caller: Caller, projectID: UUID, range: DateRange) throws -> [JSONValue] {
        let rows = try database.query("""
            SELECT e.*, coalesce(sum(d.emissions_kg), 0) AS s_emissions, coalesce(sum(d.energy_kwh), 0) AS s_energy,
                   coalesce(sum(d.cpu_energy_kwh), 0) AS s_cpu, coalesce(sum(d.gpu_energy_kwh), 0) AS s_gpu,
                   coalesce(sum(d.ram_energy_kwh), 0) AS s_ram, coalesce(sum(d.duration_seconds), 0) AS s_duration,
                   coalesce(sum(d.sample_count), 0)::bigint AS s_n
            FROM experiments e
            LEFT JOIN experiment_days d ON d.experiment_id = e.id
                AND (\(range.from)::timestamptz IS NULL OR d.day >= (\(range.from)::timestamptz AT TIME ZONE 'UTC')::date)
                AND (\(range.to)::timestamptz IS NULL OR d.day <= (\(range.to)::timestamptz AT TIME ZONE 'UTC')::date)
            WHERE e.project_id = \(projectID) AND \(Store.projectAccess(caller, "e", idColumn: "project_id"))
            GROUP BY e.id ORDER BY e.name
            """).rows
        return try rows.map { row in
            let experiment = try Representation.experiment(row)
            var extra: [String: JSONValue] = ["experiment_id": experiment["id"]!]
            for key in ["timestamp", "name", "description", "country_name", "country_iso_code", "region", "on_cloud",
                        "cloud_provider", "cloud_region", "project_id"] {
                extra[key] = experiment[key] ?? .null
            }
            return report(Totals(emissions: try row.decode("s_emissions"), energy: try row.decode("s_energy"), cpu: try row.decode("s_cpu"),
                                 gpu: try row.decode("s_gpu"), ram: try row.decode("s_ram"), duration: try row.decode("s_duration"),
                                 count: try row.decode("s_n")), extra: extra)
        }
    }

    static func runs(_ database: ConnectionPool, caller: Caller, experimentID: UUID, range: DateRange) throws -> [JSONValue] {
        let rows = try database.query("""
            SELECT \(unsafeSQL: Representation.runColumns) FROM runs r
            WHERE r.experiment_id = \(experimentID) AND \(Store.projectAccess(caller, "r", idColumn: "project_id"))
              AND (\(range.from)::timestamptz IS NULL OR r.started_at >= \(range.from))
              AND (\(range.to)::timestamptz IS NULL OR r.started_at < \(range.to))
            ORDER BY r.started_at DESC LIMIT 10000
            """).rows
        return try rows.map { row in
            var extra: [String: JSONValue] = [:]
            guard case .object(let base) = try CodeCarbonShapes.run(row) else { return .null }
            extra = base
            extra["run_id"] = base["id"]
            extra.removeValue(forKey: "id")
            return report(Totals(emissions: try row.decode("emissions_kg"), energy: try row.decode("energy_kwh"),
                                 cpu: try row.decode("cpu_energy_kwh"), gpu: try row.decode("gpu_energy_kwh"),
                                 ram: try row.decode("ram_energy_kwh"), duration: try row.decode("duration_seconds"),
                                 count: try row.decode("sample_count")), extra: extra)
        }
    }
}
