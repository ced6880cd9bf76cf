import Foundation
import HTTPServer
import SootStore

/// The OpenAPI 3 document served at `/api/v1/openapi.json`, built from the registered operations and the
/// schemas below.
enum OpenAPIDocument {
    static func build(_ operations: [APIRegistry.Operation]) -> JSONValue {
        var paths: [String: JSONValue] = [:]
        for operation in operations {
            var item: [String: JSONValue] = [:]
            if case .object(let existing)? = paths[operation.path] { item = existing }
            var op: [String: JSONValue] = [
                "summary": .string(operation.summary),
                "tags": [.string(operation.tag)],
                "operationId": .string(operationID(operation)),
            ]
            var parameters: [JSONValue] = pathParameters(operation.path).map { name in
                ["name": .string(name), "in": "path", "required": true, "schema": ["type": "string", "format": "uuid"]]
            }
            for name in operation.queryParameters {
                parameters.append(["name": .string(name), "in": "query", "required": false, "schema": queryParameterSchema(name)])
            }
            if !parameters.isEmpty { op["parameters"] = .array(parameters) }
            if let request = operation.requestSchema {
                var media: [String: JSONValue] = ["schema": ref(request)]
                if let example = examples[request] { media["example"] = example }
                op["requestBody"] = ["required": true, "content": ["application/json": .object(media)]]
            }
            var responses: [String: JSONValue] = [:]
            for status in [operation.successStatus] + operation.otherSuccessStatuses {
                if let response = operation.responseSchema {
                    responses[String(status)] = [
                        "description": status == operation.successStatus ? "Success" : "Success (a replayed request: the first answer)",
                        "content": ["application/json": ["schema": ref(response)]],
                    ]
                } else {
                    responses[String(status)] = ["description": "Success"]
                }
            }
            var errors: [(Int, String)] = operation.authenticated
                ? [(400, "Malformed request"), (401, "No valid credential"), (403, "Not allowed"), (404, "Not found (or not yours)"),
                   (409, "Conflicts with an existing item"), (415, "Body is not JSON"), (422, "A field or parameter is invalid or out of its range"),
                   (503, "Database unavailable, or busy; retry after Retry-After seconds")]
                : [(400, "Malformed request")]
            if operation.requestSchema != nil || operation.method == .post || operation.method == .patch || operation.method == .put {
                errors.append((413, "The body is larger than the route accepts"))
            }
            for (code, text) in errors {
                responses[String(code)] = ["description": .string(text), "content": ["application/json": ["schema": ref("Error")]]]
            }
            op["responses"] = .object(responses)
            if operation.authenticated { op["security"] = [["bearer": []], ["apiToken": []], ["session": []]] }
            item[operation.method.rawValue.lowercased()] = .object(op)
            paths[operation.path] = .object(item)
        }
        return [
            "openapi": "3.0.3",
            "info": [
                "title": "Soot API",
                "version": "1",
                "description": "Soot's own REST API. Authenticate with a personal access token (Authorization: Bearer soot_pat_...) or a project ingest token (x-api-token: soot_prj_...). Errors are {\"error\": {\"code\", \"message\", \"field\"?}}.",
            ],
            "paths": .object(paths),
            "components": [
                "securitySchemes": [
                    "bearer": ["type": "http", "scheme": "bearer", "description": "A personal access token (soot_pat_...) or project token"],
                    "apiToken": ["type": "apiKey", "in": "header", "name": "x-api-token", "description": "A project ingest token (soot_prj_...)"],
                    "session": ["type": "apiKey", "in": "cookie", "name": "soot_session", "description": "A browser session; unsafe methods also need X-CSRF-Token"],
                ],
                "schemas": .object(schemas),
            ],
        ]
    }

