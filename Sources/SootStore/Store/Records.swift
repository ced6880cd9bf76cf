import Foundation
import Postgres

// Typed records of the hierarchy, as the store reads them. The web layer encodes them (JSON, CodeCarbon shapes,
// pages); nothing above the store sees a row.

/// An organization, with the caller's role in it when the query joined one.
package struct OrganizationRecord: Sendable, Equatable {
    package var id: UUID
    package var name: String
    package var slug: String
    package var description: String
    package var createdAt: Date
    package var role: String?

    package init(_ row: Row) throws {
        id = try row.decode("id")
        name = try row.decode("name")
        slug = try row.decode("slug")
        description = try row.decode("description")
        createdAt = try row.decode("created_at")
        role = row["role"]
    }
}

/// A team of an organization.
package struct TeamRecord: Sendable, Equatable {
    package var id: UUID
    package var organizationID: UUID
    package var name: String
    package var slug: String
    package var description: String
    package var createdAt: Date

    package init(_ row: Row) throws {
        id = try row.decode("id")
        organizationID = try row.decode("organization_id")
        name = try row.decode("name")
        slug = try row.decode("slug")
        description = try row.decode("description")
        createdAt = try row.decode("created_at")
    }
}

/// A project, with its public path when it is shared.
package struct ProjectRecord: Sendable, Equatable {
    package var id: UUID
    package var organizationID: UUID
    package var teamID: UUID
    package var name: String
    package var slug: String
    package var description: String
    package var isPublic: Bool
    package var createdAt: Date
    package var publicPath: String?

    package init(_ row: Row) throws {
        id = try row.decode("id")
        organizationID = try row.decode("organization_id")
        teamID = try row.decode("team_id")
        name = try row.decode("name")
        slug = try row.decode("slug")
        description = try row.decode("description")
        isPublic = try row.decode("is_public")
        createdAt = try row.decode("created_at")
        publicPath = try row.decode("public_slug", as: String?.self).map { "/p/\($0)" }
    }
}

/// An experiment: where its runs happen by default.
package struct ExperimentRecord: Sendable, Equatable {
    package var id: UUID
    package var organizationID: UUID
    package var teamID: UUID
    package var projectID: UUID
    package var name: String
    package var description: String
    package var timestamp: Date
    package var countryName: String?
    package var countryISOCode: String?
    package var region: String?
    package var onCloud: Bool
    package var cloudProvider: String?
    package var cloudRegion: String?
    package var createdAt: Date

    package init(_ row: Row) throws {
        id = try row.decode("id")
        organizationID = try row.decode("organization_id")
        teamID = try row.decode("team_id")
        projectID = try row.decode("project_id")
        name = try row.decode("name")
        description = try row.decode("description")
        timestamp = try row.decode("timestamp")
        countryName = try row.decode("country_name")
        countryISOCode = try row.decode("country_iso_code")
        region = try row.decode("region")
        onCloud = try row.decode("on_cloud")
        cloudProvider = try row.decode("cloud_provider")
        cloudRegion = try row.decode("cloud_region")
        createdAt = try row.decode("created_at")
    }
}

