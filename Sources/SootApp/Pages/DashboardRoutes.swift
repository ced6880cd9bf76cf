import Emissions
import Foundation
import HTTPServer
import Postgres

/// The organization, team, project and experiment pages (`/o/{org}/{team}/{project}/experiments/{id}`) and the run
/// page (`/run/{id}`): totals for a date range, equivalents, a daily chart, children with their totals, and for
/// projects and experiments where the same energy would have emitted less. Every figure comes from the daily
/// rollups and run totals, never from the samples.
struct DashboardRoutes {
    let database: ConnectionPool
    let authenticator: Authenticator

    struct Scope {
        let title: String
        let level: Level
        let id: UUID
        let path: String
        let crumbs: [(String, String)]
        /// A project's public read-only page: no links into private pages.
        var isPublic = false
    }

    func register(_ router: inout Router) {
        let routes = self
        router.get("/o/:org") { request in try routes.page(request) { caller in try routes.organization(request, caller) } }
        router.get("/o/:org/:team") { request in try routes.page(request) { caller in try routes.team(request, caller) } }
        router.get("/o/:org/:team/:project") { request in try routes.page(request) { caller in try routes.project(request, caller) } }
        router.get("/o/:org/:team/:project/experiments/:experiment") { request in
            try routes.page(request) { caller in try routes.experiment(request, caller) }
        }
        router.get("/run/:run") { request in try routes.page(request) { caller in try routes.run(request, caller) } }
        // A project's read-only public link, when its owners turned it on.
        router.get("/p/:slug") { request in
            let slug = request.parameter("slug") ?? ""
            guard slug.utf8.count >= 16, let row = try routes.database.query("""
                SELECT p.id, p.name, p.organization_id, o.name AS org_name FROM projects p JOIN organizations o ON o.id = p.organization_id
                WHERE p.is_public AND p.public_slug = \(slug)
                """).first else { throw AppError.notFound("No such public project.") }
            // Read access to this one project, exactly what a read-only project token has.
            let viewer = Caller(identity: .project(projectID: try row.decode("id"), organizationID: try row.decode("organization_id"),
                                                   tokenID: UUID(uuid: (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0))),
                                credential: .none, canWrite: false)
            var scope = Scope(title: try row.decode("name"), level: .project, id: try row.decode("id"),
                              path: "/p/\(FormDecoding.encode(slug))", crumbs: [])
            scope.isPublic = true
            let (title, html) = try routes.render(request, viewer, scope)
            let notice: HTML = "<p class=\"muted\">A read-only view shared by \(try row.decode("org_name", as: String.self)).</p>"
            var response = Response.html(Layout.page(title: title, body: notice + html))
            response.headers.set("Cache-Control", "public, max-age=60")
            return response
        }
        // "Where is my run?": a run id typed into the home page's box.
        router.get("/find-run") { request in
            let text = (request.query("id") ?? "").trimmingOWS().lowercased()
            guard UUID(uuidString: text) != nil else { throw AppError.notFound("That is not a run id.") }
            return .redirect(to: "/run/\(text)", status: .found)
        }
    }

    /// Signed-in pages: anonymous visitors go to the login page and come back.
    func page(_ request: Request, _ body: (Caller) throws -> (String, HTML)) throws -> Response {
        let caller = try authenticator.identify(request)
        guard case .user = caller.identity else {
            return .redirect(to: "/login?next=" + FormDecoding.encode(request.head.target))
        }
        var csrf: String?
        if case .session(_, let token) = caller.credential { csrf = token }
        let (title, html) = try body(caller)
        var response = Response.html(Layout.page(title: title, body: html, csrfToken: csrf, signedIn: true))
        response.headers.set("Cache-Control", "private, no-store")
        return response
    }

    // MARK: Scopes

    func organization(_ request: Request, _ caller: Caller) throws -> (String, HTML) {
        guard let user = caller.userID, let row = try database.query("""
            SELECT o.id, o.name, o.slug FROM organizations o JOIN organization_members m ON m.organization_id = o.id AND m.user_id = \(user)
            WHERE o.slug = \(request.parameter("org") ?? "")
            """).first else { throw AppError.notFound("No such organization.") }
        let slug: String = try row.decode("slug")
        let scope = Scope(title: try row.decode("name"), level: .organization, id: try row.decode("id"),
                          path: "/o/\(FormDecoding.encode(slug))", crumbs: [])
        return try render(request, caller, scope)
    }

