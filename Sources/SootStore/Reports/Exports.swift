import Emissions
import Foundation
import Postgres

/// Reports as CSV (RFC 4180) or JSON, streamed from PostgreSQL as they are read, for an organization, a team, a
/// project or an experiment over a date range, and a run's samples. A run belongs to a range when it has samples in
/// it, and a run that crosses an edge of the range counts only its samples inside it (the `partial` column says
/// so), so the rows add up to the dashboard's totals for the same range.
///
/// The encoders work on PostgreSQL's own text (CSV through `COPY … (FORMAT csv)`, rewritten line by line; JSON from
/// single-row mode), never on Swift values per cell: that is what keeps a million-row report under two seconds.
package enum ReportFormat: String, Sendable { case csv, json

    package var contentType: String { self == .csv ? "text/csv; charset=utf-8; header=present" : "application/json" }
}

/// How a column is written: user or client text (quoted and neutralised in CSV, a JSON string), a value Soot made
/// (an id: written as is, a JSON string), a timestamptz (rewritten to ISO 8601), or a number or boolean.
package enum ReportKind: Sendable { case text, plain, number, boolean, time }

/// Where a streamed report's bytes go, and how to push them out.
package struct ReportSink {
    package let write: ([UInt8]) throws -> Void
    package let flush: () throws -> Void

    package init(write: @escaping ([UInt8]) throws -> Void, flush: @escaping () throws -> Void) {
        self.write = write
        self.flush = flush
    }
}

/// A report ready to stream: its access was checked and its scope resolved before any byte is sent.
package struct ReportStream: Sendable {
    package let fileName: String
    package let format: ReportFormat
    package let run: @Sendable (ReportSink) throws -> Void
}

/// A small report held in memory (the summary).
package struct ReportFile: Sendable {
    package let fileName: String
    package let format: ReportFormat
    package let bytes: [UInt8]
}

/// The scope a report covers, resolved and access-checked.
package struct ReportScope: Sendable {
    package let level: Level
    package let id: UUID
    package let organizationID: UUID
    package let name: String
}