/// A run with its machine and its totals (sums of its samples).
package struct RunRecord: Sendable, Equatable {
    package var id: UUID
    package var organizationID: UUID
    package var teamID: UUID
    package var projectID: UUID
    package var experimentID: UUID
    package var source: String
    package var clientKey: String?
    package var startedAt: Date
    package var endedAt: Date?
    package var lastSeenAt: Date
    package var os: String?
    package var pythonVersion: String?
    package var codecarbonVersion: String?
    package var cpuCount: Int?
    package var cpuModel: String?
    package var gpuCount: Int?
    package var gpuModel: String?
    package var longitude: Double?
    package var latitude: Double?
    package var region: String?
    package var provider: String?
    package var countryName: String?
    package var countryISOCode: String?
    package var cloudProvider: String?
    package var cloudRegion: String?
    package var ramTotalSize: Double?
    package var trackingMode: String?
    package var sampleCount: Int
    package var durationSeconds: Double
    package var emissionsKg: Double
    package var energyKWh: Double
    package var cpuEnergyKWh: Double
    package var gpuEnergyKWh: Double
    package var ramEnergyKWh: Double
    package var waterLiters: Double
    package var cpuPowerW: Double?
    package var gpuPowerW: Double?
    package var ramPowerW: Double?
    package var createdAt: Date

    package init(_ row: Row) throws {
        id = try row.decode("id")
        organizationID = try row.decode("organization_id")
        teamID = try row.decode("team_id")
        projectID = try row.decode("project_id")
        experimentID = try row.decode("experiment_id")
        source = try row.decode("source")
        clientKey = try row.decode("client_key")
        startedAt = try row.decode("started_at")
        endedAt = try row.decode("ended_at")
        lastSeenAt = try row.decode("last_seen_at")
        os = try row.decode("os")
        pythonVersion = try row.decode("python_version")
        codecarbonVersion = try row.decode("codecarbon_version")
        cpuCount = try row.decode("cpu_count")
        cpuModel = try row.decode("cpu_model")
        gpuCount = try row.decode("gpu_count")
        gpuModel = try row.decode("gpu_model")
        longitude = try row.decode("longitude")
        latitude = try row.decode("latitude")
        region = try row.decode("region")
        provider = try row.decode("provider")
        countryName = try row.decode("country_name")
        countryISOCode = try row.decode("country_iso_code")
        cloudProvider = try row.decode("cloud_provider")
        cloudRegion = try row.decode("cloud_region")
        ramTotalSize = try row.decode("ram_total_size")
        trackingMode = try row.decode("tracking_mode")
        sampleCount = try row.decode("sample_count")
        durationSeconds = try row.decode("duration_seconds")
        emissionsKg = try row.decode("emissions_kg")
        energyKWh = try row.decode("energy_kwh")
        cpuEnergyKWh = try row.decode("cpu_energy_kwh")
        gpuEnergyKWh = try row.decode("gpu_energy_kwh")
        ramEnergyKWh = try row.decode("ram_energy_kwh")
        waterLiters = try row.decode("water_liters")
        cpuPowerW = try row.decode("cpu_power_w")
        gpuPowerW = try row.decode("gpu_power_w")
        ramPowerW = try row.decode("ram_power_w")
        createdAt = try row.decode("created_at")
    }
}

/// A member of an organization or team.
package struct MemberRecord: Sendable, Equatable {
    package var userID: UUID
    package var email: String
    package var name: String
    package var createdAt: Date
    package var role: String?

    package init(_ row: Row) throws {
        userID = try row.decode("user_id")
        email = try row.decode("email")
        name = try row.decode("name")
        createdAt = try row.decode("created_at")
        role = row["role"]
    }
}

/// An API token, never its secret.
package struct TokenRecord: Sendable, Equatable {
    package var id: UUID
    package var kind: String
    package var name: String
    package var prefix: String
    package var scope: String
    package var projectID: UUID?
    package var organizationID: UUID?
    package var userID: UUID?
    package var createdAt: Date
    package var lastUsedAt: Date?
    package var expiresAt: Date?
    package var revokedAt: Date?

    package init(_ row: Row) throws {
        id = try row.decode("id")
        kind = try row.decode("kind")
        name = try row.decode("name")
        prefix = try row.decode("prefix")
        scope = try row.decode("scope")
        projectID = try row.decode("project_id")
        organizationID = try row.decode("organization_id")
        userID = try row.decode("user_id")
        createdAt = try row.decode("created_at")
        lastUsedAt = try row.decode("last_used_at")
        expiresAt = try row.decode("expires_at")
        revokedAt = try row.decode("revoked_at")
    }
}

/// A pending invitation to an organization (never its secret).
package struct InvitationRecord: Sendable, Equatable {
    package var id: UUID
    package var organizationID: UUID
    package var teamID: UUID?
    package var email: String
    package var role: String
    package var createdAt: Date
    package var expiresAt: Date
    /// The link, only when just created (its secret is not stored).
    package var link: String?

    package init(_ row: Row) throws {
        id = try row.decode("id")
        organizationID = try row.decode("organization_id")
        teamID = try row.decode("team_id")
        email = try row.decode("email")
        role = try row.decode("role")
        createdAt = try row.decode("created_at")
        expiresAt = try row.decode("expires_at")
    }
}

/// The signed-in person.
package struct UserRecord: Sendable, Equatable {
    package var id: UUID
    package var email: String
    package var name: String
    package var isOperator: Bool
    package var createdAt: Date

    package init(_ row: Row) throws {
        id = try row.decode("id")
        email = try row.decode("email")
        name = try row.decode("name")
        isOperator = try row.decode("is_operator")
        createdAt = try row.decode("created_at")
    }
}