    /// Request bodies a user can paste into curl.
    static let examples: [String: JSONValue] = [
        "RunReport": [
            "organization": "Acme", "team": "ML", "project": "Vision", "experiment": "nightly",
            "client_run_id": "nightly-2026-11-29", "started_at": "2026-11-29T01:00:00Z", "ended_at": "2026-11-29T03:30:00Z",
            "cpu_model": "AMD EPYC 7763", "gpu_model": "NVIDIA A100", "gpu_count": 4, "country_iso_code": "FRA",
            "totals": ["energy_kwh": 12.5, "emissions_kg": 0.71, "cpu_energy_kwh": 2.1, "gpu_energy_kwh": 9.8, "ram_energy_kwh": 0.6],
        ],
        "SampleBatch": [
            "samples": [[
                "id": "host7-000123", "timestamp": "2026-11-29T01:00:10Z", "duration_seconds": 10, "energy_kwh": 0.0021,
                "emissions_kg": 0.00012, "cpu_power_w": 180.5,
            ]],
        ],
        "NamedInput": ["name": "Speech", "description": "Speech recognition models"],
        "TokenInput": ["name": "cluster agents", "scope": "write"],
        "InvitationInput": ["email": "ada@acme.example", "role": "member"],
        "ExperimentInput": ["name": "baseline", "country_iso_code": "FRA", "on_cloud": false],
    ]

    static func operationID(_ operation: APIRegistry.Operation) -> String {
        let words = operation.path.split(separator: "/").filter { $0 != "api" && $0 != "v1" }
            .map { $0.hasPrefix("{") ? "By" + $0.dropFirst().dropLast().split(separator: "_").map { $0.capitalized }.joined() : $0.capitalized }
        return operation.method.rawValue.lowercased() + words.joined().replacingOccurrences(of: "-", with: "").replacingOccurrences(of: ".", with: "")
    }

    static func pathParameters(_ path: String) -> [String] {
        path.split(separator: "/").filter { $0.hasPrefix("{") }.map { String($0.dropFirst().dropLast()) }
    }

    static func queryParameterSchema(_ name: String) -> JSONValue {
        switch name {
        case "limit": return ["type": "integer", "minimum": 1, "maximum": 200, "default": 50]
        case "offset": return ["type": "integer", "minimum": 0, "maximum": 10_000_000, "default": 0]
        case "organization", "team", "project", "experiment":
            return ["type": "string", "format": "uuid", "description": "Exactly one of organization, team, project and experiment"]
        case "range": return ["type": "string", "enum": ["7d", "30d", "90d", "year", "all"], "default": "30d"]
        case "by": return ["type": "string", "enum": ["team", "project", "experiment"]]
        case "valid_only": return ["type": "boolean", "default": false]
        case "experiment_id": return ["type": "string", "format": "uuid"]
        case "from", "to":
            return ["type": "string", "description": "A day (2026-11-01): on reports and the audit trail both days are included; run lists also take an ISO 8601 timestamp, and there to is exclusive"]
        case "user": return ["type": "string", "format": "uuid", "description": "Entries of this person only"]
        case "kind": return ["type": "string", "enum": .array(Audit.kinds.map { .string($0) }), "description": "The first word of the actions"]
        default: return ["type": "string"]
        }
    }

    static func ref(_ name: String) -> JSONValue { ["$ref": .string("#/components/schemas/\(name)")] }

    static func object(_ properties: [String: JSONValue], required: [String] = []) -> JSONValue {
        var value: [String: JSONValue] = ["type": "object", "properties": .object(properties)]
        if !required.isEmpty { value["required"] = .array(required.map { .string($0) }) }
        return .object(value)
    }

    static func list(_ item: String) -> JSONValue {
        object(["data": ["type": "array", "items": ref(item)], "pagination": ref("Pagination")], required: ["data", "pagination"])
    }

    static let uuid: JSONValue = ["type": "string", "format": "uuid"]
    static let uuidOrNull: JSONValue = ["type": "string", "format": "uuid", "nullable": true]
    static let text: JSONValue = ["type": "string"]
    static let textOrNull: JSONValue = ["type": "string", "nullable": true]
    static let time: JSONValue = ["type": "string", "format": "date-time"]
    static let timeOrNull: JSONValue = ["type": "string", "format": "date-time", "nullable": true]
    static let number: JSONValue = ["type": "number"]
    static let numberOrNull: JSONValue = ["type": "number", "nullable": true]
    /// Names: 1 to 200 characters, no control characters and no bidirectional embedding, override or isolate
    /// controls (U+202A–U+202E, U+2066–U+2069); leading and trailing white space is trimmed, and a null is refused.
    static let name: JSONValue = ["type": "string", "minLength": 1, "maxLength": 200,
                                  "pattern": "^[^\\u0000-\\u001f\\u007f\\u202a-\\u202e\\u2066-\\u2069]*$"]

