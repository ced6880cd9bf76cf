import Emissions
import Foundation
import HTTPServer
import SootStore

/// The organization, team, project and experiment pages (`/o/{org}/{team}/{project}/experiments/{id}`) and the run
/// page (`/run/{id}`): totals for a date range, equivalents, a daily chart, children with their totals, and for
/// projects and experiments where the same energy would have emitted less. Every figure comes from the daily
/// rollups and run totals, never from the samples.
struct DashboardRoutes {
    var store: Store
    let authenticator: Authenticator
    let proxies: TrustedProxies

    struct Scope {
        let title: String
        let level: Level
        let id: UUID
        let path: String
        let crumbs: [(String, String)]
        /// A project's public read-only page: no links into private pages.
        var isPublic = false

        init(title: String, level: Level, id: UUID, path: String, crumbs: [(String, String)]) {
            (self.title, self.level, self.id, self.path, self.crumbs) = (title, level, id, path, crumbs)
        }

        /// A page's scope from the store's trail: each level's path, the levels above as breadcrumbs.
        init(_ level: Level, _ page: PageScope) {
            let paths = DashboardRoutes.paths(page.trail)
            self.init(title: page.name, level: level, id: page.id, path: paths.last ?? "/",
                      crumbs: zip(page.trail.dropLast().map(\.name), paths.dropLast()).map { ($0, $1) })
        }
    }

    /// The path of each level of a trail: `/o/{org}`, then `/{team}`, `/{project}`, then `/experiments/{id}`.
    static func paths(_ trail: [(name: String, segment: String)]) -> [String] {
        var paths: [String] = []
        for (index, level) in trail.enumerated() {
            let base = paths.last ?? "/o"
            paths.append(base + (index == 3 ? "/experiments/" : "/") + FormDecoding.encode(level.segment))
        }
        return paths
    }

    func register(_ router: inout Router) {
        let routes = self
        router.get("/o/:org") { request in try routes.page(request) { routes, caller in try routes.organization(request, caller) } }
        router.get("/o/:org/:team") { request in try routes.page(request) { routes, caller in try routes.team(request, caller) } }
        router.get("/o/:org/:team/:project") { request in try routes.page(request) { routes, caller in try routes.project(request, caller) } }
        router.get("/o/:org/:team/:project/experiments/:experiment") { request in
            try routes.page(request) { routes, caller in try routes.experiment(request, caller) }
        }
        router.get("/run/:run") { request in try routes.page(request) { routes, caller in try routes.run(request, caller) } }
        // A project's read-only public link, when its owners turned it on.
        router.get("/p/:slug") { request in
            let slug = request.parameter("slug") ?? ""
            guard slug.utf8.count >= 16, let shared = try routes.store.publicProject(slug: slug) else {
                throw AppError.notFound("No such public project.")
            }
            // Read access to this one project, exactly what a read-only project token has.
            let viewer = Caller(identity: .project(projectID: shared.id, organizationID: shared.organizationID,
                                                   tokenID: UUID(uuid: (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0))),
                                credential: .none, canWrite: false)
            var scope = Scope(title: shared.name, level: .project, id: shared.id,
                              path: "/p/\(FormDecoding.encode(slug))", crumbs: [])
            scope.isPublic = true
            let (title, html) = try routes.render(request, viewer, scope)
            let notice: HTML = "<p class=\"muted\">A read-only view shared by \(shared.organizationName).</p>"
            var response = Response.html(Layout.page(title: title, body: notice + html))
            response.headers.set("Cache-Control", "public, max-age=60")
            return response
        }
        // "Where is my run?": a run id, or its first characters as page titles show them, typed into the home page's box.
        router.get("/find-run") { request in
            let text = (request.query("id") ?? "").trimmingOWS().lowercased()
            if UUID(uuidString: text) != nil { return .redirect(to: "/run/\(text)", status: .found) }
            let caller = try routes.authenticator.identify(request)
            let found = try routes.store.runs(caller, idPrefix: text)
            guard !found.isEmpty else { throw AppError.notFound("No run you can see has an id starting with \(text).") }
            guard found.count == 1 else {
                throw AppError.invalid("id", "Several runs have ids starting with \(text); type a few more characters.")
            }
            return .redirect(to: "/run/\(found[0].idText)", status: .found)
        }
    }

