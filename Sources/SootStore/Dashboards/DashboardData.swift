import Emissions
import Foundation
import Postgres

/// The date range a dashboard shows, from `range` (7d, 30d, 90d, year, all) or `from`/`to` (custom), kept in links.
package struct DashboardRange: Sendable {
    package let key: String
    /// First UTC day included (nil: from the beginning).
    package let from: String?
    /// Last UTC day included (nil: up to now).
    package let to: String?

    package static let presets: [(key: String, label: String)] = [("7d", "Last 7 days"), ("30d", "Last 30 days"), ("90d", "Last 90 days"),
                                                          ("year", "This year"), ("all", "All time")]

    /// From a link's `range`, `from` and `to` (each nil when absent).
    package init(range: String?, from: String?, to: String?, now: Date = Date()) throws {
        let today = UTCDay.string(now.timeIntervalSince1970)
        if let from, !from.isEmpty {
            guard DashboardRange.isDay(from) else { throw AppError.invalid("from", "The start date must be a date like 2026-11-01.") }
            let to = to.flatMap { $0.isEmpty ? nil : $0 } ?? today
            guard DashboardRange.isDay(to) else { throw AppError.invalid("to", "The end date must be a date like 2026-11-30.") }
            guard from <= to else { throw AppError.invalid("to", "The end date is before the start date.") }
            (key, self.from, self.to) = ("custom", from, to)
            return
        }
        let key = range ?? "30d"
        func daysAgo(_ days: Double) -> String { UTCDay.string(now.timeIntervalSince1970 - days * 86_400) }
        switch key {
        case "7d": (self.key, self.from, self.to) = (key, daysAgo(6), today)
        case "90d": (self.key, self.from, self.to) = (key, daysAgo(89), today)
        case "year": (self.key, self.from, self.to) = (key, String(today.prefix(4)) + "-01-01", today)
        case "all": (self.key, self.from, self.to) = (key, nil, nil)
        default: (self.key, self.from, self.to) = ("30d", daysAgo(29), today)
        }
    }

    private init(key: String, from: String?, to: String?) {
        (self.key, self.from, self.to) = (key, from, to)
    }

    /// The days the range spans (nil for all time).
    package var days: Int? {
        guard let from, let to, let first = UTCDay.daysSinceEpoch(from), let last = UTCDay.daysSinceEpoch(to) else { return nil }
        return last - first + 1
    }

    /// The period of the same length just before this one, for "compared with before" (nil for all time).
    package var previous: DashboardRange? {
        guard let from, let days, let first = UTCDay.daysSinceEpoch(from) else { return nil }
        return DashboardRange(key: "custom", from: UTCDay.string(Double(first - days) * 86_400),
                              to: UTCDay.string(Double(first - 1) * 86_400))
    }

    package static func isDay(_ text: String) -> Bool {
        text.utf8.count == 10 && ISOTime.parse(text + "T00:00:00Z") != nil
    }

    /// The query string that reproduces this range.
    package var query: String {
        key == "custom" ? "from=\(from ?? "")&to=\(to ?? "")" : "range=\(key)"
    }

    package var label: String {
        if key == "custom" { return "\(from ?? "…") to \(to ?? "…")" }
        return DashboardRange.presets.first { $0.key == key }?.label ?? key
    }
}

/// Totals of a scope over a range, from the daily rollups (and the runs table for run counts).
package struct ScopeTotals: Sendable {
    package var energy = 0.0, cpu = 0.0, gpu = 0.0, ram = 0.0, emissions = 0.0, duration = 0.0, samples = 0, runs = 0

    package init(energy: Double = 0, cpu: Double = 0, gpu: Double = 0, ram: Double = 0, emissions: Double = 0, duration: Double = 0,
                 samples: Int = 0, runs: Int = 0) {
        (self.energy, self.cpu, self.gpu, self.ram, self.emissions, self.duration, self.samples, self.runs) =
            (energy, cpu, gpu, ram, emissions, duration, samples, runs)
    }
}