    func team(_ request: Request, _ caller: Caller) throws -> (String, HTML) {
        guard let row = try database.query("""
            SELECT t.id, t.name, t.slug, o.name AS org_name, o.slug AS org_slug FROM teams t JOIN organizations o ON o.id = t.organization_id
            WHERE o.slug = \(request.parameter("org") ?? "") AND t.slug = \(request.parameter("team") ?? "")
              AND \(Access.team(caller, organizationColumn: "t.organization_id", teamColumn: "t.id"))
            """).first else { throw AppError.notFound("No such team.") }
        let orgPath = "/o/\(FormDecoding.encode(try row.decode("org_slug")))"
        let scope = Scope(title: try row.decode("name"), level: .team, id: try row.decode("id"),
                          path: orgPath + "/" + FormDecoding.encode(try row.decode("slug")),
                          crumbs: [(try row.decode("org_name"), orgPath)])
        return try render(request, caller, scope)
    }

    func project(_ request: Request, _ caller: Caller) throws -> (String, HTML) {
        guard let row = try database.query("""
            SELECT p.id, p.name, p.slug, t.name AS team_name, t.slug AS team_slug, o.name AS org_name, o.slug AS org_slug
            FROM projects p JOIN teams t ON t.id = p.team_id JOIN organizations o ON o.id = p.organization_id
            WHERE o.slug = \(request.parameter("org") ?? "") AND t.slug = \(request.parameter("team") ?? "")
              AND p.slug = \(request.parameter("project") ?? "") AND \(Store.projectAccess(caller))
            """).first else { throw AppError.notFound("No such project.") }
        let orgPath = "/o/\(FormDecoding.encode(try row.decode("org_slug")))"
        let teamPath = orgPath + "/" + FormDecoding.encode(try row.decode("team_slug"))
        let scope = Scope(title: try row.decode("name"), level: .project, id: try row.decode("id"),
                          path: teamPath + "/" + FormDecoding.encode(try row.decode("slug")),
                          crumbs: [(try row.decode("org_name"), orgPath), (try row.decode("team_name"), teamPath)])
        return try render(request, caller, scope)
    }

    func experiment(_ request: Request, _ caller: Caller) throws -> (String, HTML) {
        guard let id = UUID(uuidString: request.parameter("experiment") ?? ""), let row = try database.query("""
            SELECT e.id, e.name, p.name AS project_name, p.slug AS project_slug, t.name AS team_name, t.slug AS team_slug,
                   o.name AS org_name, o.slug AS org_slug
            FROM experiments e JOIN projects p ON p.id = e.project_id JOIN teams t ON t.id = e.team_id JOIN organizations o ON o.id = e.organization_id
            WHERE e.id = \(id) AND o.slug = \(request.parameter("org") ?? "") AND t.slug = \(request.parameter("team") ?? "")
              AND p.slug = \(request.parameter("project") ?? "") AND \(Store.projectAccess(caller, "e", idColumn: "project_id"))
            """).first else { throw AppError.notFound("No such experiment.") }
        let orgPath = "/o/\(FormDecoding.encode(try row.decode("org_slug")))"
        let teamPath = orgPath + "/" + FormDecoding.encode(try row.decode("team_slug"))
        let projectPath = teamPath + "/" + FormDecoding.encode(try row.decode("project_slug"))
        let scope = Scope(title: try row.decode("name"), level: .experiment, id: id,
                          path: projectPath + "/experiments/" + id.lowercaseText,
                          crumbs: [(try row.decode("org_name"), orgPath), (try row.decode("team_name"), teamPath),
                                   (try row.decode("project_name"), projectPath)])
        return try render(request, caller, scope)
    }

    // MARK: Rendering