    /// Signed-in pages: anonymous visitors go to the login page and come back. The page reads the replica when it
    /// is fresh and has what this caller last wrote (`Store.reading`), the primary otherwise.
    func page(_ request: Request, _ body: (DashboardRoutes, Caller) throws -> (String, HTML)) throws -> Response {
        let caller = try authenticator.identify(request)
        guard case .user = caller.identity else {
            return .redirect(to: "/login?next=" + FormDecoding.encode(request.head.target))
        }
        if caller.mustChangePassword { return .redirect(to: "/account#password") }
        var csrf: String?
        if case .session(_, let token) = caller.credential { csrf = token }
        var reading = self
        reading.store = store.reading(caller)
        let (title, html) = try body(reading, caller)
        var response = Response.html(Layout.page(title: title, body: html, csrfToken: csrf, signedIn: true))
        response.headers.set("Cache-Control", "private, no-store")
        // Shown once: a reload shows the page as it is.
        response.clearFeedback(request, secure: proxies.isHTTPS(request))
        return response
    }

    // MARK: Scopes

    func organization(_ request: Request, _ caller: Caller) throws -> (String, HTML) {
        try render(request, caller, Scope(.organization, try store.organizationPage(caller, slug: request.parameter("org") ?? "")))
    }

    func team(_ request: Request, _ caller: Caller) throws -> (String, HTML) {
        try render(request, caller, Scope(.team, try store.teamPage(caller, organization: request.parameter("org") ?? "",
                                                                    team: request.parameter("team") ?? "")))
    }

    func project(_ request: Request, _ caller: Caller) throws -> (String, HTML) {
        try render(request, caller, Scope(.project, try store.projectPage(caller, organization: request.parameter("org") ?? "",
                                                                          team: request.parameter("team") ?? "",
                                                                          project: request.parameter("project") ?? "")))
    }

    func experiment(_ request: Request, _ caller: Caller) throws -> (String, HTML) {
        guard let id = UUID(uuidString: request.parameter("experiment") ?? "") else { throw AppError.notFound("No such experiment.") }
        return try render(request, caller, Scope(.experiment, try store.experimentPage(
            caller, id: id, organization: request.parameter("org") ?? "", team: request.parameter("team") ?? "",
            project: request.parameter("project") ?? "")))
    }

    // MARK: Rendering