/// The reports, on their own pool (`ReportCapacity`'s), not the main one.
package struct Reports: Sendable {
    package let database: ConnectionPool

    package init(database: ConnectionPool) { self.database = database }

    package struct Column: Sendable {
        package let header: String
        package let sql: String
        package let kind: ReportKind
    }

    // MARK: Scope

    /// The organization, team, project or experiment `id`, if the caller may read it (or a project in it).
    package func scope(_ caller: Caller, level: Level, id: UUID) throws -> ReportScope {
        let row: Row?
        switch level {
        case .organization:
            row = try database.query("""
                SELECT o.id AS organization_id, o.name FROM organizations o
                WHERE o.id = \(id) AND (\(Access.organizationMember(caller, organizationColumn: "o.id"))
                   OR EXISTS (SELECT 1 FROM projects p WHERE p.organization_id = o.id AND \(Store.projectAccess(caller))))
                """).first
        case .team:
            row = try database.query("""
                SELECT t.organization_id, t.name FROM teams t
                WHERE t.id = \(id) AND (\(Access.team(caller, organizationColumn: "t.organization_id", teamColumn: "t.id"))
                   OR EXISTS (SELECT 1 FROM projects p WHERE p.team_id = t.id AND \(Store.projectAccess(caller))))
                """).first
        case .project:
            row = try database.query("SELECT p.organization_id, p.name FROM projects p WHERE p.id = \(id) AND \(Store.projectAccess(caller))").first
        case .experiment, .run:
            row = try database.query("""
                SELECT e.organization_id, e.name FROM experiments e WHERE e.id = \(id) AND \(Store.projectAccess(caller, "e", idColumn: "project_id"))
                """).first
        }
        guard let row else { throw AppError.notFound("No such \(level.rawValue).") }
        return ReportScope(level: level, id: id, organizationID: try row.decode("organization_id"), name: try row.decode("name"))
    }

    /// `soot-{level}-{name}-{what}-{range}.csv`, ASCII only.
    static func fileName(_ scope: ReportScope, _ what: String, _ range: DashboardRange, _ format: ReportFormat) -> String {
        let name = Naming.slug(scope.name)
        let span = range.from.map { "\($0)_\(range.to ?? "")" } ?? "all-time"
        return "soot-\(scope.level.rawValue)-\(name.isEmpty ? "unnamed" : String(name.prefix(60)))-\(what)-\(span).\(format.rawValue)"
    }

    // MARK: Runs

    /// The report's columns. The first eight (ids and names up the tree) come from one small query of the scope's
    /// experiments, looked up per row by experiment id in memory, so the big query needs no joins.
    package static let runColumns: [Column] = [
        Column(header: "organization_id", sql: "", kind: .plain),
        Column(header: "organization", sql: "", kind: .text),
        Column(header: "team_id", sql: "", kind: .plain),
        Column(header: "team", sql: "", kind: .text),
        Column(header: "project_id", sql: "", kind: .plain),
        Column(header: "project", sql: "", kind: .text),
        Column(header: "experiment_id", sql: "r.experiment_id", kind: .plain),
        Column(header: "experiment", sql: "", kind: .text),
        Column(header: "run_id", sql: "r.id", kind: .plain),
        Column(header: "started_at", sql: "r.started_at", kind: .time),
        Column(header: "ended_at", sql: "coalesce(r.ended_at, r.last_sample_at)", kind: .time),
        Column(header: "duration_s", sql: "f.duration", kind: .number),
        Column(header: "energy_kwh", sql: "f.energy", kind: .number),
        Column(header: "cpu_energy_kwh", sql: "f.cpu", kind: .number),
        Column(header: "gpu_energy_kwh", sql: "f.gpu", kind: .number),
        Column(header: "ram_energy_kwh", sql: "f.ram", kind: .number),
        Column(header: "emissions_kg_co2e", sql: "f.emissions", kind: .number),
        Column(header: "intensity_g_co2e_per_kwh", sql: "CASE WHEN f.energy > 0 THEN f.emissions * 1000 / f.energy END", kind: .number),
        Column(header: "water_l", sql: "f.water", kind: .number),
        Column(header: "samples", sql: "f.n", kind: .number),
        Column(header: "partial", sql: "f.partial", kind: .boolean),
        Column(header: "country_name", sql: "r.country_name", kind: .text),
        Column(header: "country_iso_code", sql: "r.country_iso_code", kind: .text),
        Column(header: "region", sql: "r.region", kind: .text),
        Column(header: "cloud_provider", sql: "r.cloud_provider", kind: .text),
        Column(header: "cloud_region", sql: "r.cloud_region", kind: .text),
        Column(header: "longitude", sql: "r.longitude", kind: .number),
        Column(header: "latitude", sql: "r.latitude", kind: .number),
        Column(header: "cpu_model", sql: "r.cpu_model", kind: .text),
        Column(header: "cpu_count", sql: "r.cpu_count", kind: .number),
        Column(header: "gpu_model", sql: "r.gpu_model", kind: .text),
        Column(header: "gpu_count", sql: "r.gpu_count", kind: .number),
        Column(header: "ram_total_gb", sql: "r.ram_total_size", kind: .number),
        Column(header: "os", sql: "r.os", kind: .text),
        Column(header: "python_version", sql: "r.python_version", kind: .text),
        Column(header: "codecarbon_version", sql: "r.codecarbon_version", kind: .text),
        Column(header: "source", sql: "r.source", kind: .plain),
    ]

    /// The runs of a scope over a range with their figures inside the range (see the type's comment).
    static func runsQuery(_ scope: ReportScope, visibility: Visibility, range: DashboardRange) -> SQLQuery {
        let select = runColumns.filter { !$0.sql.isEmpty }.map(\.sql).joined(separator: ", ")
        if range.from == nil && range.to == nil {
            // All time: every run whole, straight from its totals (the planner flattens this lateral away).
            return """
                SELECT \(unsafeSQL: select)
                FROM runs r
                CROSS JOIN LATERAL (
                    SELECT r.sample_count::bigint AS n, r.duration_seconds AS duration, r.energy_kwh AS energy, r.cpu_energy_kwh AS cpu,
                           r.gpu_energy_kwh AS gpu, r.ram_energy_kwh AS ram, r.emissions_kg AS emissions, r.water_liters AS water, false AS partial
                ) f
                WHERE r.\(scope.level.keyColumn) = \(scope.id) AND \(visibility.predicate("r"))
                ORDER BY r.started_at
                """
        }
        return """
            WITH b AS (SELECT \(range.lowerBound) AS lo, \(range.upperBound) AS hi)
            SELECT \(unsafeSQL: select)
            FROM b, runs r
            CROSS JOIN LATERAL (
                SELECT r.sample_count::bigint AS n, r.duration_seconds AS duration, r.energy_kwh AS energy, r.cpu_energy_kwh AS cpu,
                       r.gpu_energy_kwh AS gpu, r.ram_energy_kwh AS ram, r.emissions_kg AS emissions, r.water_liters AS water, false AS partial
                WHERE r.first_sample_at IS NULL
                   OR ((b.lo IS NULL OR r.first_sample_at >= b.lo) AND (b.hi IS NULL OR r.last_sample_at < b.hi))
                UNION ALL
                SELECT coalesce(sum(s.sample_count), 0)::bigint, coalesce(sum(s.duration_seconds), 0), coalesce(sum(s.energy_kwh), 0), coalesce(sum(s.cpu_energy_kwh), 0),
                       coalesce(sum(s.gpu_energy_kwh), 0), coalesce(sum(s.ram_energy_kwh), 0), coalesce(sum(s.emissions_kg), 0),
                       coalesce(sum(s.water_liters), 0), true
                FROM emission_samples s
                WHERE s.run_id = r.id AND (b.lo IS NULL OR s."timestamp" >= b.lo) AND (b.hi IS NULL OR s."timestamp" < b.hi)
                HAVING NOT (r.first_sample_at IS NULL
                   OR ((b.lo IS NULL OR r.first_sample_at >= b.lo) AND (b.hi IS NULL OR r.last_sample_at < b.hi)))
            ) f
            WHERE r.\(scope.level.keyColumn) = \(scope.id) AND \(visibility.predicate("r"))
              AND CASE WHEN r.first_sample_at IS NULL
                       THEN (b.lo IS NULL OR r.started_at >= b.lo) AND (b.hi IS NULL OR r.started_at < b.hi)
                       ELSE (b.lo IS NULL OR r.last_sample_at >= b.lo) AND (b.hi IS NULL OR r.first_sample_at < b.hi) END
              AND (f.n > 0 OR r.first_sample_at IS NULL)
            ORDER BY r.started_at
            """
    }

    /// Ids and names of the scope's experiments and their project, team and organization, by experiment id.
    func experimentNames(_ scope: ReportScope) throws -> [String: [String]] {
        let column: SQLQuery = scope.level == .experiment ? "e.id" : "e.\(scope.level.keyColumn)"
        var names: [String: [String]] = [:]
        for row in try database.query("""
            SELECT o.id AS o, o.name AS on, t.id AS t, t.name AS tn, p.id AS p, p.name AS pn, e.id AS e, e.name AS en
            FROM experiments e JOIN projects p ON p.id = e.project_id JOIN teams t ON t.id = e.team_id JOIN organizations o ON o.id = e.organization_id
            WHERE \(column) = \(scope.id)
            """).rows {
            names[row["e"]!] = ["o", "on", "t", "tn", "p", "pn", "e", "en"].map { row[$0] ?? "" }
        }
        return names
    }

    /// One row per run of the scope over the range.
    package func runs(_ caller: Caller, scope: ReportScope, range: DashboardRange, format: ReportFormat) throws -> ReportStream {
        let visibility = try Visibility(database, caller: caller, organizationID: scope.organizationID)
        let query = Self.runsQuery(scope, visibility: visibility, range: range)
        let names = try experimentNames(scope)
        let columns = Self.runColumns
        // CSV: the experiment id that starts each COPY line is replaced by the eight id and name fields, encoded once.
        var encoded: [UUID: [UInt8]] = [:]
        for (id, tree) in names {
            var encoder = CSVEncoder(capacity: 256)
            for (index, text) in tree.enumerated() {
                if columns[index].kind == .text { encoder.text(text) } else { encoder.plain(text) }
            }
            if let uuid = UUID(uuidString: id) { encoded[uuid] = encoder.take() }
        }
        let prefixes = encoded
        let unknown = Array(repeating: UInt8(ascii: ","), count: 7)
        let rewriter = CSVCopyRewriter(kinds: [.plain] + columns[8...].map(\.kind)) { field in
            UUID(postgresBytes: field).flatMap { prefixes[$0] } ?? unknown
        }
        return stream(columns.map(\.header), query, format: format, fileName: Self.fileName(scope, "runs", range, format),
                      csv: rewriter) { row, cell in
            let tree = row.bytes(0).flatMap { names[String(decoding: $0, as: UTF8.self)] } ?? Array(repeating: "", count: 8)
            for index in 0..<8 {
                var text = tree[index]
                text.withUTF8 { cell($0, columns[index].kind) }
            }
            for index in 8..<columns.count { cell(row.bytes(index - 7), columns[index].kind) }
        }
    }

    // MARK: Samples

    package static let sampleColumns: [Column] = [
        Column(header: "sample_id", sql: "s.id", kind: .plain),
        Column(header: "run_id", sql: "s.run_id", kind: .plain),
        Column(header: "timestamp", sql: "s.\"timestamp\"", kind: .time),
        Column(header: "duration_s", sql: "s.duration_seconds", kind: .number),
        Column(header: "energy_kwh", sql: "s.energy_kwh", kind: .number),
        Column(header: "cpu_energy_kwh", sql: "s.cpu_energy_kwh", kind: .number),
        Column(header: "gpu_energy_kwh", sql: "s.gpu_energy_kwh", kind: .number),
        Column(header: "ram_energy_kwh", sql: "s.ram_energy_kwh", kind: .number),
        Column(header: "emissions_kg_co2e", sql: "s.emissions_kg", kind: .number),
        Column(header: "emissions_rate_kg_per_s", sql: "s.emissions_rate", kind: .number),
        Column(header: "cpu_power_w", sql: "s.cpu_power_w", kind: .number),
        Column(header: "gpu_power_w", sql: "s.gpu_power_w", kind: .number),
        Column(header: "ram_power_w", sql: "s.ram_power_w", kind: .number),
        Column(header: "cpu_utilization_percent", sql: "s.cpu_utilization_percent", kind: .number),
        Column(header: "gpu_utilization_percent", sql: "s.gpu_utilization_percent", kind: .number),
        Column(header: "ram_utilization_percent", sql: "s.ram_utilization_percent", kind: .number),
        Column(header: "water_l", sql: "s.water_liters", kind: .number),
        Column(header: "client_key", sql: "s.client_key", kind: .text),
        // 1, or how many samples a row folded by retention stands for (--sample-retention).
        Column(header: "samples", sql: "s.sample_count", kind: .number),
    ]

    /// Every sample of a run the caller may read.
    package func samples(_ caller: Caller, runID: UUID, format: ReportFormat) throws -> ReportStream {
        guard try database.query("""
            SELECT 1 FROM runs r WHERE r.id = \(runID) AND \(Store.projectAccess(caller, "r", idColumn: "project_id"))
            """).first != nil else { throw AppError.notFound("No such run.") }
        let select = Self.sampleColumns.map { "\($0.sql) AS \($0.header)" }.joined(separator: ", ")
        let query: SQLQuery = """
            SELECT \(unsafeSQL: select) FROM emission_samples s WHERE s.run_id = \(runID) ORDER BY s."timestamp", s.id
            """
        let columns = Self.sampleColumns
        return stream(columns.map(\.header), query, format: format, fileName: "soot-run-\(runID.lowercaseText)-samples.\(format.rawValue)",
                      csv: CSVCopyRewriter(kinds: columns.map(\.kind))) { row, cell in
            for (index, column) in columns.enumerated() { cell(row.bytes(index), column.kind) }
        }
    }

    // MARK: Summary

    /// One row per team, project or experiment (`by`, below the scope; the level below it by default) with totals
    /// and equivalents.
    package func summary(_ caller: Caller, scope: ReportScope, by asked: Level?, range: DashboardRange, format: ReportFormat) throws -> ReportFile {
        let levels: [Level] = [.organization, .team, .project, .experiment]
        let scopeIndex = levels.firstIndex(of: scope.level) ?? 3
        let by = asked ?? levels[min(levels.count - 1, scopeIndex + 1)]
        guard let byIndex = levels.firstIndex(of: by), byIndex > scopeIndex || (scopeIndex == 3 && byIndex == 3) else {
            throw AppError.invalid("by", "by must be team, project or experiment, below the report's scope.")
        }
        let visibility = try Visibility(database, caller: caller, organizationID: scope.organizationID)
        let names: SQLQuery
        let joins: SQLQuery
        switch by {
        case .team:
            names = "o.name AS organization, c.name AS team"
            joins = "JOIN organizations o ON o.id = c.organization_id"
        case .project:
            names = "o.name AS organization, t.name AS team, c.name AS project"
            joins = "JOIN organizations o ON o.id = c.organization_id JOIN teams t ON t.id = c.team_id"
        default:
            names = "o.name AS organization, t.name AS team, p.name AS project, c.name AS experiment"
            joins = "JOIN organizations o ON o.id = c.organization_id JOIN teams t ON t.id = c.team_id JOIN projects p ON p.id = c.project_id"
        }
        let childVisibility: SQLQuery = by == .team
            ? (visibility.teams.map { "c.id = ANY(\($0)::uuid[])" } ?? Access.team(caller, organizationColumn: "c.organization_id", teamColumn: "c.id"))
            : (by == .project ? Store.projectAccess(caller, "c", idColumn: "id") : visibility.predicate("c"))
        let inScope: SQLQuery = scope.level == by ? "c.id" : "c.\(scope.level.keyColumn)"
        let rows = try database.query("""
            SELECT c.id, \(names),
                   coalesce(d.samples, 0) AS samples, coalesce(d.duration, 0) AS duration, coalesce(d.energy, 0) AS energy,
                   coalesce(d.cpu, 0) AS cpu, coalesce(d.gpu, 0) AS gpu, coalesce(d.ram, 0) AS ram, coalesce(d.emissions, 0) AS emissions,
                   coalesce(d.water, 0) AS water,
                   (SELECT count(*) FROM runs r WHERE r.\(by.keyColumn) = c.id AND \(range.contains("r.started_at"))) AS runs
            FROM \(by.table) c \(joins)
            LEFT JOIN (
                SELECT x.\(by.keyColumn) AS child, sum(x.sample_count)::bigint AS samples, sum(x.duration_seconds) AS duration,
                       sum(x.energy_kwh) AS energy, sum(x.cpu_energy_kwh) AS cpu, sum(x.gpu_energy_kwh) AS gpu, sum(x.ram_energy_kwh) AS ram,
                       sum(x.emissions_kg) AS emissions, sum(x.water_liters) AS water
                FROM experiment_days x
                WHERE x.\(scope.level.keyColumn) = \(scope.id) AND \(range.containsDay("x.day"))
                GROUP BY 1
            ) d ON d.child = c.id
            WHERE \(inScope) = \(scope.id) AND \(childVisibility)
            ORDER BY emissions DESC, c.id
            """).rows
        let equivalents = try DashboardData.equivalents(database)
        let nameHeaders = levels[...byIndex].map(\.rawValue)
        var headers = [by.rawValue + "_id"] + nameHeaders
        headers += ["runs_started", "samples", "duration_s", "energy_kwh", "cpu_energy_kwh", "gpu_energy_kwh", "ram_energy_kwh",
                    "emissions_kg_co2e", "intensity_g_co2e_per_kwh", "water_l"]
        headers += equivalents.map(\.key)
        // Teams' and projects' budgets, as of now (whatever the report's range): for each period kind its limit, what
        // is used, the forecast and the state; empty where the row has no such budget.
        var budgets: [UUID: [BudgetPeriod.Kind: BudgetRecord]] = [:]
        if by == .team || by == .project {
            let ids = try rows.map { try $0.decode("id", as: UUID.self) }
            let own: SQLQuery = by == .team ? "b.team_id = ANY(\(ids)::uuid[]) AND b.project_id IS NULL" : "b.project_id = ANY(\(ids)::uuid[])"
            for row in try database.query("""
                SELECT \(unsafeSQL: Store.budgetColumns) FROM budgets b \(unsafeSQL: Store.budgetJoins)
                WHERE b.organization_id = \(scope.organizationID) AND \(own)
                """).rows {
                let budget = try Store.budgetRecord(database, row, now: Date())
                budgets[budget.scopeID, default: [:]][budget.period.kind] = budget
            }
            for kind in BudgetPeriod.Kind.allCases {
                headers += ["limit_kg", "used_kg", "forecast_kg", "state"].map { "budget_\(kind.rawValue)_\($0)" }
            }
        }
        var encoder = RowEncoder(format: format, headers: headers)
        var bytes = encoder.start()
        for row in rows {
            var cells: [(String?, ReportKind)] = [(row["id"], .plain)]
            for level in nameHeaders { cells.append((row[level], .text)) }
            let emissions: Double = try row.decode("emissions")
            let energy: Double = try row.decode("energy")
            for key in ["runs", "samples", "duration", "energy", "cpu", "gpu", "ram", "emissions"] { cells.append((row[key], .number)) }
            cells.append((energy > 0 ? DecimalText.format(emissions * 1000 / energy) : nil, .number))
            cells.append((row["water"], .number))
            for equivalent in equivalents { cells.append((DecimalText.format(equivalent.units(for: emissions)), .number)) }
            if by == .team || by == .project {
                let own = budgets[try row.decode("id", as: UUID.self)] ?? [:]
                for kind in BudgetPeriod.Kind.allCases {
                    let budget = own[kind]
                    cells.append((budget.map { DecimalText.format($0.limitKg) }, .number))
                    cells.append((budget.map { DecimalText.format($0.emissions.used) }, .number))
                    cells.append((budget.map { DecimalText.format($0.emissions.forecast) }, .number))
                    cells.append((budget?.state, .plain))
                }
            }
            encoder.row { cell in
                for (text, kind) in cells {
                    if var text { text.withUTF8 { cell($0, kind) } } else { cell(nil, kind) }
                }
            }
            bytes += encoder.take()
        }
        return ReportFile(fileName: Self.fileName(scope, "summary-by-\(by.rawValue)", range, format), format: format,
                          bytes: bytes + encoder.finish())
    }

    // MARK: Streaming

    /// Streams `query`'s rows as they arrive: the connection is held while the client reads; a slow client slows
    /// the query instead of filling memory. An error after the first byte ends the transfer without its last chunk,
    /// so the client sees a broken download rather than a short file. Timestamps come in PostgreSQL's ISO output
    /// in UTC (set for this transaction) and are written as ISO 8601 with an offset.
    ///
    /// CSV is read with `COPY … (FORMAT csv)` and rewritten by `csv` (PostgreSQL quotes and escapes, Soot turns the
    /// lines into its records); JSON reads the rows in single-row mode and builds each object from `cells`.
    func stream(_ headers: [String], _ query: SQLQuery, format: ReportFormat, fileName: String, csv rewriter: CSVCopyRewriter,
                _ cells: @escaping @Sendable (RawRow, _ cell: (UnsafeBufferPointer<UInt8>?, ReportKind) -> Void) -> Void) -> ReportStream {
        let database = self.database
        return ReportStream(fileName: fileName, format: format) { sink in
            var out = RowEncoder(format: format, headers: headers)
            try sink.write(out.start())
            try sink.flush()
            try database.withConnection { connection in
                try connection.transaction { connection in
                    _ = try connection.execute("SET LOCAL TimeZone = 'UTC'; SET LOCAL DateStyle = 'ISO'; SET LOCAL jit = off")
                    if format == .csv {
                        var buffer: [UInt8] = []
                        buffer.reserveCapacity(68 * 1024)
                        try connection.copyCSV(query) { line in
                            rewriter.append(line, to: &buffer)
                            if buffer.count >= 60 * 1024 {
                                try sink.write(buffer)
                                buffer.removeAll(keepingCapacity: true)
                            }
                            return true
                        }
                        try sink.write(buffer)
                        return
                    }
                    try connection.streamRaw(query) { row in
                        out.row { cell in cells(row, cell) }
                        if out.count >= 60 * 1024 { try sink.write(out.take()) }
                        return true
                    }
                }
            }
            try sink.write(out.take() + out.finish())
            try sink.flush()
        }
    }
}

