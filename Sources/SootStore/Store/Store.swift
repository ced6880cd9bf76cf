import Foundation
import Logging
import Postgres

/// The application's queries. Every read of a row by id carries the caller's access predicate in the same
/// statement, so "not found" and "not yours" are the same answer (404).
package struct Store: Sendable {
    package internal(set) var database: ConnectionPool

    package init(database: ConnectionPool) { self.database = database }

    /// A streaming replica dashboards and exports read when it is fresh (`reading(_:)`); nil without one.
    package var replica: ReadReplica?

    /// Counts what imports commit (the web sets it; `soot import` runs without).
    package var metrics: IngestMetrics?

    /// The main pool now: connections checked out, idle, and callers waiting for one (for metrics).
    package var poolUsage: (inUse: Int, idle: Int, waiting: Int) {
        let usage = database.usage
        return (usage.inUse, database.openConnections - usage.inUse, usage.waiting)
    }

    /// What the main pool has done so far (waits, timeouts, connects, dropped connections), for metrics.
    package var poolStatistics: (waits: UInt64, waitSeconds: Double, timeouts: UInt64, connects: UInt64, connectFailures: UInt64,
                                 dropped: UInt64) {
        let s = database.statistics
        return (s.waits, s.waitSeconds, s.timeouts, s.connects, s.connectFailures, s.dropped)
    }

    /// Parses an id from a URL; anything that is not a UUID cannot exist (404).
    package static func id(_ text: String?) throws -> UUID {
        guard let text, let id = UUID(uuidString: text) else { throw AppError.notFound() }
        return id
    }

    /// `count(*) OVER ()` of the first row, or 0.
    package static func total(_ result: QueryResult) throws -> Int {
        try result.first?.decode("total", as: Int.self) ?? 0
    }

    /// Inserts with a slug made from `name`, adding -2, -3 ... while a sibling has it.
    package static func withUniqueSlug<T>(_ name: String, _ insert: (String) throws -> T) throws -> T {
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

/// The column lists the records are read from.
package enum Representation {
    package static let runColumns = """
        r.id, r.organization_id, r.team_id, r.project_id, r.experiment_id, r.source, r.client_key, r.started_at, r.ended_at,
        r.last_seen_at, r.os, r.python_version, r.codecarbon_version, r.cpu_count, r.cpu_model, r.gpu_count, r.gpu_model,
        r.longitude, r.latitude, r.region, r.provider, r.country_name, r.country_iso_code, r.cloud_provider, r.cloud_region,
        r.ram_total_size, r.tracking_mode, r.sample_count, r.duration_seconds, r.emissions_kg, r.energy_kwh,
        r.cpu_energy_kwh, r.gpu_energy_kwh, r.ram_energy_kwh, r.water_liters, r.cpu_power_w, r.gpu_power_w, r.ram_power_w,
        r.created_at
        """

    package static let tokenColumns = "t.id, t.kind, t.name, t.prefix, t.scope, t.project_id, t.organization_id, t.user_id, t.created_at, t.last_used_at, t.expires_at, t.revoked_at"
}

/// One page of a list, and how many there are in all.
package struct Paged<Record: Sendable>: Sendable {
    package let items: [Record]
    package let total: Int
    package let page: Page

    package init(_ items: [Record], total: Int, page: Page) {
        self.items = items
        self.total = total
        self.page = page
    }
}

/// `limit` and `offset` of a list.
package struct Page: Sendable {
    package let limit: Int
    package let offset: Int

    package init(limit: Int = 50, offset: Int = 0) {
        self.limit = limit
        self.offset = offset
    }

    /// The rows of `result` as records, with the `count(*) OVER ()` total.
    package func of<Record>(_ result: QueryResult, _ read: (Row) throws -> Record) throws -> Paged<Record> {
        Paged(try result.rows.map(read), total: try Store.total(result), page: self)
    }
}

/// An optional date range (`to` exclusive).
package struct DateRange: Sendable {
    package let from: Date?
    package let to: Date?

    package init(from: Date? = nil, to: Date? = nil) {
        self.from = from
        self.to = to
    }
}

extension Store {
    /// A store on a pool of its own of `connections` connections to the same database (reports and imports use
    /// one, beside the main pool).
    package func separatePool(connections: Int, acquireTimeout: Double, logger: Logger) -> Store {
        var store = Store(database: ConnectionPool(url: database.url, configuration: .init(maximumConnections: connections,
                                                                                          acquireTimeout: acquireTimeout), logger: logger))
        store.metrics = metrics
        return store
    }

    /// Closes the pool's connections.
    package func close() { database.close() }

    /// Whether the database answers (`/readyz`).
    package func ping() throws { try database.query("SELECT 1") }

    /// The group-commit writer for single samples, on connections of its own.
    package func makeBatcher(configuration: SampleBatcher.Configuration, logger: Logger, metrics: IngestMetrics? = nil) -> SampleBatcher {
        SampleBatcher(url: database.url, configuration: configuration, logger: logger, metrics: metrics)
    }

    /// Login sessions in this database.
    package func sessions(lifetime: Double) -> SessionStore { SessionStore(database: database, lifetime: lifetime) }

    /// The sign-in throttle's counters in this database.
    package var loginThrottle: LoginThrottle { LoginThrottle(database: database) }

    /// The report queries on this store's pool.
    package var reports: Reports { Reports(database: database) }
}
