import Foundation
import HTTPServer
import SootStore

// The JSON representation of each store record: the REST API's shapes, and the base CodeCarbon's are cut from.

extension OrganizationRecord: JSONRepresentable {
    package var json: JSONValue {
        var object: [String: JSONValue] = [
            "id": .id(id),
            "name": .string(name),
            "slug": .string(slug),
            "description": .string(description),
            "created_at": .date(createdAt),
        ]
        if let role { object["role"] = .string(role) }
        return .object(object)
    }
}

extension TeamRecord: JSONRepresentable {
    package var json: JSONValue {
        [
            "id": .id(id),
            "organization_id": .id(organizationID),
            "name": .string(name),
            "slug": .string(slug),
            "description": .string(description),
            "created_at": .date(createdAt),
        ]
    }
}

extension ProjectRecord: JSONRepresentable {
    package var json: JSONValue {
        [
            "id": .id(id),
            "organization_id": .id(organizationID),
            "team_id": .id(teamID),
            "name": .string(name),
            "slug": .string(slug),
            "description": .string(description),
            "is_public": .bool(isPublic),
            "public_path": .text(publicPath),
            "created_at": .date(createdAt),
        ]
    }
}

extension ExperimentRecord: JSONRepresentable {
    package var json: JSONValue {
        [
            "id": .id(id),
            "organization_id": .id(organizationID),
            "team_id": .id(teamID),
            "project_id": .id(projectID),
            "name": .string(name),
            "description": .string(description),
            "timestamp": .date(timestamp),
            "country_name": .text(countryName),
            "country_iso_code": .text(countryISOCode),
            "region": .text(region),
            "on_cloud": .bool(onCloud),
            "cloud_provider": .text(cloudProvider),
            "cloud_region": .text(cloudRegion),
            "created_at": .date(createdAt),
        ]
    }
}

extension RunRecord: JSONRepresentable {
    package var json: JSONValue {
        [
            "id": .id(id),
            "organization_id": .id(organizationID),
            "team_id": .id(teamID),
            "project_id": .id(projectID),
            "experiment_id": .id(experimentID),
            "source": .string(source),
            "client_key": .text(clientKey),
            "started_at": .date(startedAt),
            "ended_at": .date(endedAt),
            "last_seen_at": .date(lastSeenAt),
            "os": .text(os),
            "python_version": .text(pythonVersion),
            "codecarbon_version": .text(codecarbonVersion),
            "cpu_count": .int(cpuCount),
            "cpu_model": .text(cpuModel),
            "gpu_count": .int(gpuCount),
            "gpu_model": .text(gpuModel),
            "longitude": .number(longitude),
            "latitude": .number(latitude),
            "region": .text(region),
            "provider": .text(provider),
            "country_name": .text(countryName),
            "country_iso_code": .text(countryISOCode),
            "cloud_provider": .text(cloudProvider),
            "cloud_region": .text(cloudRegion),
            "ram_total_size": .number(ramTotalSize),
            "tracking_mode": .text(trackingMode),
            "sample_count": .int(sampleCount),
            "duration_seconds": .number(durationSeconds),
            "emissions_kg": .number(emissionsKg),
            "energy_kwh": .number(energyKWh),
            "cpu_energy_kwh": .number(cpuEnergyKWh),
            "gpu_energy_kwh": .number(gpuEnergyKWh),
            "ram_energy_kwh": .number(ramEnergyKWh),
            "water_liters": .number(waterLiters),
            "cpu_power_w": .number(cpuPowerW),
            "gpu_power_w": .number(gpuPowerW),
            "ram_power_w": .number(ramPowerW),
            "created_at": .date(createdAt),
        ]
    }
}

extension MemberRecord: JSONRepresentable {
    package var json: JSONValue {
        var object: [String: JSONValue] = [
            "user_id": .id(userID),
            "email": .string(email),
            "name": .string(name),
            "created_at": .date(createdAt),
        ]
        if let role { object["role"] = .string(role) }
        return .object(object)
    }
}

extension TokenRecord: JSONRepresentable {
    package var json: JSONValue {
        [
            "id": .id(id),
            "kind": .string(kind),
            "name": .string(name),
            "prefix": .string(prefix),
            "scope": .string(scope),
            "project_id": .id(projectID),
            "organization_id": .id(organizationID),
            "user_id": .id(userID),
            "created_at": .date(createdAt),
            "last_used_at": .date(lastUsedAt),
            "expires_at": .date(expiresAt),
            "revoked_at": .date(revokedAt),
        ]
    }
}

extension InvitationRecord: JSONRepresentable {
    package var json: JSONValue {
        var object: [String: JSONValue] = [
            "id": .id(id),
            "organization_id": .id(organizationID),
            "team_id": .id(teamID),
            "email": .string(email),
            "role": .string(role),
            "created_at": .date(createdAt),
            "expires_at": .date(expiresAt),
            "status": "pending",
        ]
        if let link { object["link"] = .string(link) }
        return .object(object)
    }
}

extension UserRecord: JSONRepresentable {
    package var json: JSONValue {
        ["id": .id(id), "email": .string(email), "name": .string(name), "is_operator": .bool(isOperator), "created_at": .date(createdAt)]
    }
}

/// A value with a JSON representation.
package protocol JSONRepresentable {
    var json: JSONValue { get }
}

extension Paged: JSONRepresentable where Record: JSONRepresentable {
    /// `{"data": [...], "pagination": {"limit", "offset", "total"}}`.
    package var json: JSONValue {
        ["data": .array(items.map(\.json)),
         "pagination": ["limit": .int(page.limit), "offset": .int(page.offset), "total": .int(total)]]
    }
}

extension Array: JSONRepresentable where Element: JSONRepresentable {
    package var json: JSONValue { .array(map(\.json)) }
}

extension Response {
    /// A JSON response from a record or a list of them.
    static func json(_ value: some JSONRepresentable, status: HTTPStatus = .ok) -> Response {
        .json(value.json, status: status)
    }
}