    /// A scope's page: totals, the trend stacked by child, equivalents, where else it could have run, its children
    /// (or, for an experiment, its runs), and the forms the caller may use.
    func render(_ request: Request, _ caller: Caller, _ scope: Scope) throws -> (String, HTML) {
        let range = try DashboardRange(request)
        let visibility = try Visibility(database, caller: caller)
        let totals = try DashboardData.totals(database, visibility: visibility, level: scope.level, id: scope.id, range: range)
        let equivalents = try DashboardData.equivalents(database)
        var html: HTML = "\(crumbs(scope))<h1>\(scope.title)</h1>\(ranges(scope.path, range))"
        html += stats(totals)
        if !scope.isPublic { html += downloads(scope, range) }
        // Emissions over time, stacked by child (runs of an experiment are too many to stack: one series).
        // The trend is stacked by the level below; an experiment's runs are too many to stack (one series).
        let stackedBy = scope.level == .experiment ? Level.experiment : (scope.level.child ?? .experiment)
        let trend = try DashboardData.trend(database, visibility: visibility, level: scope.level, id: scope.id, by: stackedBy, range: range)
        let per = trend.weekly ? "week" : "day"
        let series = scope.level == .experiment
            ? [(name: "Emissions", values: trend.periods.indices.map { index in trend.series.reduce(0) { $0 + $1.values[index] } })]
            : trend.series
        let byChild = scope.level == .experiment ? "" : ", by \(stackedBy.rawValue)"
        html += "<h2>Emissions per \(per)\(byChild)</h2>"
        html += Charts.stackedBars(periods: trend.periods, series: series, unit: "kg CO2e",
                                 title: "Emissions per \(per), \(range.label)", periodLabel: trend.weekly ? "Week from (UTC)" : "Day (UTC)")
        html += equivalentsList(totals.emissions, equivalents)
        if scope.level == .project || scope.level == .experiment { html += try whereElse(totals, scope) }
        if scope.level == .project && !scope.isPublic {
            if caller.userID != nil, case .session(_, let csrf) = caller.credential {
                html += ProjectViews.settings(try Store(database: database).projectSharing(caller, projectID: scope.id), path: scope.path, csrf: csrf)
            }
            if case .session(_, let csrf) = caller.credential, caller.canWrite {
                let experiments = try database.query("SELECT id, name FROM experiments WHERE project_id = \(scope.id) ORDER BY name, id")
                    .rows.map { (try $0.decode("id", as: UUID.self), try $0.decode("name", as: String.self)) }
                html += ImportRoutes.form(path: scope.path, csrf: csrf, experiments: experiments)
            }
        }
        let children = scope.level.child ?? .run
        html += "<h2>\(children.pluralTitle)</h2>"
        if children != .run {
            html += try childrenTable(caller, scope, range, children: children, currentRequest: request, visibility: visibility)
        } else {
            html += try runsScatter(caller, scope, range)
            html += try runsTable(caller, scope, range)
        }
        if !scope.isPublic {
            if case .session(_, let csrf) = caller.credential {
                let panel = try Store(database: database).managementPanel(caller, level: scope.level, id: scope.id)
                html += ManagementViews.panel(panel, path: scope.path, csrf: csrf)
            }
        }
        html += "<p class=\"muted\"><a href=\"/methodology\">How these figures are computed</a></p>"
        return ("\(scope.title) · \(scope.level.title)", html)
    }

    /// Links to the exports of exactly what the page shows: the same scope and range.
    func downloads(_ scope: Scope, _ range: DashboardRange) -> HTML {
        let key = scope.level.rawValue
        let query = "\(key)=\(scope.id.lowercaseText)&\(range.query)"
        let by = (scope.level == .experiment ? Level.experiment : (scope.level.child ?? .team)).rawValue
        let runsCSV = "/api/v1/reports/runs.csv?" + query, summaryCSV = "/api/v1/reports/summary.csv?" + query + "&by=" + by
        let runsJSON = "/api/v1/reports/runs.json?" + query
        return """
            <p class="downloads muted">Download: <a href="\(runsCSV)" download>runs (CSV)</a> · \
            <a href="\(summaryCSV)" download>summary by \(by) (CSV)</a> · <a href="\(runsJSON)">runs (JSON)</a></p>
            """
    }

