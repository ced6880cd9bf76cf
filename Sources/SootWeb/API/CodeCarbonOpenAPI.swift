import Foundation
import HTTPServer
import SootStore

/// The OpenAPI 3 document of the CodeCarbon-compatible API, served at `/openapi.json` and `/api/openapi.json` (where
/// CodeCarbon's own server serves its document). Every route is listed at the root and under `/api`, as it is
/// served; errors have CodeCarbon's `{"detail": ...}` shape.
enum CodeCarbonOpenAPI {
    struct Operation {
        let method: String
        let path: String
        let summary: String
        var request: String?
        var response: JSONValue?
        var status = 200
        var query: [String] = []
    }

    typealias Doc = OpenAPIDocument

    static let nullableText: JSONValue = ["type": "string", "nullable": true]
    static let nullableNumber: JSONValue = ["type": "number", "nullable": true]
    static let nullableInteger: JSONValue = ["type": "integer", "nullable": true]

    static let organization = Doc.object(["id": Doc.uuid, "name": Doc.text, "description": Doc.text])
    static let project = Doc.object(["id": Doc.uuid, "name": Doc.text, "description": Doc.text, "organization_id": Doc.uuid,
                                     "team_id": Doc.uuid, "experiments": ["type": "array"]])
    static let experiment = Doc.object([
        "id": Doc.uuid, "timestamp": Doc.time, "name": Doc.text, "description": Doc.text, "country_name": nullableText,
        "country_iso_code": nullableText, "region": nullableText, "on_cloud": ["type": "boolean"], "cloud_provider": nullableText,
        "cloud_region": nullableText, "project_id": Doc.uuid,
    ])
    static let run = Doc.object([
        "id": Doc.uuid, "timestamp": Doc.time, "experiment_id": Doc.uuid, "os": nullableText, "python_version": nullableText,
        "codecarbon_version": nullableText, "cpu_count": nullableNumber, "cpu_model": nullableText, "gpu_count": nullableNumber,
        "gpu_model": nullableText, "longitude": nullableNumber, "latitude": nullableNumber, "region": nullableText,
        "provider": nullableText, "ram_total_size": nullableNumber, "tracking_mode": nullableText,
    ])
    static let sums: [String: JSONValue] = [
        "emissions": Doc.number, "energy_consumed": Doc.number, "cpu_energy": Doc.number, "gpu_energy": Doc.number,
        "ram_energy": Doc.number, "cpu_power": Doc.number, "gpu_power": Doc.number, "ram_power": Doc.number,
        "duration": Doc.number, "emissions_rate": Doc.number, "emissions_count": ["type": "integer"],
    ]
    static let emission = Doc.object([
        "id": Doc.uuid, "run_id": Doc.uuid, "timestamp": Doc.time, "duration": Doc.number, "emissions_sum": Doc.number,
        "emissions_rate": nullableNumber, "cpu_power": nullableNumber, "gpu_power": nullableNumber, "ram_power": nullableNumber,
        "cpu_energy": Doc.number, "gpu_energy": Doc.number, "ram_energy": Doc.number, "energy_consumed": Doc.number,
        "cpu_utilization_percent": nullableNumber, "gpu_utilization_percent": nullableNumber, "ram_utilization_percent": nullableNumber,
    ])
    static let token = Doc.object(["id": Doc.uuid, "project_id": Doc.uuid, "name": Doc.text, "token": nullableText,
                                   "last_used": ["type": "string", "format": "date-time", "nullable": true],
                                   "access": ["type": "integer", "enum": [1, 2]], "revoked": ["type": "boolean"]])

    static func array(_ item: JSONValue) -> JSONValue { ["type": "array", "items": item] }
    static func merged(_ base: [String: JSONValue], _ extra: [String: JSONValue]) -> JSONValue {
        Doc.object(base.merging(extra) { a, _ in a })
    }

