import Foundation
import Postgres

/// The application's queries. Every read of a row by id carries the caller's access predicate in the same
/// statement, so "not found" and "not yours" are the same answer (404).
public struct Store: Sendable {
    public let database: ConnectionPool

    public init(database: ConnectionPool) { self.database = database }

    /// Parses an id from a URL; anything that is not a UUID cannot exist (404).
    static func id(_ text: String?) throws -> UUID {
        guard let text, let id = UUID(uuidString: text) else { throw AppError.notFound() }
        return id
    }

    /// `count(*) OVER ()` of the first row, or 0.
    static func total(_ result: QueryResult) throws -> Int {
        try result.first?.decode("total", as: Int.self) ?? 0
    }

    /// Inserts with a slug made from `name`, adding -2, -3 ... while a sibling has it.
    static func withUniqueSlug<T>(_ name: String, _ insert: (String) throws -> T) throws -> T {
        let base = Naming.slug(name)
        for attempt in 1...50 {
            let slug = attempt == 1 ? base : "\(base)-\(attempt)"
            do {
                return try insert(slug)
            } catch let error as DatabaseError where error.isUniqueViolation && (error.constraint ?? "").contains("slug") {
                continue
            }
        }
        throw AppError.conflict("Could not find a free URL name for \(name).", field: "name")
    }
}

/// Row to JSON for each level of the hierarchy.
enum Representation {
    static func organization(_ row: Row) throws -> JSONValue {
        var object: [String: JSONValue] = [
            "id": .id(try row.decode("id", as: UUID.self)),
            "name": .string(try row.decode("name")),
            "slug": .string(try row.decode("slug")),
            "description": .string(try row.decode("description")),
            "created_at": .date(try row.decode("created_at", as: Date.self)),
        ]
        if let role = row["role"] { object["role"] = .string(role) }
        return .object(object)
    }

    static func team(_ row: Row) throws -> JSONValue {
        [
            "id": .id(try row.decode("id", as: UUID.self)),
            "organization_id": .id(try row.decode("organization_id", as: UUID.self)),
            "name": .string(try row.decode("name")),
            "slug": .string(try row.decode("slug")),
            "description": .string(try row.decode("description")),
            "created_at": .date(try row.decode("created_at", as: Date.self)),
        ]
    }

    static func project(_ row: Row) throws -> JSONValue {
        let slug = try row.decode("public_slug", as: String?.self)
        return [
            "id": .id(try row.decode("id", as: UUID.self)),
            "organization_id": .id(try row.decode("organization_id", as: UUID.self)),
            "team_id": .id(try row.decode("team_id", as: UUID.self)),
            "name": .string(try row.decode("name")),
            "slug": .string(try row.decode("slug")),
            "description": .string(try row.decode("description")),
            "is_public": .bool(try row.decode("is_public")),
            "public_path": .text(slug.map { "/p/\($0)" }),
            "created_at": .date(try row.decode("created_at", as: Date.self)),
        ]
    }

    static func experiment(_ row: Row) throws -> JSONValue {
        [
            "id": .id(try row.decode("id", as: UUID.self)),
            "organization_id": .id(try row.decode("organization_id", as: UUID.self)),
            "team_id": .id(try row.decode("team_id", as: UUID.self)),
            "project_id": .id(try row.decode("project_id", as: UUID.self)),
            "name": .string(try row.decode("name")),
            "description": .string(try row.decode("description")),
            "timestamp": .date(try row.decode("timestamp", as: Date.self)),
            "country_name": .text(try row.decode("country_name", as: String?.self)),
            "country_iso_code": .text(try row.decode("country_iso_code", as: String?.self)),
            "region": .text(try row.decode("region", as: String?.self)),
            "on_cloud": .bool(try row.decode("on_cloud")),
            "cloud_provider": .text(try row.decode("cloud_provider", as: String?.self)),
            "cloud_region": .text(try row.decode("cloud_region", as: String?.self)),
            "created_at": .date(try row.decode("created_at", as: Date.self)),
        ]
    }

    static let runColumns = """
        r.id, r.organization_id, r.team_id, r.project_id, r.experiment_id, r.source, r.client_key, r.started_at, r.ended_at,
        r.last_seen_at, r.os, r.python_version, r.codecarbon_version, r.cpu_count, r.cpu_model, r.gpu_count, r.gpu_model,
        r.longitude, r.latitude, r.region, r.provider, r.country_name, r.country_iso_code, r.cloud_provider, r.cloud_region,
        r.ram_total_size, r.tracking_mode, r.sample_count, r.duration_seconds, r.emissions_kg, r.energy_kwh,
        r.cpu_energy_kwh, r.gpu_energy_kwh, r.ram_energy_kwh, r.water_liters, r.cpu_power_w, r.gpu_power_w, r.ram_power_w,
        r.created_at
        """