    func crumbs(_ scope: Scope) -> HTML {
        if scope.isPublic { return "" }
        guard !scope.crumbs.isEmpty else { return "<nav class=\"crumbs\" aria-label=\"Breadcrumb\"><a href=\"/\">Home</a></nav>" }
        let links = [("Home", "/")] + scope.crumbs
        let trail = HTML.joined(links.map { link -> HTML in "<a href=\"\(link.1)\">\(link.0)</a>" }, separator: " / ")
        return "<nav class=\"crumbs\" aria-label=\"Breadcrumb\">\(trail)</nav>"
    }

    func ranges(_ path: String, _ range: DashboardRange) -> HTML {
        var html: HTML = "<nav class=\"ranges\" aria-label=\"Date range\">"
        for preset in DashboardRange.presets {
            let current: HTML = preset.key == range.key ? " aria-current=\"page\"" : ""
            html += "<a href=\"\(path)?range=\(preset.key)\"\(current)>\(preset.label)</a>"
        }
        html += """
            <form method="get" action="\(path)" class="inline">
            <label class="muted" for="from">From</label> <input id="from" name="from" type="date" value="\(range.from ?? "")">
            <label class="muted" for="to">to</label> <input id="to" name="to" type="date" value="\(range.to ?? "")">
            <button type="submit" class="link">Apply</button></form></nav>
            """
        return html
    }

    func stats(_ totals: ScopeTotals) -> HTML {
        let energy = Formatting.energy(kilowattHours: totals.energy)
        let mass = Formatting.mass(kilograms: totals.emissions)
        let intensity = GridComparison.intensity(emissionsKg: totals.emissions, energyKWh: totals.energy).map { Formatting.significant($0) } ?? "–"
        func stat(_ value: String, _ unit: String, _ label: String, _ id: String) -> HTML {
            "<div class=\"stat\" id=\"\(id)\"><div class=\"value\">\(value) <small>\(unit)</small></div><div class=\"label\">\(label)</div></div>"
        }
        let split = "CPU \(Formatting.significant(totals.cpu)) · GPU \(Formatting.significant(totals.gpu)) · RAM \(Formatting.significant(totals.ram)) kWh"
        let cards = [stat(mass.value, mass.unit + " CO2e", "Emissions", "total-emissions"),
                     stat(energy.value, energy.unit, "Energy (\(split))", "total-energy"),
                     stat(Formatting.duration(seconds: totals.duration), "", "Compute time", "total-duration"),
                     stat(Formatting.number(Double(totals.runs)), "", "Runs started", "total-runs"),
                     stat(intensity, "g/kWh", "Carbon intensity", "total-intensity")]
        return "<div class=\"stats\">\(HTML.joined(cards))</div>"
    }

    func equivalentsList(_ kilograms: Double, _ equivalents: [Equivalent]) -> HTML {
        guard kilograms > 0 else { return "" }
        var html: HTML = "<h2>That is as much as</h2><ul class=\"equivalents\">"
        for equivalent in equivalents {
            html += "<li data-key=\"\(equivalent.key)\"><strong>\(Formatting.significant(equivalent.units(for: kilograms)))</strong> "
            html += "\(equivalent.label) <a href=\"/methodology#equivalents\" class=\"muted\">(how?)</a></li>"
        }
        return html + "</ul>"
    }