    /// A scope's page: totals, the trend stacked by child, equivalents, where else it could have run, its children
    /// (or, for an experiment, its runs), and the forms the caller may use.
    func render(_ request: Request, _ caller: Caller, _ scope: Scope) throws -> (String, HTML) {
        let range = try DashboardRange(request)
        // Every member sees the organization's own totals; the split by team, only of the teams they are in.
        let organizationPage = scope.level == .organization && caller.userID != nil && !scope.isPublic
        let visibility = try store.visibility(caller, organizationID: organizationPage ? scope.id : nil)
        var totalsVisibility = visibility
        var share: (seen: Int, all: Int)?
        if organizationPage {
            let all = try store.teamCount(organizationID: scope.id)
            if let seen = visibility.teams?.count, seen < all {
                share = (seen, all)
                totalsVisibility = visibility.wholeOrganization()
            }
        }
        let totals = try store.totals(totalsVisibility, level: scope.level, id: scope.id, range: range)
        let equivalents = try store.equivalents()
        let feedback = scope.isPublic ? nil : FormFeedback.read(request)
        var html: HTML = ranges(scope.path, range)
        let before = try range.previous.map { try store.totals(totalsVisibility, level: scope.level, id: scope.id, range: $0) }
        if let share {
            html += "<p class=\"scope-note\">These totals are the whole organization's. The split by team below covers the "
            html += "\(share.seen == 0 ? "teams you are in: none yet" : "\(share.seen) of its \(share.all) teams you are in").</p>"
        }
        html += stats(totals, before: before.map { ($0, range.days ?? 0) })
        // What the signed-in caller may manage here (read once: the budget form and the panels below use it).
        var panel: Store.ManagementPanel = .none
        if !scope.isPublic, case .session = caller.credential {
            panel = try store.managementPanel(caller, level: scope.level, id: scope.id)
        }
        // Budgets: the scope's own as cards; its teams' and projects' in a table (not on public pages).
        var dailyBudget: Double?
        if !scope.isPublic, [Level.organization, .team, .project].contains(scope.level) {
            let budgets = try store.budgets(caller, level: scope.level, id: scope.id)
            let own = budgets.filter { $0.scopeID == scope.id }
            // The form for those who may set this scope's budgets (the store checks again when it is sent).
            var manage: (path: String, csrf: String, feedback: FormFeedback?)?
            if case .session(_, let csrf) = caller.credential, caller.canWrite {
                switch panel {
                case .organization, .team(admin: true, _), .project: manage = (scope.path, csrf, feedback)
                default: break
                }
            }
            html += BudgetViews.cards(own, manage: manage)
            // Its children's budgets: an organization's teams', a team's projects'.
            let childLevel: BudgetRecord.ScopeLevel = scope.level == .organization ? .team : .project
            html += BudgetViews.table(budgets.filter { $0.scopeID != scope.id && $0.scopeLevel == childLevel }, path: scope.path,
                                      sort: request.query("budgets") ?? "state", query: range.query)
            // The shortest period's limit, as a daily allowance drawn on the chart.
            if let shortest = own.min(by: { $0.period.length < $1.period.length }) {
                dailyBudget = shortest.limitKg / Double(shortest.period.length)
            }
        }
        if scope.level == .organization, !scope.isPublic, totals.runs == 0, try !store.hasRuns(organizationID: scope.id) {
            html += FirstSteps.card(base: proxies.baseURL(request))
        }
        if !scope.isPublic { html += downloads(scope, range) }
        // Emissions over time, stacked by child (runs of an experiment are too many to stack: one series).
        // The trend is stacked by the level below; an experiment's runs are too many to stack (one series).
        let stackedBy = scope.level == .experiment ? Level.experiment : (scope.level.child ?? .experiment)
        let trend = try store.trend(visibility, level: scope.level, id: scope.id, by: stackedBy, range: range)
        let per = trend.weekly ? "week" : "day"
        let series = scope.level == .experiment
            ? [(name: "Emissions", values: trend.periods.indices.map { index in trend.series.reduce(0) { $0 + $1.values[index] } })]
            : trend.series
        let byChild = scope.level == .experiment ? "" : share != nil ? ", your teams" : ", by \(stackedBy.rawValue)"
        html += "<h2>Emissions per \(per)\(byChild)</h2>"
        html += Charts.stackedBars(periods: trend.periods, series: series, scale: ChartScale.massUnit(forTotalKilograms: totals.emissions),
                                   title: "Emissions per \(per), \(range.label)", periodLabel: trend.weekly ? "Week from (UTC)" : "Day (UTC)",
                                   weekly: trend.weekly,
                                   allowance: dailyBudget.map { (label: "budget per \(per)", kilograms: $0 * (trend.weekly ? 7 : 1)) })
        html += equivalentsList(totals.emissions, equivalents)
        if scope.level == .project || scope.level == .experiment { html += try whereElse(totals, scope, visibility, range) }
        let children = scope.level.child ?? .run
        html += share.map { "<h2>Your teams (\($0.seen) of \($0.all))</h2>" } ?? "<h2>\(children.pluralTitle)</h2>"
        if let share, share.seen == 0 {
            html += "<p class=\"muted\">You are in none of its teams yet: an owner or admin can add you to one.</p>"
        }
        if children != .run {
            html += try childrenTable(caller, scope, range, children: children, currentRequest: request, visibility: visibility)
        } else {
            html += try runsScatter(caller, scope, range)
            html += try runsTable(caller, scope, range, request: request)
        }
        if !scope.isPublic {
            if case .session(_, let csrf) = caller.credential {
                html += ManagementViews.panel(panel, path: scope.path, csrf: csrf, name: scope.title, feedback: feedback)
                // Owners and admins manage the organization's webhooks here; others do not see the panel.
                if case .organization = panel {
                    html += AlertPages.panel(try store.webhooks(caller, organizationID: scope.id),
                                             try store.deliveries(caller, organizationID: scope.id), path: scope.path, csrf: csrf, feedback: feedback)
                }
            }
        }
        // A project's tokens, sharing and imports come after its experiments.
        if scope.level == .project && !scope.isPublic {
            if caller.userID != nil, case .session(_, let csrf) = caller.credential {
                html += ProjectViews.settings(try store.projectSharing(caller, projectID: scope.id), path: scope.path, csrf: csrf,
                                              base: proxies.baseURL(request), feedback: feedback)
            }
            if case .session(_, let csrf) = caller.credential, caller.canWrite {
                html += ImportRoutes.form(path: scope.path, csrf: csrf, experiments: try store.experimentNames(projectID: scope.id).map { ($0.id, $0.name) })
            }
        }
        html += "<p class=\"muted\"><a href=\"/methodology\">How these figures are computed</a></p>"
        // A success, or a refusal of a form this page has no field for, is said at the top.
        var notice: HTML = ""
        if let feedback, !(feedback.isError && html.description.contains("id=\"\(feedback.form ?? "")-error\"")) {
            notice = feedback.notice
        }
        return ("\(scope.title) · \(scope.level.title)", "\(crumbs(scope, range))<h1>\(scope.title)</h1>\(notice)" + html)
    }