    static let schemas: [String: JSONValue] = [
        "Error": object(["error": object(["code": text, "message": text, "field": text], required: ["code", "message"])], required: ["error"]),
        "Pagination": object(["limit": ["type": "integer"], "offset": ["type": "integer"], "total": ["type": "integer"]]),
        "Echo": object(["bytes": ["type": "integer"], "sha256": text]),
        "User": object(["id": uuid, "email": text, "name": text, "is_operator": ["type": "boolean"], "created_at": time]),
        "NamedInput": object(["name": name, "description": ["type": "string", "maxLength": 10000]], required: ["name"]),
        "NamedUpdate": object(["name": name, "description": ["type": "string", "maxLength": 10000]]),
        "ProjectUpdate": object(["name": name, "description": ["type": "string", "maxLength": 10000], "is_public": ["type": "boolean"]]),
        "Organization": object(["id": uuid, "name": text, "slug": text, "description": text, "role": ["type": "string", "enum": ["owner", "admin", "member"]], "created_at": time]),
        "OrganizationList": list("Organization"),
        "Team": object(["id": uuid, "organization_id": uuid, "name": text, "slug": text, "description": text, "created_at": time]),
        "TeamList": list("Team"),
        "BudgetInput": object([
            "organization_id": uuid, "team_id": uuid, "project_id": uuid,
            "period": ["type": "string", "enum": ["month", "quarter", "year"]],
            "limit_kg": ["type": "number", "minimum": 1e-9, "maximum": 1e12],
            "limit_kwh": ["type": "number", "minimum": 1e-9, "maximum": 1e12, "nullable": true],
            "thresholds": ["type": "array", "minItems": 1, "maxItems": 10, "items": ["type": "integer", "minimum": 1, "maximum": 1000]],
        ], required: ["period", "limit_kg"]),
        "BudgetUpdate": object([
            "limit_kg": ["type": "number", "minimum": 1e-9, "maximum": 1e12],
            "limit_kwh": ["type": "number", "minimum": 1e-9, "maximum": 1e12, "nullable": true],
            "thresholds": ["type": "array", "minItems": 1, "maxItems": 10, "items": ["type": "integer", "minimum": 1, "maximum": 1000]],
        ]),
        "Budget": object([
            "id": uuid, "organization_id": uuid,
            "scope": object(["level": ["type": "string", "enum": ["organization", "team", "project"]], "id": uuid, "name": text]),
            "period": ["type": "string", "enum": ["month", "quarter", "year"]],
            "period_start": ["type": "string", "format": "date"], "period_end": ["type": "string", "format": "date"],
            "limit_kg": number, "limit_kwh": numberOrNull, "thresholds": ["type": "array", "items": ["type": "integer"]],
            "used_kg": number, "used_percent": number, "forecast_kg": number,
            "forecast_range_kg": ["type": "array", "items": number, "minItems": 2, "maxItems": 2],
            "forecast_split_weekends": ["type": "boolean"],
            "limit_reached_on": ["type": "string", "format": "date", "nullable": true],
            "state": ["type": "string", "enum": ["on_track", "at_risk", "over"]],
            "used_kwh": number, "forecast_kwh": number, "forecast_range_kwh": ["type": "array", "items": number, "minItems": 2, "maxItems": 2],
            "created_at": time,
        ]),
        "BudgetList": object(["data": ["type": "array", "items": ref("Budget")]], required: ["data"]),
        "WebhookInput": object([
            "url": ["type": "string", "maxLength": 2000, "format": "uri"], "secret": ["type": "string", "minLength": 16, "maxLength": 200],
            "events": ["type": "array", "minItems": 1, "maxItems": 10, "items": ["type": "string", "enum": ["budget.threshold", "budget.forecast"]]],
            "format": ["type": "string", "enum": ["json", "slack", "teams"]],
        ], required: ["url"]),
        "Webhook": object([
            "id": uuid, "organization_id": uuid, "url": text, "events": ["type": "array", "items": text], "format": text,
            "created_at": time, "failing_since": timeOrNull, "failing": ["type": "boolean"], "secret": text,
            "deliveries": ["type": "array", "items": ref("Delivery")],
        ]),
        "WebhookList": object(["data": ["type": "array", "items": ref("Webhook")]], required: ["data"]),
        "Delivery": object([
            "id": uuid, "webhook_id": uuid, "event_type": text, "status": ["type": "string", "enum": ["pending", "delivered", "failed"]],
            "attempts": ["type": "integer"], "last_status": ["type": "integer", "nullable": true], "last_error": textOrNull,
            "created_at": time, "delivered_at": timeOrNull,
        ]),
        "DeliveryList": object(["data": ["type": "array", "items": ref("Delivery")]], required: ["data"]),
        "DeliveryQueued": object(["delivery_id": uuid, "status": text]),
        "Project": object(["id": uuid, "organization_id": uuid, "team_id": uuid, "name": text, "slug": text, "description": text,
                           "is_public": ["type": "boolean"], "public_path": textOrNull, "created_at": time]),
        "ProjectList": list("Project"),
        "ExperimentInput": object([
            "name": name, "description": text, "timestamp": time, "country_name": text, "country_iso_code": ["type": "string", "maxLength": 3],
            "region": text, "on_cloud": ["type": "boolean"], "cloud_provider": text, "cloud_region": text,
        ]),
        "Experiment": object([
            "id": uuid, "organization_id": uuid, "team_id": uuid, "project_id": uuid, "name": text, "description": text, "timestamp": time,
            "country_name": textOrNull, "country_iso_code": textOrNull, "region": textOrNull, "on_cloud": ["type": "boolean"],
            "cloud_provider": textOrNull, "cloud_region": textOrNull, "created_at": time,
        ]),
        "ExperimentList": list("Experiment"),
        "Run": object([
            "id": uuid, "organization_id": uuid, "team_id": uuid, "project_id": uuid, "experiment_id": uuid, "source": text,
            "client_key": textOrNull, "started_at": time, "ended_at": timeOrNull, "last_seen_at": time, "os": textOrNull,
            "python_version": textOrNull, "codecarbon_version": textOrNull, "cpu_count": numberOrNull, "cpu_model": textOrNull,
            "gpu_count": numberOrNull, "gpu_model": textOrNull, "longitude": numberOrNull, "latitude": numberOrNull,
            "region": textOrNull, "provider": textOrNull, "country_name": textOrNull, "country_iso_code": textOrNull,
            "cloud_provider": textOrNull, "cloud_region": textOrNull, "ram_total_size": numberOrNull, "tracking_mode": textOrNull,
            "sample_count": ["type": "integer"], "duration_seconds": number, "emissions_kg": number, "energy_kwh": number,
            "cpu_energy_kwh": number, "gpu_energy_kwh": number, "ram_energy_kwh": number, "water_liters": number,
            "cpu_power_w": numberOrNull, "gpu_power_w": numberOrNull, "ram_power_w": numberOrNull, "created_at": time,
        ]),
        "RunList": list("Run"),
        "InvitationInput": object(["email": ["type": "string", "format": "email", "maxLength": 320],
                                   "role": ["type": "string", "enum": ["owner", "admin", "member"], "default": "member"],
                                   "team_id": ["type": "string", "format": "uuid", "description": "Also join this team on accepting"]],
                                  required: ["email"]),
        "Invitation": object(["id": uuid, "organization_id": uuid, "team_id": uuidOrNull, "email": text,
                              "role": ["type": "string", "enum": ["owner", "admin", "member"]], "status": text, "created_at": time,
                              "expires_at": time,
                              "link": ["type": "string", "description": "The page that accepts it (path); only in the answer that created it"]]),
        "InvitationList": object(["data": ["type": "array", "items": ref("Invitation")]], required: ["data"]),
        "InvitationAccept": object(["secret": ["type": "string", "maxLength": 100, "description": "The last part of the invitation's link"]],
                                   required: ["secret"]),
        "RoleInput": object(["role": ["type": "string", "enum": ["owner", "admin", "member"]]], required: ["role"]),
        "TeamMemberInput": object(["user_id": uuid, "email": text]),
        "Member": object(["user_id": uuid, "email": text, "name": text, "role": text, "created_at": time]),
        "MemberList": list("Member"),
        "AuditEntry": object([
            "id": ["type": "integer"], "at": time, "organization_id": uuidOrNull,
            "actor": object(["kind": ["type": "string", "enum": ["user", "personal_token", "project_token", "operator", "anonymous"]],
                             "user_id": uuidOrNull, "token_id": uuidOrNull, "name": text]),
            "action": text, "object": object(["kind": text, "id": uuidOrNull, "name": text]),
            "address": textOrNull, "request_id": textOrNull,
            "old": ["type": "object", "nullable": true, "additionalProperties": textOrNull],
            "new": ["type": "object", "nullable": true, "additionalProperties": textOrNull],
        ]),
        "AuditEntryList": list("AuditEntry"),
        "TokenInput": object(["name": name, "scope": ["type": "string", "enum": ["read", "write"], "default": "write"],
                              "expires_in_days": ["type": "integer", "minimum": 1, "maximum": 3650]], required: ["name"]),
        "Token": object([
            "id": uuid, "kind": ["type": "string", "enum": ["personal", "project"]], "name": text, "prefix": text,
            "scope": ["type": "string", "enum": ["read", "write"]], "project_id": uuidOrNull, "organization_id": uuidOrNull,
            "user_id": uuidOrNull, "created_at": time, "last_used_at": timeOrNull, "expires_at": timeOrNull, "revoked_at": timeOrNull,
        ]),
        "NewToken": object(["id": uuid, "name": text, "prefix": text, "scope": text, "token": ["type": "string", "description": "Shown only once"]]),
        "TokenList": list("Token"),
        "ImportResult": object([
            "rows": ["type": "integer"], "runs_created": ["type": "integer"], "runs_extended": ["type": "integer"],
            "samples_imported": ["type": "integer"], "duplicates": ["type": "integer"],
            "refused": ["type": "array", "items": ["type": "object", "properties": [
                "line": ["type": "integer"], "column": ["type": "string"], "value": ["type": "string"], "message": ["type": "string"]]]],
        ]),
        "Sample": object([
            "id": ["type": "string", "maxLength": 200, "description": "Optional client-chosen key: a retried sample with the same id counts once"],
            "timestamp": time, "duration_seconds": ["type": "number", "exclusiveMinimum": true, "minimum": 0],
            "emissions_kg": ["type": "number", "minimum": 0], "energy_kwh": ["type": "number", "minimum": 0],
            "cpu_energy_kwh": number, "gpu_energy_kwh": number, "ram_energy_kwh": number, "emissions_rate": number,
            "cpu_power_w": number, "gpu_power_w": number, "ram_power_w": number, "cpu_utilization_percent": number,
            "gpu_utilization_percent": number, "ram_utilization_percent": number, "water_liters": number,
        ], required: ["timestamp", "duration_seconds", "emissions_kg", "energy_kwh"]),
        "RunReport": object([
            "experiment_id": uuid, "organization": text, "team": text, "project": text, "experiment": text,
            "client_run_id": ["type": "string", "maxLength": 200, "description": "A reposted report with the same key returns the first run"],
            "started_at": time, "ended_at": time, "os": text, "python_version": text, "codecarbon_version": text,
            "cpu_count": ["type": "integer"], "cpu_model": text, "gpu_count": ["type": "integer"], "gpu_model": text,
            "longitude": number, "latitude": number, "region": text, "provider": text, "country_name": text,
            "country_iso_code": text, "cloud_provider": text, "cloud_region": text, "ram_total_size": number, "tracking_mode": text,
            "totals": object([
                "duration_seconds": number, "emissions_kg": number, "energy_kwh": number, "cpu_energy_kwh": number,
                "gpu_energy_kwh": number, "ram_energy_kwh": number, "water_liters": number,
            ]),
            "samples": ["type": "array", "maxItems": 1000, "items": ref("Sample")],
        ], required: ["started_at"]),
        "SampleBatch": object(["samples": ["type": "array", "minItems": 1, "maxItems": 1000, "items": ref("Sample")]], required: ["samples"]),
        "SampleBatchResult": object([
            "run_id": uuid, "accepted": ["type": "integer"], "duplicates": ["type": "integer"],
            "sample_ids": ["type": "array", "items": uuidOrNull],
        ]),
    ]
}