    func whereElse(_ totals: ScopeTotals, _ scope: Scope) throws -> HTML {
        guard totals.energy > 0 else { return "" }
        let grids = try database.query("""
            SELECT kind, provider, code, name, g_co2e_per_kwh FROM grid_intensities WHERE g_co2e_per_kwh > 0
            """).rows.map { row -> (name: String, code: String, provider: String, gramsPerKWh: Double) in
            let provider: String = try row.decode("provider")
            let name: String = try row.decode("name")
            let code: String = try row.decode("code")
            return (provider.isEmpty ? name : "\(provider.uppercased()) \(code) (\(name))", code, provider, try row.decode("g_co2e_per_kwh"))
        }
        let alternatives = GridComparison.alternatives(energyKWh: totals.energy, actualKg: totals.emissions, grids: grids)
        guard let best = alternatives.first else { return "" }
        let intensity = GridComparison.intensity(emissionsKg: totals.emissions, energyKWh: totals.energy) ?? 0
        var html: HTML = "<h2>Where could this have run?</h2>"
        if best.savingKg > 0 {
            let mass = Formatting.mass(kilograms: best.emissionsKg)
            html += "<p class=\"advice\">Had this run in \(best.name), it would have emitted \(mass.value) \(mass.unit) CO2e, "
            html += "\(Formatting.number(best.savingFraction * 100)) % less than the \(Formatting.significant(intensity)) g/kWh it ran at.</p>"
        } else {
            html += "<p class=\"advice\">This already ran on one of the cleanest grids we know of.</p>"
        }
        html += "<table><thead><tr><th>Grid</th><th class=\"num\">g CO2e/kWh</th><th class=\"num\">Would have emitted</th><th class=\"num\">Saving</th></tr></thead><tbody>"
        let actual = Formatting.mass(kilograms: totals.emissions)
        html += "<tr class=\"current\" aria-current=\"true\"><td><strong>Where it ran</strong> (the grids its runs reported)</td>"
        html += "<td class=\"num\"><strong>\(Formatting.significant(intensity))</strong></td>"
        html += "<td class=\"num\"><strong>\(actual.value) \(actual.unit)</strong></td><td class=\"num\">–</td></tr>"
        for alternative in alternatives.prefix(8) {
            let mass = Formatting.mass(kilograms: alternative.emissionsKg)
            let saving = Formatting.mass(kilograms: alternative.savingKg)
            html += "<tr><td>\(alternative.name)</td><td class=\"num\">\(Formatting.number(alternative.gramsPerKWh))</td>"
            html += "<td class=\"num\">\(mass.value) \(mass.unit)</td>"
            html += "<td class=\"num\">\(saving.value) \(saving.unit) (\(Formatting.number(alternative.savingFraction * 100)) %)</td></tr>"
        }
        return html + "</tbody></table>"
    }