    /// Links to the exports of exactly what the page shows: the same scope and range.
    func downloads(_ scope: Scope, _ range: DashboardRange) -> HTML {
        let key = scope.level.rawValue
        let query = "\(key)=\(scope.id.idText)&\(range.query)"
        let by = (scope.level == .experiment ? Level.experiment : (scope.level.child ?? .team)).rawValue
        let runsCSV = "/api/v1/reports/runs.csv?" + query, summaryCSV = "/api/v1/reports/summary.csv?" + query + "&by=" + by
        let runsJSON = "/api/v1/reports/runs.json?" + query
        return """
            <p class="downloads muted">Download: <a href="\(runsCSV)" download>runs (CSV)</a> · \
            <a href="\(summaryCSV)" download>summary by \(by) (CSV)</a> · <a href="\(runsJSON)">runs (JSON)</a></p>
            """
    }

    /// The levels above, each keeping the page's date range (`range`; nil on a run's page, which has none).
    func crumbs(_ scope: Scope, _ range: DashboardRange? = nil) -> HTML {
        if scope.isPublic { return "" }
        guard !scope.crumbs.isEmpty else { return "<nav class=\"crumbs\" aria-label=\"Breadcrumb\"><a href=\"/\">Home</a></nav>" }
        let suffix = range.map { "?" + $0.query } ?? ""
        let links = [("Home", "/")] + scope.crumbs.map { ($0.0, $0.1 + suffix) }
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

    /// The totals as cards; with `before` (the totals of the period of the same length just before, and its
    /// length in days), emissions and energy say how they changed.
    func stats(_ totals: ScopeTotals, before: (totals: ScopeTotals, days: Int)? = nil, showRuns: Bool = true) -> HTML {
        let energy = Formatting.energy(kilowattHours: totals.energy)
        let mass = Formatting.mass(kilograms: totals.emissions)
        let intensity = GridComparison.intensity(emissionsKg: totals.emissions, energyKWh: totals.energy).map { Formatting.significant($0) } ?? "–"
        func change(_ now: Double, _ then: Double?) -> HTML {
            guard let then, let before else { return "" }
            let period = before.days == 1 ? "the day before" : "the \(before.days) days before"
            guard then > 0 else { return now > 0 ? "<div class=\"change\">none in \(period)</div>" : "" }
            let fraction = (now - then) / then
            let arrow = fraction > 0 ? "▲" : fraction < 0 ? "▼" : "="
            return "<div class=\"change\"><span aria-hidden=\"true\">\(arrow)</span> \(fraction > 0 ? "+" : "")\(Formatting.percent(fraction)) % on \(period)</div>"
        }
        func stat(_ value: String, _ unit: String, _ label: String, _ id: String, _ delta: HTML = "") -> HTML {
            "<div class=\"stat\" id=\"\(id)\"><div class=\"value\">\(value) <small>\(unit)</small></div><div class=\"label\">\(label)</div>\(delta)</div>"
        }
        let split = "CPU \(Formatting.significant(totals.cpu)) · GPU \(Formatting.significant(totals.gpu)) · RAM \(Formatting.significant(totals.ram)) kWh"
        var cards = [stat(mass.value, mass.unit + " CO2e", "Emissions", "total-emissions", change(totals.emissions, before?.totals.emissions)),
                     stat(energy.value, energy.unit, "Energy (\(split))", "total-energy", change(totals.energy, before?.totals.energy)),
                     stat(Formatting.duration(seconds: totals.duration), "", "Compute time", "total-duration")]
        if showRuns { cards.append(stat(Formatting.number(Double(totals.runs)), "", "Runs started", "total-runs")) }
        cards.append(stat(intensity, "g/kWh", "Carbon intensity", "total-intensity"))
        return "<div class=\"stats\">\(HTML.joined(cards))</div>"
    }

    /// Two or three equivalents that read well for the amount, the others one click away.
    func equivalentsList(_ kilograms: Double, _ equivalents: [Equivalent]) -> HTML {
        guard kilograms > 0 else { return "" }
        let (shown, more) = Equivalent.fitting(equivalents, kilograms: kilograms)
        func items(_ list: [Equivalent]) -> HTML {
            var html: HTML = ""
            for equivalent in list {
                html += "<li data-key=\"\(equivalent.key)\"><strong>\(Formatting.significant(equivalent.units(for: kilograms)))</strong> "
                html += "\(equivalent.label)</li>"
            }
            return html
        }
        var html: HTML = "<h2>That is as much as</h2><ul class=\"equivalents\">\(items(shown))</ul>"
        if !more.isEmpty {
            html += "<details class=\"more-equivalents\"><summary>\(more.count) more equivalents</summary><ul class=\"equivalents\">\(items(more))</ul></details>"
        }
        return html + "<p class=\"muted\"><a href=\"/methodology#equivalents\">How equivalents are computed</a></p>"
    }

    func whereElse(_ totals: ScopeTotals, _ scope: Scope, _ visibility: Visibility, _ range: DashboardRange) throws -> HTML {
        guard totals.energy > 0 else { return "" }
        let grids = try store.grids().map { (name: $0.name, code: $0.code, provider: $0.provider, gramsPerKWh: $0.gramsPerKWh) }
        let alternatives = GridComparison.alternatives(energyKWh: totals.energy, actualKg: totals.emissions, grids: grids)
        guard let best = alternatives.first else { return "" }
        let intensity = GridComparison.intensity(emissionsKg: totals.emissions, energyKWh: totals.energy) ?? 0
        let actual = Formatting.mass(kilograms: totals.emissions)
        let used = try store.gridsUsed(visibility, level: scope.level, id: scope.id, range: range)
        let usedText = used.isEmpty ? "the grids its runs reported"
            : used.map { GridComparison.displayName($0.name, code: $0.code, provider: $0.provider) }.joined(separator: ", ")
        var html: HTML = "<h2>Where could this have run?</h2>"
        if best.savingKg > 0 {
            let mass = Formatting.mass(kilograms: best.emissionsKg)
            html += "<p class=\"advice\">It ran on \(usedText), at \(Formatting.significant(intensity)) g CO2e/kWh on average, and emitted "
            html += "\(actual.value) \(actual.unit) CO2e. Had it run in \(best.name) (\(Formatting.significant(best.gramsPerKWh)) g/kWh), "
            html += "it would have emitted \(mass.value) \(mass.unit): \(Formatting.percent(best.savingFraction)) % less.</p>"
        } else {
            html += "<p class=\"advice\">It ran on \(usedText), already one of the cleanest grids we know of.</p>"
        }
        html += "<div class=\"table-scroll\" tabindex=\"0\"><table><thead><tr><th scope=\"col\">Grid</th><th scope=\"col\" class=\"num\">g CO2e/kWh</th>"
        html += "<th scope=\"col\" class=\"num\">Would have emitted</th><th scope=\"col\" class=\"num\">Saving</th></tr></thead><tbody>"
        html += "<tr class=\"current\" aria-current=\"true\"><td><strong>Where it ran</strong>: \(usedText)</td>"
        html += "<td class=\"num\"><strong>\(Formatting.significant(intensity))</strong></td>"
        html += "<td class=\"num\"><strong>\(actual.value) \(actual.unit)</strong></td><td class=\"num\">–</td></tr>"
        for alternative in alternatives.prefix(8) {
            let mass = Formatting.mass(kilograms: alternative.emissionsKg)
            let saving = Formatting.mass(kilograms: alternative.savingKg)
            html += "<tr><td>\(alternative.name)</td><td class=\"num\">\(Formatting.significant(alternative.gramsPerKWh))</td>"
            html += "<td class=\"num\">\(mass.value) \(mass.unit)</td>"
            html += "<td class=\"num\">\(saving.value) \(saving.unit) (\(Formatting.percent(alternative.savingFraction)) %)</td></tr>"
        }
        return html + "</tbody></table></div>"
    }

    func childrenTable(_ caller: Caller, _ scope: Scope, _ range: DashboardRange, children: Level,
                       currentRequest: Request, visibility: Visibility) throws -> HTML {
        var items = try store.children(visibility, level: scope.level, id: scope.id, children: children, range: range)
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
        let scale = ChartScale.massUnit(forTotalKilograms: items.reduce(0) { $0 + $1.emissions })
        var html = Charts.breakdown(largest.map { (label: $0.name, value: $0.emissions) }, scale: scale,
                                    title: "Emissions by \(children.rawValue), \(range.label)")
        let pageSize = 50
        let pages = (items.count + pageSize - 1) / pageSize
        let page = min(try currentRequest.integerQuery("page", in: 1...1_000_000, default: 1), pages)
        let base = "\(scope.path)?\(range.query)"
        html += "<div class=\"table-scroll\" tabindex=\"0\"><table><thead><tr>\(sort.header("Name", key: "name", base: base))"
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
        html += "</tbody></table></div>"
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
        let rows = try store.runListing(caller, experimentID: scope.id, range: range, limit: 2000, oldestFirst: true)
            .map { ($0.startedAt.timeIntervalSince1970, $0.emissionsKg, $0.durationSeconds, $0.id) }
        guard rows.count > 1 else { return "" }
        let scale = ChartScale.massUnit(forTotalKilograms: rows.reduce(0) { $0 + $1.1 })
        return "<h2>Runs: when they started and what they emitted</h2>"
            + Charts.scatter(rows.map { (x: $0.0, y: $0.1, size: $0.2, label: UTCDay.string($0.0) + ", " + Formatting.duration(seconds: $0.2)) },
                             scale: scale, title: "Runs of this experiment")
    }

    /// The experiment's runs (200 at most, in the order the header links ask for; newest first by default).
    func runsTable(_ caller: Caller, _ scope: Scope, _ range: DashboardRange, request: Request) throws -> HTML {
        let sort = TableSort(request: request, allowed: Store.RunOrder.allCases.map(\.rawValue), defaultKey: "started")
        let order = Store.RunOrder(rawValue: sort.key) ?? .started
        let rows = try store.runListing(caller, experimentID: scope.id, range: range, limit: 200, by: order, descending: sort.descending)
        guard !rows.isEmpty else { return "<p class=\"muted\">No run started in this range.</p>" }
        let base = "\(scope.path)?\(range.query)"
        var html: HTML = "<div class=\"table-scroll\" tabindex=\"0\"><table><thead><tr>\(sort.header("Started", key: "started", base: base))"
        html += "<th scope=\"col\">Hardware</th>\(sort.header("Emissions", key: "emissions", base: base, numeric: true))"
        html += "\(sort.header("Energy", key: "energy", base: base, numeric: true))\(sort.header("Duration", key: "duration", base: base, numeric: true))</tr></thead><tbody>"
        for row in rows {
            let started = localTime(row.startedAt)
            let hardware = [row.cpuModel, row.gpuModel].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: " + ")
            let mass = Formatting.mass(kilograms: row.emissionsKg)
            let energy = Formatting.energy(kilowattHours: row.energyKWh)
            html += "<tr><td><a href=\"/run/\(row.id.idText)\">\(started)</a></td><td>\(hardware)</td>"
            html += "<td class=\"num\">\(mass.value) \(mass.unit)</td><td class=\"num\">\(energy.value) \(energy.unit)</td>"
            html += "<td class=\"num\">\(Formatting.duration(seconds: row.durationSeconds))</td></tr>"
        }
        return html + "</tbody></table></div>"
    }