    static let timestamp: JSONValue = ["type": "string", "format": "date-time",
                                       "description": "ISO 8601 with an offset; from 2000-01-01 to a day ahead"]
    /// Request bodies, as the codecarbon client (3.x) sends them.
    static let requests: [String: JSONValue] = [
        "RunCreate": Doc.object([
            "timestamp": timestamp, "experiment_id": Doc.uuid, "os": nullableText, "python_version": nullableText,
            "codecarbon_version": nullableText, "cpu_count": ["type": "integer", "minimum": 0, "maximum": 1_000_000, "nullable": true],
            "cpu_model": nullableText, "gpu_count": ["type": "integer", "minimum": 0, "maximum": 1_000_000, "nullable": true],
            "gpu_model": nullableText, "longitude": ["type": "number", "minimum": -180, "maximum": 180, "nullable": true],
            "latitude": ["type": "number", "minimum": -90, "maximum": 90, "nullable": true], "region": nullableText,
            "provider": nullableText, "ram_total_size": ["type": "number", "minimum": 0, "nullable": true], "tracking_mode": nullableText,
        ], required: ["timestamp", "experiment_id"]),
        "EmissionCreate": Doc.object([
            "timestamp": timestamp, "run_id": Doc.uuid,
            "duration": ["type": "number", "exclusiveMinimum": true, "minimum": 0, "description": "Seconds since the previous post"],
            "emissions_sum": ["type": "number", "minimum": 0], "emissions_rate": ["type": "number", "minimum": 0, "nullable": true],
            "cpu_power": ["type": "number", "minimum": 0, "nullable": true], "gpu_power": ["type": "number", "minimum": 0, "nullable": true],
            "ram_power": ["type": "number", "minimum": 0, "nullable": true], "cpu_energy": ["type": "number", "minimum": 0, "nullable": true],
            "gpu_energy": ["type": "number", "minimum": 0, "nullable": true], "ram_energy": ["type": "number", "minimum": 0, "nullable": true],
            "energy_consumed": ["type": "number", "minimum": 0, "nullable": true],
            "cpu_utilization_percent": nullableNumber, "gpu_utilization_percent": nullableNumber, "ram_utilization_percent": nullableNumber,
            "wue": ["type": "number", "minimum": 0, "maximum": 1000, "nullable": true],
        ], required: ["timestamp", "run_id", "duration", "emissions_sum"]),
        "OrganizationCreate": Doc.object(["name": Doc.name, "description": ["type": "string", "maxLength": 10000]], required: ["name"]),
        "OrganizationPatch": Doc.object(["name": Doc.name, "description": ["type": "string", "maxLength": 10000]]),
        "ProjectCreate": Doc.object(["name": Doc.name, "description": ["type": "string", "maxLength": 10000], "organization_id": Doc.uuid],
                                    required: ["name", "organization_id"]),
        "ExperimentCreate": Doc.object([
            "name": Doc.name, "description": ["type": "string", "maxLength": 10000], "project_id": Doc.uuid, "timestamp": timestamp,
            "country_name": ["type": "string", "maxLength": 200], "country_iso_code": ["type": "string", "maxLength": 3],
            "region": ["type": "string", "maxLength": 200], "on_cloud": ["type": "boolean"],
            "cloud_provider": ["type": "string", "maxLength": 100], "cloud_region": ["type": "string", "maxLength": 100],
        ], required: ["name", "project_id"]),
        "ProjectTokenCreate": Doc.object(["name": Doc.name, "access": ["type": "integer", "enum": [1, 2], "description": "1 read, 2 write"]]),
    ]

    static let operations: [Operation] = [
        Operation(method: "post", path: "/runs", summary: "Start a run (the tracker's first call; a project token)", request: "RunCreate",
                  response: run, status: 201),
        Operation(method: "post", path: "/emissions", summary: "Post an emission (deltas since the previous post); 201 once committed",
                  request: "EmissionCreate", response: ["type": "string", "format": "uuid"], status: 201),
        Operation(method: "get", path: "/auth/check", summary: "The user behind a personal token",
                  response: Doc.object(["id": Doc.uuid, "name": Doc.text, "email": Doc.text, "organizations": array(Doc.uuid),
                                        "is_active": ["type": "boolean"]])),
        Operation(method: "get", path: "/organizations", summary: "Organizations of the user", response: array(organization)),
        Operation(method: "post", path: "/organizations", summary: "Create an organization", request: "OrganizationCreate",
                  response: organization, status: 201),
        Operation(method: "get", path: "/organizations/{organization_id}", summary: "An organization", response: organization),
        Operation(method: "patch", path: "/organizations/{organization_id}", summary: "Rename or describe an organization (owners, admins)",
                  request: "OrganizationPatch", response: organization),
        Operation(method: "get", path: "/organizations/{organization_id}/projects", summary: "Projects of an organization the caller can see",
                  response: array(project)),
        Operation(method: "get", path: "/organizations/{organization_id}/sums", summary: "An organization's totals",
                  response: merged(sums, ["organization_id": Doc.uuid, "name": Doc.text, "description": Doc.text]),
                  query: ["start_date", "end_date"]),
        Operation(method: "post", path: "/projects", summary: "Create a project in the organization's CodeCarbon team", request: "ProjectCreate",
                  response: project, status: 201),
        Operation(method: "get", path: "/projects/{project_id}", summary: "A project", response: project),
        Operation(method: "get", path: "/projects/{project_id}/experiments", summary: "Experiments of a project", response: array(experiment)),
        Operation(method: "get", path: "/projects/{project_id}/sums", summary: "A project's totals",
                  response: merged(sums, ["project_id": Doc.uuid, "name": Doc.text, "description": Doc.text, "organization_id": Doc.uuid]),
                  query: ["start_date", "end_date"]),
        Operation(method: "get", path: "/projects/{project_id}/experiments/sums", summary: "Totals per experiment of a project",
                  response: array(merged(sums, ["experiment_id": Doc.uuid, "name": Doc.text, "project_id": Doc.uuid])),
                  query: ["start_date", "end_date"]),
        Operation(method: "post", path: "/projects/{project_id}/api-tokens", summary: "Make a project token (shown once)",
                  request: "ProjectTokenCreate", response: token, status: 201),
        Operation(method: "get", path: "/projects/{project_id}/api-tokens", summary: "Tokens of a project", response: array(token)),
        Operation(method: "post", path: "/experiments", summary: "Create an experiment", request: "ExperimentCreate", response: experiment,
                  status: 201),
        Operation(method: "get", path: "/experiments/{experiment_id}", summary: "An experiment", response: experiment),
        Operation(method: "get", path: "/experiments/{experiment_id}/runs/sums", summary: "Totals per run of an experiment",
                  response: array(merged(sums, ["run_id": Doc.uuid, "experiment_id": Doc.uuid])), query: ["start_date", "end_date"]),
        Operation(method: "get", path: "/runs/{run_id}", summary: "A run", response: run),
        Operation(method: "get", path: "/runs/{run_id}/emissions", summary: "A run's emissions, a page at a time",
                  response: Doc.object(["items": array(emission), "total": ["type": "integer"], "page": ["type": "integer"],
                                        "size": ["type": "integer"], "pages": ["type": "integer"]]),
                  query: ["page", "size"]),
        Operation(method: "get", path: "/lastrun/project/{project_id}", summary: "A project's latest run", response: run),
    ]