/// Rows as CSV records or as the objects of a JSON array, on bytes.
struct RowEncoder {
    let format: ReportFormat
    let headers: [String]
    private var csv = CSVEncoder()
    private var json: [UInt8] = []
    private var rowCount = 0
    private let keys: [[UInt8]]

    init(format: ReportFormat, headers: [String]) {
        self.format = format
        self.headers = headers
        keys = headers.map { Array("\"\($0)\":".utf8) }
        json.reserveCapacity(64 * 1024)
    }

    var count: Int { format == .csv ? csv.bytes.count : json.count }

    mutating func start() -> [UInt8] {
        if format == .json { return Array("[".utf8) }
        for header in headers { csv.plain(header) }
        csv.endRow()
        return csv.take()
    }

    mutating func row(_ body: (_ cell: (UnsafeBufferPointer<UInt8>?, ReportKind) -> Void) -> Void) {
        if format == .csv {
            body { bytes, kind in
                switch kind {
                case .text: csv.text(bytes)
                case .time:
                    if let bytes { ISOTimestamp.withRewritten(bytes) { csv.plain($0) } } else { csv.plain(nil as UnsafeBufferPointer<UInt8>?) }
                case .number: csv.number(bytes)
                case .plain, .boolean:
                    if kind == .boolean, let bytes, bytes.count == 1 {
                        csv.plain(bytes[0] == UInt8(ascii: "t") ? "true" : "false")
                    } else {
                        csv.plain(bytes)
                    }
                }
            }
            csv.endRow()
        } else {
            json.append(contentsOf: rowCount == 0 ? Array("\n{".utf8) : Array(",\n{".utf8))
            var index = 0
            body { bytes, kind in
                if index > 0 { json.append(UInt8(ascii: ",")) }
                json.append(contentsOf: keys[index])
                index += 1
                guard let bytes else { json.append(contentsOf: "null".utf8); return }
                switch kind {
                case .number: DecimalText.append(bytes, to: &json)
                case .boolean: json.append(contentsOf: bytes.first == UInt8(ascii: "t") || bytes.first == UInt8(ascii: "1") ? Array("true".utf8) : Array("false".utf8))
                case .text, .plain: JSONEscaping.appendString(bytes, to: &json)
                case .time: ISOTimestamp.withRewritten(bytes) { JSONEscaping.appendString($0, to: &json) }
                }
            }
            json.append(UInt8(ascii: "}"))
        }
        rowCount += 1
    }

