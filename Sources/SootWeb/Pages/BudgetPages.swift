import Emissions
import Foundation
import HTTPServer
import SootStore

/// Budgets set from the scope's page: a form that sets (creates or changes) the budget of a period kind, and a
/// button that removes one. Who may is the store's to say (owners and admins for organizations and teams, the
/// project's team for a project); the form is shown to them only.
struct BudgetPages {
    let authenticator: Authenticator
    let store: Store
    let proxies: TrustedProxies

    func register(_ router: inout Router) {
        let pages = self
        router.post("/o/:org/-/budgets") { request in try pages.set(request, .organization) }
        router.post("/o/:org/:team/-/budgets") { request in try pages.set(request, .team) }
        router.post("/o/:org/:team/:project/-/budgets") { request in try pages.set(request, .project) }
        router.post("/o/:org/-/budgets/:budget/delete") { request in try pages.delete(request, .organization) }
        router.post("/o/:org/:team/-/budgets/:budget/delete") { request in try pages.delete(request, .team) }
        router.post("/o/:org/:team/:project/-/budgets/:budget/delete") { request in try pages.delete(request, .project) }
    }

    func scope(_ request: Request, _ level: Level, _ caller: Caller) throws -> DashboardRoutes.Scope {
        let org = request.parameter("org") ?? "", team = request.parameter("team") ?? "", project = request.parameter("project") ?? ""
        switch level {
        case .organization: return DashboardRoutes.Scope(.organization, try store.organizationPage(caller, slug: org))
        case .team: return DashboardRoutes.Scope(.team, try store.teamPage(caller, organization: org, team: team))
        default: return DashboardRoutes.Scope(.project, try store.projectPage(caller, organization: org, team: team, project: project))
        }
    }

    func set(_ request: Request, _ level: Level) throws -> Response {
        let (caller, _) = try authenticator.sessionUser(request)
        let scope = try scope(request, level, caller)
        let secure = proxies.isHTTPS(request)
        return try formSubmission(request, form: "budget-limit", page: scope.path, field: "limit_kg", secure: secure) {
            guard let period = BudgetPeriod.Kind(rawValue: request.formField("period") ?? "") else {
                throw AppError.invalid("limit_kg", "Choose a month, a quarter or a year.")
            }
            let text = (request.formField("limit_kg") ?? "").trimmingOWS().replacingOccurrences(of: ",", with: ".")
            guard let limit = Double(text), limit.isFinite, limit >= BudgetRoutes.minimumLimit, limit <= BudgetRoutes.maximumLimit else {
                throw AppError.invalid("limit_kg", "The limit is a number of kg CO2e (a microgram at least), such as 50 or 2.5.")
            }
            let parts = (request.formField("thresholds") ?? "").split(whereSeparator: { $0 == "," || $0 == " " || $0 == "%" })
            let thresholds = try parts.map { part -> Int in
                guard let value = Int(part), (1...1000).contains(value) else {
                    throw AppError.invalid("limit_kg", "Thresholds are whole percentages from 1 to 1000, such as 50, 80, 100.")
                }
                return value
            }
            guard thresholds.count <= 10 else { throw AppError.invalid("limit_kg", "At most 10 thresholds.") }
            let chosen = thresholds.isEmpty ? [50, 80, 100] : Array(Set(thresholds)).sorted()
            if let existing = try store.budgets(caller, level: level, id: scope.id).first(where: { $0.scopeID == scope.id && $0.period.kind == period }) {
                _ = try store.updateBudget(caller, id: existing.id, limitKg: limit, limitKWh: nil, thresholds: chosen)
            } else {
                _ = try store.createBudget(caller, BudgetInput(
                    organizationID: level == .organization ? scope.id : nil, teamID: level == .team ? scope.id : nil,
                    projectID: level == .project ? scope.id : nil, period: period, limitKg: limit, limitKWh: nil, thresholds: chosen))
            }
            let mass = Formatting.mass(kilograms: limit)
            return .back(to: scope.path + "#budgets", .success("\(period.rawValue.capitalized)ly budget set: \(mass.value) \(mass.unit) CO2e."),
                         secure: secure)
        }
    }

    func delete(_ request: Request, _ level: Level) throws -> Response {
        let (caller, _) = try authenticator.sessionUser(request)
        let scope = try scope(request, level, caller)
        try store.deleteBudget(caller, id: try Store.id(request.parameter("budget")))
        return .back(to: scope.path + "#budgets", .success("Budget removed."), secure: proxies.isHTTPS(request))
    }
}