    static func queryParameter(_ name: String) -> JSONValue {
        switch name {
        case "page": return ["type": "integer", "minimum": 1, "maximum": 100_000, "default": 1]
        case "size": return ["type": "integer", "minimum": 1, "maximum": 10_000, "default": 1000]
        default: return ["type": "string", "description": "An ISO 8601 date (2026-11-01) or timestamp"]
        }
    }

    static let detail: JSONValue = Doc.object([
        "detail": ["oneOf": [["type": "string"],
                             ["type": "array", "items": Doc.object(["loc": ["type": "array", "items": ["type": "string"]],
                                                                    "msg": Doc.text, "type": Doc.text])]]],
    ], required: ["detail"])

    static func build() -> JSONValue {
        var paths: [String: JSONValue] = [:]
        for prefix in ["", "/api"] {
            for operation in operations {
                let path = prefix + operation.path
                var item: [String: JSONValue] = [:]
                if case .object(let existing)? = paths[path] { item = existing }
                var op: [String: JSONValue] = [
                    "summary": .string(operation.summary), "tags": [prefix.isEmpty ? "CodeCarbon" : "CodeCarbon under /api"],
                    "operationId": .string(operation.method + path.replacingOccurrences(of: "/", with: "_")
                        .replacingOccurrences(of: "{", with: "").replacingOccurrences(of: "}", with: "").replacingOccurrences(of: "-", with: "_")),
                    "security": [["apiToken": []], ["bearer": []]],
                ]
                var parameters: [JSONValue] = Doc.pathParameters(path).map { name in
                    ["name": .string(name), "in": "path", "required": true, "schema": ["type": "string", "format": "uuid"]]
                }
                for name in operation.query {
                    parameters.append(["name": .string(name), "in": "query", "required": false, "schema": queryParameter(name)])
                }
                if !parameters.isEmpty { op["parameters"] = .array(parameters) }
                if let request = operation.request {
                    op["requestBody"] = ["required": true, "content": ["application/json": ["schema": Doc.ref(request)]]]
                }
                var responses: [String: JSONValue] = [
                    String(operation.status): ["description": "Success",
                                               "content": ["application/json": ["schema": operation.response ?? ["type": "object"]]]],
                ]
                var errors: [(Int, String)] = [(400, "Malformed request"), (401, "No valid credential"), (403, "Not allowed"),
                                               (404, "Not found (or not yours)"), (409, "Conflicts with an existing item"),
                                               (415, "Body is not JSON"), (422, "A field or parameter is invalid or out of its range"),
                                               (503, "Database unavailable; retry after Retry-After seconds")]
                if operation.request != nil { errors.append((413, "The body is larger than the route accepts")) }
                for (code, text) in errors {
                    responses[String(code)] = ["description": .string(text), "content": ["application/json": ["schema": Doc.ref("Detail")]]]
                }
                op["responses"] = .object(responses)
                item[operation.method] = .object(op)
                paths[path] = .object(item)
            }
        }
        var schemas = requests
        schemas["Detail"] = detail
        return [
            "openapi": "3.0.3",
            "info": [
                "title": "Soot: the CodeCarbon-compatible API",
                "version": "1",
                "description": "What the codecarbon client and CLI call, served at the root and under /api. A project token (x-api-token: soot_prj_...) posts runs and emissions; a personal token (Authorization: Bearer soot_pat_...) reads and manages. Errors are {\"detail\": ...} as in CodeCarbon's server. Soot's own API is described at /api/v1/openapi.json.",
            ],
            "paths": .object(paths),
            "components": [
                "securitySchemes": [
                    "bearer": ["type": "http", "scheme": "bearer", "description": "A personal access token (soot_pat_...) or a project token"],
                    "apiToken": ["type": "apiKey", "in": "header", "name": "x-api-token", "description": "A project token (soot_prj_...)"],
                ],
                "schemas": .object(schemas),
            ],
        ]
    }
}