    mutating func take() -> [UInt8] {
        if format == .csv { return csv.take() }
        let taken = json
        json.removeAll(keepingCapacity: true)
        return taken
    }

    func finish() -> [UInt8] { format == .json ? Array("\n]\n".utf8) : [] }
}

enum JSONEscaping {
    /// A JSON string of UTF-8 `bytes`: quotes, backslashes and control characters escaped.
    static func appendString(_ bytes: UnsafeBufferPointer<UInt8>, to out: inout [UInt8]) {
        let hex = Array("0123456789abcdef".utf8)
        out.append(UInt8(ascii: "\""))
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "\""): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
            case UInt8(ascii: "\\"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case 0x0A: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case 0x0D: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            case 0x09: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            case 0..<0x20:
                out.append(contentsOf: Array("\\u00".utf8))
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 0xF)])
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}

enum ISOTimestamp {
    /// PostgreSQL's ISO output of a timestamptz in UTC (`2026-11-29 07:17:23.976867+00`) as ISO 8601 with a full
    /// offset (`2026-11-29T07:17:23.976867+00:00`); other text is passed on unchanged.
    static func withRewritten<R>(_ bytes: UnsafeBufferPointer<UInt8>, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        let count = bytes.count
        guard count >= 22, count <= 61, bytes[10] == UInt8(ascii: " "),
              bytes[count - 3] == UInt8(ascii: "+") || bytes[count - 3] == UInt8(ascii: "-") else { return body(bytes) }
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: count + 3) { scratch in
            _ = scratch.initialize(from: bytes)
            scratch[10] = UInt8(ascii: "T")
            scratch[count] = UInt8(ascii: ":")
            scratch[count + 1] = UInt8(ascii: "0")
            scratch[count + 2] = UInt8(ascii: "0")
            return body(UnsafeBufferPointer(scratch))
        }
    }
}