    // MARK: Run

    func run(_ request: Request, _ caller: Caller) throws -> (String, HTML) {
        guard let id = UUID(uuidString: request.parameter("run") ?? "") else { throw AppError.notFound("No such run.") }
        let (run, lastSampleAt, trail) = try store.runPage(caller, id: id)
        let paths = DashboardRoutes.paths(trail)
        let scope = Scope(title: "Run", level: .run, id: id, path: "/run/\(id.idText)",
                          crumbs: zip(trail.map(\.name), paths).map { ($0, $1) })
        let lastSeen = run.lastSeenAt
        let running = run.endedAt == nil && Date().timeIntervalSince(lastSeen) < 15 * 60
        var totals = ScopeTotals()
        (totals.energy, totals.cpu, totals.gpu, totals.ram) = (run.energyKWh, run.cpuEnergyKWh, run.gpuEnergyKWh, run.ramEnergyKWh)
        (totals.emissions, totals.duration, totals.samples, totals.runs) = (run.emissionsKg, run.durationSeconds, run.sampleCount, 1)
        let runningBadge: HTML = running ? " <span class=\"notice\">running</span>" : ""
        var html: HTML = "\(crumbs(scope))<h1>Run <code>\(id.idText)</code>\(runningBadge)</h1>"
        html += stats(totals, showRuns: false)
        var machine: HTML = ""
        for (label, value) in [("CPU", run.cpuModel), ("GPU", run.gpuModel), ("OS", run.os), ("Python", run.pythonVersion),
                               ("CodeCarbon", run.codecarbonVersion), ("Country", run.countryName), ("Region", run.region),
                               ("Cloud", run.cloudProvider), ("Cloud region", run.cloudRegion)] {
            if let value, !value.isEmpty { machine += "<tr><th>\(label)</th><td>\(value)</td></tr>" }
        }
        for (label, value) in [("CPU count", run.cpuCount.map(String.init)), ("GPU count", run.gpuCount.map(String.init)),
                               ("RAM (GB)", run.ramTotalSize.map(JSONValue.format))] {
            if let value { machine += "<tr><th>\(label)</th><td>\(value)</td></tr>" }
        }
        html += "<p class=\"downloads muted\">Download: <a href=\"/api/v1/runs/\(id.idText)/samples.csv\" download>samples (CSV)</a> · "
        html += "<a href=\"/api/v1/runs/\(id.idText)/samples.json\">samples (JSON)</a></p>"
        let lastSample: HTML = lastSampleAt.map(localTime) ?? "none yet"
        html += "<h2>Machine</h2><div class=\"table-scroll\" tabindex=\"0\"><table><tbody>\(machine)"
        html += "<tr><th>Started</th><td>\(localTime(run.startedAt))</td></tr>"
        html += "<tr><th>Last sample</th><td>\(lastSample)</td></tr>"
        html += "<tr><th>Last heard from</th><td>\(localTime(lastSeen))</td></tr></tbody></table></div>"
        // The run's own samples, in at most 300 time buckets: average power per component, and the emissions rate.
        let buckets = try store.buckets(ofRun: id)
        let times = buckets.map(\.at)
        let split = Charts.split([("CPU", totals.cpu), ("GPU", totals.gpu), ("RAM", totals.ram)], unit: "kWh",
                                 title: "Energy of this run by component")
        if !split.isEmpty { html += "<h2>Energy by component</h2>\(split)" }
        var power: [(name: String, values: [Double?])] = []
        for (label, values) in [("CPU", buckets.map(\.cpu)), ("GPU", buckets.map(\.gpu)), ("RAM", buckets.map(\.ram))] {
            if values.contains(where: { ($0 ?? 0) > 0 }) { power.append((label, values)) }
        }
        let rate = buckets.map { $0.duration > 0 ? $0.emissions / $0.duration * 3_600_000 : nil }
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
        html += equivalentsList(totals.emissions, try store.equivalents())
        html += "<p class=\"muted\"><a href=\"/methodology\">How these figures are computed</a></p>"
        return ("Run \(id.idText.prefix(8))", html)
    }
}