    func childrenTable(_ caller: Caller, _ scope: Scope, _ range: DashboardRange, children: Level,
                       currentRequest: Request, visibility: Visibility) throws -> HTML {
        let link: SQLQuery = children.hasSlug ? "c.slug" : "c.id::text"
        let rows = try database.query("""
            SELECT c.id, c.name, \(link) AS link,
                   coalesce(sum(d.emissions_kg), 0) AS emissions, coalesce(sum(d.energy_kwh), 0) AS energy,
                   coalesce(sum(d.duration_seconds), 0) AS duration
            FROM \(children.table) c
            LEFT JOIN experiment_days d ON d.\(children.keyColumn) = c.id
                AND (\(range.from)::date IS NULL OR d.day >= \(range.from)::date)
                AND (\(range.to)::date IS NULL OR d.day <= \(range.to)::date)
            WHERE c.\(scope.level.keyColumn) = \(scope.id)
              AND \(children == .team ? (visibility.teams.map { "c.id = ANY(\($0)::uuid[])" as SQLQuery }
                                          ?? Access.team(caller, organizationColumn: "c.organization_id", teamColumn: "c.id"))
                                      : children == .project ? Store.projectAccess(caller, "c", idColumn: "id") : visibility.predicate("c"))
            GROUP BY c.id, c.name
            """).rows
        var items = try rows.map { row in
            (name: try row.decode("name", as: String.self), link: try row.decode("link", as: String.self),
             emissions: try row.decode("emissions", as: Double.self), energy: try row.decode("energy", as: Double.self),
             duration: try row.decode("duration", as: Double.self))
        }
        let sort = TableSort(request: currentRequest, allowed: ["name", "emissions", "energy", "duration"], defaultKey: "emissions")
        items.sort { a, b in
            let ascending: Bool
            switch sort.key {
            case "name": ascending = (a.name.lowercased(), a.link) < (b.name.lowercased(), b.link)
            case "energy": ascending = (a.energy, a.link) < (b.energy, b.link)
            case "duration": ascending = (a.duration, a.link) < (b.duration, b.link)
            default: ascending = (a.emissions, a.link) < (b.emissions, b.link)
            }
            return sort.descending ? !ascending : ascending
        }
        guard !items.isEmpty else { return "<p class=\"muted\">Nothing here yet.</p>" }
        func childPath(_ link: String) -> String {
            children == .experiment ? scope.path + "/experiments/" + link : scope.path + "/" + FormDecoding.encode(link)
        }
        let largest = items.sorted { ($0.emissions, $0.link) > ($1.emissions, $1.link) }
        var html = Charts.breakdown(largest.map { (label: $0.name, value: $0.emissions, link: scope.isPublic ? nil : childPath($0.link) + "?" + range.query) },
                                    unit: "kg CO2e", title: "Emissions by \(children.rawValue), \(range.label)")
        let pageSize = 50
        let pages = (items.count + pageSize - 1) / pageSize
        let page = min(try currentRequest.integerQuery("page", in: 1...1_000_000, default: 1), pages)
        let base = "\(scope.path)?\(range.query)"
        html += "<table><thead><tr>\(sort.header("Name", key: "name", base: base))"
        html += sort.header("Emissions", key: "emissions", base: base, numeric: true)
        html += sort.header("Energy", key: "energy", base: base, numeric: true)
        html += "\(sort.header("Compute time", key: "duration", base: base, numeric: true))</tr></thead><tbody>"
        for item in items.dropFirst((page - 1) * pageSize).prefix(pageSize) {
            let path = childPath(item.link)
            let mass = Formatting.mass(kilograms: item.emissions)
            let energy = Formatting.energy(kilowattHours: item.energy)
            let name: HTML = scope.isPublic ? "\(item.name)" : "<a href=\"\(path)?\(range.query)\">\(item.name)</a>"
            html += "<tr><td>\(name)</td>"
            html += "<td class=\"num\">\(mass.value) \(mass.unit)</td><td class=\"num\">\(energy.value) \(energy.unit)</td>"
            html += "<td class=\"num\">\(Formatting.duration(seconds: item.duration))</td></tr>"
        }
        html += "</tbody></table>"
        if pages > 1 {
            html += "<nav class=\"pager\" aria-label=\"Pages\">"
            for number in 1...pages {
                let current: HTML = number == page ? " aria-current=\"page\"" : ""
                html += "<a href=\"\(base)&sort=\(sort.key)&dir=\(sort.descending ? "desc" : "asc")&page=\(number)\"\(current)>\(number)</a> "
            }
            html += "</nav>"
        }
        return html
    }

    /// Runs of an experiment: start time against emissions, dot size by duration.
    func runsScatter(_ caller: Caller, _ scope: Scope, _ range: DashboardRange) throws -> HTML {
        let rows = try database.query("""
            SELECT extract(epoch FROM r.started_at)::float8 AS at, r.emissions_kg, r.duration_seconds, r.id FROM runs r
            WHERE r.experiment_id = \(scope.id) AND \(Store.projectAccess(caller, "r", idColumn: "project_id"))
              AND (\(range.from)::date IS NULL OR r.started_at >= \(range.from)::date)
              AND (\(range.to)::date IS NULL OR r.started_at < \(range.to)::date + 1)
            ORDER BY r.started_at LIMIT 2000
            """).rows.map { (try $0.decode("at", as: Double.self), try $0.decode("emissions_kg", as: Double.self),
                             try $0.decode("duration_seconds", as: Double.self), try $0.decode("id", as: UUID.self)) }
        guard rows.count > 1 else { return "" }
        return "<h2>Runs: when they started and what they emitted</h2>" + Charts.scatter(rows.map { (x: $0.0, y: $0.1, size: $0.2, label: UTCDay.string($0.0) + ", " + Formatting.duration(seconds: $0.2),
                                         link: "/run/\($0.3.lowercaseText)") }, unit: "kg CO2e", title: "Runs of this experiment")
    }

