import Foundation
import Postgres

extension Store {
    /// An equivalent as the methodology page lists it: its factor and where it comes from.
    package struct EquivalentSource: Sendable {
        package let label: String
        package let kgPerUnit: Double
        package let unit: String
        package let source: String
        package let year: Int?
        package let note: String?
    }

    /// A grid-intensity dataset: how many grids, their range, source and years.
    package struct GridDataset: Sendable {
        package let kind: String
        package let provider: String
        package let source: String
        package let count: Int
        package let firstYear: Int?
        package let lastYear: Int?
        package let lowest: Double
        package let highest: Double
    }

    /// Every constant and dataset Soot computes with, as a migration seeded them.
    package func methodology() throws -> (equivalents: [EquivalentSource], datasets: [GridDataset]) {
        let equivalents = try database.query("SELECT * FROM equivalents ORDER BY position").rows.map { row in
            EquivalentSource(label: try row.decode("label"), kgPerUnit: try row.decode("kg_co2e_per_unit"), unit: try row.decode("unit"),
                             source: try row.decode("source"), year: try row.decode("year"), note: try row.decode("note"))
        }
        let datasets = try database.query("""
            SELECT kind, provider, source, count(*) AS n, min(year) AS first_year, max(year) AS last_year,
                   min(g_co2e_per_kwh) AS lowest, max(g_co2e_per_kwh) AS highest
            FROM grid_intensities GROUP BY kind, provider, source ORDER BY kind DESC, provider
            """).rows.map { row in
            GridDataset(kind: try row.decode("kind"), provider: try row.decode("provider"), source: try row.decode("source"),
                        count: try row.decode("n"), firstYear: try row.decode("first_year"), lastYear: try row.decode("last_year"),
                        lowest: try row.decode("lowest"), highest: try row.decode("highest"))
        }
        return (equivalents, datasets)
    }

    /// The caller a token's prefix and secret hash stand for: unrevoked, unexpired, of a user not disabled, of
    /// `kind`; 401 otherwise. Marks it used (at most once a minute).
    package func caller(tokenKind kind: TokenFormat.Kind, prefix: String, hash: String) throws -> Caller {
        guard let row = try database.query("""
            SELECT t.id, t.kind, t.secret_hash, t.scope, t.user_id, t.project_id, t.organization_id,
                   (t.last_used_at IS NULL OR t.last_used_at < now() - interval '1 minute') AS stale
            FROM api_tokens t LEFT JOIN users u ON u.id = t.user_id
            WHERE t.prefix = \(prefix) AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > now())
              AND (t.user_id IS NULL OR u.disabled_at IS NULL)
            """).first else { throw AppError.unauthorized("The token is not valid or was revoked.") }
        let stored: String = try row.decode("secret_hash")
        guard Crypto.constantTimeEquals(stored, hash),
              try row.decode("kind", as: String.self) == kind.databaseValue else {
            throw AppError.unauthorized("The token is not valid or was revoked.")
        }
        let id: UUID = try row.decode("id")
        if try row.decode("stale", as: Bool.self) {
            try database.query("UPDATE api_tokens SET last_used_at = now() WHERE id = \(id)")
        }
        let canWrite = try row.decode("scope", as: String.self) == "write"
        switch kind {
        case .personal:
            return Caller(identity: .user(try row.decode("user_id")), credential: .personalToken(id), canWrite: canWrite)
        case .project:
            return Caller(identity: .project(projectID: try row.decode("project_id"), organizationID: try row.decode("organization_id"),
                                             tokenID: id),
                          credential: .projectToken(id), canWrite: canWrite)
        }
    }
}