/// Which rows of the rollups and runs a caller may see, decided once per page: for a person, the list of teams
/// they can read (one query), so the big aggregates filter with `team_id = ANY(...)` instead of a correlated
/// membership check per row.
package struct Visibility: Sendable {
    package let caller: Caller
    package let teams: [UUID]?
    /// Every row of the organization the page is about: what any member may see of the organization's own
    /// totals (only the page's organization-level figures use it; the split by team keeps `teams`).
    private var coversOrganization = false

    package init(_ database: ConnectionPool, caller: Caller, organizationID: UUID? = nil) throws {
        self.caller = caller
        if caller.userID != nil {
            teams = try database.query("""
                SELECT t.id FROM teams t
                WHERE (\(organizationID)::uuid IS NULL OR t.organization_id = \(organizationID))
                  AND \(Access.team(caller, organizationColumn: "t.organization_id", teamColumn: "t.id"))
                """).rows.map { try $0.decode("id") }
        } else {
            teams = nil
        }
    }

    /// For the organization's own totals on its page, shown to every member: the page's lookup has checked that
    /// the caller belongs to the organization, and the queries filter by its id.
    package func wholeOrganization() -> Visibility {
        var copy = self
        copy.coversOrganization = true
        return copy
    }

    /// The predicate for a table aliased `alias` that has organization_id, team_id and project_id.
    package func predicate(_ alias: String) -> SQLQuery {
        if coversOrganization { return "TRUE" }
        if let teams { return "\(unsafeSQL: alias).team_id = ANY(\(teams)::uuid[])" }
        return Store.projectAccess(caller, alias, idColumn: "project_id")
    }
}