    static func run(_ row: Row) throws -> JSONValue {
        [
            "id": .id(try row.decode("id", as: UUID.self)),
            "organization_id": .id(try row.decode("organization_id", as: UUID.self)),
            "team_id": .id(try row.decode("team_id", as: UUID.self)),
            "project_id": .id(try row.decode("project_id", as: UUID.self)),
            "experiment_id": .id(try row.decode("experiment_id", as: UUID.self)),
            "source": .string(try row.decode("source")),
            "client_key": .text(try row.decode("client_key", as: String?.self)),
            "started_at": .date(try row.decode("started_at", as: Date.self)),
            "ended_at": .date(try row.decode("ended_at", as: Date?.self)),
            "last_seen_at": .date(try row.decode("last_seen_at", as: Date.self)),
            "os": .text(try row.decode("os", as: String?.self)),
            "python_version": .text(try row.decode("python_version", as: String?.self)),
            "codecarbon_version": .text(try row.decode("codecarbon_version", as: String?.self)),
            "cpu_count": .int(try row.decode("cpu_count", as: Int?.self)),
            "cpu_model": .text(try row.decode("cpu_model", as: String?.self)),
            "gpu_count": .int(try row.decode("gpu_count", as: Int?.self)),
            "gpu_model": .text(try row.decode("gpu_model", as: String?.self)),
            "longitude": .number(try row.decode("longitude", as: Double?.self)),
            "latitude": .number(try row.decode("latitude", as: Double?.self)),
            "region": .text(try row.decode("region", as: String?.self)),
            "provider": .text(try row.decode("provider", as: String?.self)),
            "country_name": .text(try row.decode("country_name", as: String?.self)),
            "country_iso_code": .text(try row.decode("country_iso_code", as: String?.self)),
            "cloud_provider": .text(try row.decode("cloud_provider", as: String?.self)),
            "cloud_region": .text(try row.decode("cloud_region", as: String?.self)),
            "ram_total_size": .number(try row.decode("ram_total_size", as: Double?.self)),
            "tracking_mode": .text(try row.decode("tracking_mode", as: String?.self)),
            "sample_count": .int(try row.decode("sample_count", as: Int.self)),
            "duration_seconds": .number(try row.decode("duration_seconds", as: Double.self)),
            "emissions_kg": .number(try row.decode("emissions_kg", as: Double.self)),
            "energy_kwh": .number(try row.decode("energy_kwh", as: Double.self)),
            "cpu_energy_kwh": .number(try row.decode("cpu_energy_kwh", as: Double.self)),
            "gpu_energy_kwh": .number(try row.decode("gpu_energy_kwh", as: Double.self)),
            "ram_energy_kwh": .number(try row.decode("ram_energy_kwh", as: Double.self)),
            "water_liters": .number(try row.decode("water_liters", as: Double.self)),
            "cpu_power_w": .number(try row.decode("cpu_power_w", as: Double?.self)),
            "gpu_power_w": .number(try row.decode("gpu_power_w", as: Double?.self)),
            "ram_power_w": .number(try row.decode("ram_power_w", as: Double?.self)),
            "created_at": .date(try row.decode("created_at", as: Date.self)),
        ]
    }

    static func member(_ row: Row) throws -> JSONValue {
        var object: [String: JSONValue] = [
            "user_id": .id(try row.decode("user_id", as: UUID.self)),
            "email": .string(try row.decode("email")),
            "name": .string(try row.decode("name")),
            "created_at": .date(try row.decode("created_at", as: Date.self)),
        ]
        if let role = row["role"] { object["role"] = .string(role) }
        return .object(object)
    }

    static let tokenColumns = "t.id, t.kind, t.name, t.prefix, t.scope, t.project_id, t.organization_id, t.user_id, t.created_at, t.last_used_at, t.expires_at, t.revoked_at"

    static func token(_ row: Row) throws -> JSONValue {
        [
            "id": .id(try row.decode("id", as: UUID.self)),
            "kind": .string(try row.decode("kind")),
            "name": .string(try row.decode("name")),
            "prefix": .string(try row.decode("prefix")),
            "scope": .string(try row.decode("scope")),
            "project_id": .id(try row.decode("project_id", as: UUID?.self)),
            "organization_id": .id(try row.decode("organization_id", as: UUID?.self)),
            "user_id": .id(try row.decode("user_id", as: UUID?.self)),
            "created_at": .date(try row.decode("created_at", as: Date.self)),
            "last_used_at": .date(try row.decode("last_used_at", as: Date?.self)),
            "expires_at": .date(try row.decode("expires_at", as: Date?.self)),
            "revoked_at": .date(try row.decode("revoked_at", as: Date?.self)),
        ]
    }
}