    func runsTable(_ caller: Caller, _ scope: Scope, _ range: DashboardRange) throws -> HTML {
        let rows = try database.query("""
            SELECT r.id, r.started_at, r.last_seen_at, r.emissions_kg, r.energy_kwh, r.duration_seconds, r.cpu_model, r.gpu_model
            FROM runs r WHERE r.experiment_id = \(scope.id) AND \(Store.projectAccess(caller, "r", idColumn: "project_id"))
              AND (\(range.from)::date IS NULL OR r.started_at >= \(range.from)::date)
              AND (\(range.to)::date IS NULL OR r.started_at < \(range.to)::date + 1)
            ORDER BY r.started_at DESC LIMIT 200
            """).rows
        guard !rows.isEmpty else { return "<p class=\"muted\">No run started in this range.</p>" }
        var html: HTML = "<table><thead><tr><th>Started (UTC)</th><th>Hardware</th><th class=\"num\">Emissions</th><th class=\"num\">Energy</th><th class=\"num\">Duration</th></tr></thead><tbody>"
        for row in rows {
            let id: UUID = try row.decode("id")
            let started = ISOTime.format(try row.decode("started_at", as: Date.self)).prefix(16).replacingOccurrences(of: "T", with: " ")
            let hardware = [try row.decode("cpu_model", as: String?.self), try row.decode("gpu_model", as: String?.self)].compactMap { $0 }
                .filter { !$0.isEmpty }.joined(separator: " + ")
            let mass = Formatting.mass(kilograms: try row.decode("emissions_kg"))
            let energy = Formatting.energy(kilowattHours: try row.decode("energy_kwh"))
            html += "<tr><td><a href=\"/run/\(id.lowercaseText)\">\(started)</a></td><td>\(hardware)</td>"
            html += "<td class=\"num\">\(mass.value) \(mass.unit)</td><td class=\"num\">\(energy.value) \(energy.unit)</td>"
            html += "<td class=\"num\">\(Formatting.duration(seconds: try row.decode("duration_seconds")))</td></tr>"
        }
        return html + "</tbody></table>"
    }

    // MARK: Run