package enum DashboardData {
    /// The totals of the item `id` of `level` over `range`, from the day rollups (runs started, from the runs).
    package static func totals(_ database: ConnectionPool, visibility: Visibility, level: Level, id: UUID, range: DashboardRange) throws -> ScopeTotals {
        let column = level.keyColumn
        let row = try database.query("""
            SELECT coalesce(sum(d.energy_kwh), 0) AS energy, coalesce(sum(d.cpu_energy_kwh), 0) AS cpu,
                   coalesce(sum(d.gpu_energy_kwh), 0) AS gpu, coalesce(sum(d.ram_energy_kwh), 0) AS ram,
                   coalesce(sum(d.emissions_kg), 0) AS emissions, coalesce(sum(d.duration_seconds), 0) AS duration,
                   coalesce(sum(d.sample_count), 0)::bigint AS samples,
                   (SELECT count(*) FROM runs r WHERE r.\(column) = \(id) AND \(visibility.predicate("r"))
                      AND \(range.contains("r.started_at"))) AS runs
            FROM experiment_days d
            WHERE d.\(column) = \(id) AND \(visibility.predicate("d")) AND \(range.containsDay("d.day"))
            """).first!
        return ScopeTotals(energy: try row.decode("energy"), cpu: try row.decode("cpu"), gpu: try row.decode("gpu"),
                           ram: try row.decode("ram"), emissions: try row.decode("emissions"), duration: try row.decode("duration"),
                           samples: try row.decode("samples"), runs: try row.decode("runs"))
    }

    /// Emissions per period and child, for the stacked trend chart: per UTC day, or per week (starting Monday)
    /// when the range spans more than 120 days. The largest five children have their own series; the rest are
    /// summed as "Other".
    package struct Trend: Sendable {
        package var periods: [String] = []
        package var weekly = false
        package var series: [(name: String, values: [Double])] = []
    }

    package static func trend(_ database: ConnectionPool, visibility: Visibility, level: Level, id: UUID, by child: Level,
                      range: DashboardRange) throws -> Trend {
        let column = level.keyColumn
        var trend = Trend()
        // The span decides days or weeks; for all time it is the first and last day with data (an index lookup).
        var first = range.from, last = range.to
        if first == nil || last == nil {
            guard let bounds = try database.query("""
                SELECT min(d.day)::text AS first, max(d.day)::text AS last FROM experiment_days d
                WHERE d.\(column) = \(id) AND \(visibility.predicate("d"))
                """).first, let low = bounds["first"], let high = bounds["last"] else { return trend }
            first = first ?? low
            last = last ?? high
        }
        guard let first, let last, let start = ISOTime.parse(first + "T00:00:00Z"), let end = ISOTime.parse(last + "T00:00:00Z"),
              start <= end else { return trend }
        trend.weekly = end.timeIntervalSince(start) / 86_400 + 1 > 120
        // Periods: every day (or every week, from its Monday) of the span, so the time axis is true.
        var moment = (trend.weekly ? ISOTime.parse(weekStart(first) + "T00:00:00Z")! : start).timeIntervalSince1970
        while moment <= end.timeIntervalSince1970, trend.periods.count < 4_000 {
            trend.periods.append(UTCDay.string(moment))
            moment += trend.weekly ? 7 * 86_400 : 86_400
        }
        let rows = try database.query("""
            SELECT x.period::text AS period, x.child, sum(x.emissions) AS emissions
            FROM (SELECT CASE WHEN \(trend.weekly) THEN d.day - (d.day - date '1999-12-27') % 7 ELSE d.day END AS period,
                         d.\(child.keyColumn) AS child, d.emissions_kg AS emissions
                  FROM experiment_days d
                  WHERE d.\(column) = \(id) AND \(visibility.predicate("d")) AND \(range.containsDay("d.day"))) x
            GROUP BY x.period, x.child
            """).rows.map { row in (period: row.text(0) ?? "", child: try row.decode("child", as: UUID.self), emissions: Double(row.text(2) ?? "") ?? 0) }
        guard !rows.isEmpty else { return Trend() }
        let index = Dictionary(uniqueKeysWithValues: trend.periods.enumerated().map { ($1, $0) })
        var totals: [UUID: Double] = [:]
        for row in rows { totals[row.child, default: 0] += row.emissions }
        let top = totals.sorted { ($0.value, $0.key.uuidString) > ($1.value, $1.key.uuidString) }.prefix(5).map(\.key)
        let names = Dictionary(uniqueKeysWithValues: try database.query("""
            SELECT id, name FROM \(child.table) WHERE id = ANY(\(top)::uuid[])
            """).rows.map { (try $0.decode("id", as: UUID.self), try $0.decode("name", as: String.self)) })
        var values = Array(repeating: Array(repeating: 0.0, count: trend.periods.count), count: top.count + 1)
        let position = Dictionary(uniqueKeysWithValues: top.enumerated().map { ($1, $0) })
        for row in rows {
            guard let column = index[row.period] else { continue }
            values[position[row.child] ?? top.count][column] += row.emissions
        }
        trend.series = top.enumerated().map { (names[$1] ?? "?", values[$0]) }
        if totals.count > top.count { trend.series.append(("Other", values[top.count])) }
        return trend
    }

    /// The Monday of `day`'s ISO week, as `YYYY-MM-DD`.
    package static func weekStart(_ day: String) -> String {
        guard let date = ISOTime.parse(day + "T00:00:00Z") else { return day }
        let days = Int((date.timeIntervalSince1970 / 86_400).rounded(.down))
        let monday = days - ((days + 3) % 7 + 7) % 7  // 1970-01-01 was a Thursday
        return UTCDay.string(Double(monday) * 86_400)
    }

    package static func equivalents(_ database: ConnectionPool) throws -> [Equivalent] {
        try database.query("SELECT * FROM equivalents ORDER BY position").rows.map { row in
            Equivalent(key: try row.decode("key"), label: try row.decode("label"), unit: try row.decode("unit"),
                       kgPerUnit: try row.decode("kg_co2e_per_unit"), source: try row.decode("source"),
                       year: try row.decode("year", as: Int?.self), note: try row.decode("note"))
        }
    }
}