    func run(_ request: Request, _ caller: Caller) throws -> (String, HTML) {
        guard let id = UUID(uuidString: request.parameter("run") ?? ""), let row = try database.query("""
            SELECT \(unsafeSQL: Representation.runColumns), r.last_sample_at, e.name AS experiment_name, p.name AS project_name, p.slug AS project_slug,
                   t.name AS team_name, t.slug AS team_slug, o.name AS org_name, o.slug AS org_slug
            FROM runs r JOIN experiments e ON e.id = r.experiment_id JOIN projects p ON p.id = r.project_id
                 JOIN teams t ON t.id = r.team_id JOIN organizations o ON o.id = r.organization_id
            WHERE r.id = \(id) AND \(Store.projectAccess(caller, "r", idColumn: "project_id"))
            """).first else { throw AppError.notFound("No such run.") }
        let orgPath = "/o/\(FormDecoding.encode(try row.decode("org_slug")))"
        let teamPath = orgPath + "/" + FormDecoding.encode(try row.decode("team_slug"))
        let projectPath = teamPath + "/" + FormDecoding.encode(try row.decode("project_slug"))
        let experimentPath = projectPath + "/experiments/" + (try row.decode("experiment_id", as: UUID.self)).lowercaseText
        let scope = Scope(title: "Run", level: .run, id: id, path: "/run/\(id.lowercaseText)",
                          crumbs: [(try row.decode("org_name"), orgPath), (try row.decode("team_name"), teamPath),
                                   (try row.decode("project_name"), projectPath), (try row.decode("experiment_name"), experimentPath)])
        let lastSeen: Date = try row.decode("last_seen_at")
        let running = try row.decode("ended_at", as: Date?.self) == nil && Date().timeIntervalSince(lastSeen) < 15 * 60
        let totals = ScopeTotals(energy: try row.decode("energy_kwh"), cpu: try row.decode("cpu_energy_kwh"), gpu: try row.decode("gpu_energy_kwh"),
                                 ram: try row.decode("ram_energy_kwh"), emissions: try row.decode("emissions_kg"),
                                 duration: try row.decode("duration_seconds"), samples: try row.decode("sample_count"), runs: 1)
        let runningBadge: HTML = running ? " <span class=\"notice\">running</span>" : ""
        var html: HTML = "\(crumbs(scope))<h1>Run <code>\(id.lowercaseText)</code>\(runningBadge)</h1>"
        html += stats(totals)
        var machine: HTML = ""
        for (label, column) in [("CPU", "cpu_model"), ("GPU", "gpu_model"), ("OS", "os"), ("Python", "python_version"),
                                ("CodeCarbon", "codecarbon_version"), ("Country", "country_name"), ("Region", "region"),
                                ("Cloud", "cloud_provider"), ("Cloud region", "cloud_region")] {
            if let value = row[column], !value.isEmpty { machine += "<tr><th>\(label)</th><td>\(value)</td></tr>" }
        }
        for (label, column) in [("CPU count", "cpu_count"), ("GPU count", "gpu_count"), ("RAM (GB)", "ram_total_size")] {
            if let value = row[column] { machine += "<tr><th>\(label)</th><td>\(value)</td></tr>" }
        }
        html += "<p class=\"downloads muted\">Download: <a href=\"/api/v1/runs/\(id.lowercaseText)/samples.csv\" download>samples (CSV)</a> · "
        html += "<a href=\"/api/v1/runs/\(id.lowercaseText)/samples.json\">samples (JSON)</a></p>"
        let lastSample: String = try row.decode("last_sample_at", as: Date?.self).map(ISOTime.format) ?? "none yet"
        html += "<h2>Machine</h2><table><tbody>\(machine)"
        html += "<tr><th>Started</th><td>\(ISOTime.format(try row.decode("started_at", as: Date.self)))</td></tr>"
        html += "<tr><th>Last sample</th><td>\(lastSample)</td></tr>"
        html += "<tr><th>Last heard from</th><td>\(ISOTime.format(lastSeen))</td></tr></tbody></table>"
        // The run's own samples, in at most 300 time buckets: average power per component, and the emissions rate.
        let buckets = try database.query("""
            SELECT extract(epoch FROM max("timestamp"))::float8 AS at, avg(cpu_power_w) AS cpu, avg(gpu_power_w) AS gpu,
                   avg(ram_power_w) AS ram, sum(emissions_kg) AS emissions, sum(duration_seconds) AS duration
            FROM (SELECT "timestamp", cpu_power_w, gpu_power_w, ram_power_w, emissions_kg, duration_seconds,
                         ntile(300) OVER (ORDER BY "timestamp") AS bucket FROM emission_samples WHERE run_id = \(id)) s
            GROUP BY bucket ORDER BY bucket
            """).rows
        let times = try buckets.map { try $0.decode("at", as: Double.self) }
        let split = Charts.split([("CPU", totals.cpu), ("GPU", totals.gpu), ("RAM", totals.ram)], unit: "kWh",
                                 title: "Energy of this run by component")
        if !split.isEmpty { html += "<h2>Energy by component</h2>\(split)" }
        var power: [(name: String, values: [Double?])] = []
        for (label, column) in [("CPU", "cpu"), ("GPU", "gpu"), ("RAM", "ram")] {
            let values = try buckets.map { try $0.decode(column, as: Double?.self) }
            if values.contains(where: { ($0 ?? 0) > 0 }) { power.append((label, values)) }
        }
        let rate = try buckets.map { row -> Double? in
            let duration: Double = try row.decode("duration")
            return duration > 0 ? try row.decode("emissions", as: Double.self) / duration * 3_600_000 : nil
        }
        if times.count > 1 {
            if !power.isEmpty {
                html += "<h2>Power over time</h2>"
                html += Charts.lines(times, series: power, unit: "W", title: "Average power of this run over time")
            }
            html += "<h2>Emissions rate over time</h2>"
            html += Charts.lines(times, series: [("Emissions rate", rate)], unit: "g CO2e/h",
                                                                         title: "Emissions rate of this run over time")
        } else {
            html += "<p class=\"muted\">This run has \(times.count) sample; its time series starts with the second.</p>"
        }
        html += equivalentsList(totals.emissions, try DashboardData.equivalents(database))
        html += "<p class=\"muted\"><a href=\"/methodology\">How these figures are computed</a></p>"
        return ("Run \(id.lowercaseText.prefix(8))", html)
    }
}
