import Emissions
import Foundation
import SootStore

/// Budgets on a scope's page: the scope's own budgets as cards (used against the limit, where the period is heading,
/// when the limit is or would be reached), and its teams' and projects' budgets in a table that sorts by state,
/// use or name.
enum BudgetViews {
    static let stateLabels = ["on_track": "On track", "at_risk": "At risk", "over": "Over"]

    /// `manage`: the page's path and the session's CSRF token, for those who may set this scope's budgets.
    static func cards(_ budgets: [BudgetRecord], manage: (path: String, csrf: String, feedback: FormFeedback?)? = nil) -> HTML {
        guard !budgets.isEmpty || manage != nil else { return "" }
        var html: HTML = "<h2 id=\"budgets\">Budget</h2>"
        if budgets.isEmpty { html += "<p class=\"muted\">No budget yet.</p>" }
        html += "<div class=\"budgets\">"
        for budget in budgets {
            let used = Formatting.mass(kilograms: budget.emissions.used), limit = Formatting.mass(kilograms: budget.limitKg)
            let forecast = Formatting.mass(kilograms: budget.emissions.forecast)
            let low = Formatting.mass(kilograms: budget.emissions.low), high = Formatting.mass(kilograms: budget.emissions.high)
            let percent = budget.usedPercent
            let end = BudgetPeriod.text(budget.period.end - 1)
            html += "<section class=\"card budget \(budget.state)\" id=\"budget-\(budget.period.kind.rawValue)\">"
            html += "<h3>\(budget.period.kind.rawValue.capitalized)ly budget, \(BudgetPeriod.text(budget.period.start)) to \(end)"
            html += " <span class=\"badge \(budget.state)\">\(stateLabels[budget.state] ?? budget.state)</span></h3>"
            html += "<p class=\"budget-used\"><strong>\(used.value) \(used.unit)</strong> of \(limit.value) \(limit.unit) CO2e "
            html += "(\(Formatting.significant(percent)) %)</p>"
            html += "<meter min=\"0\" max=\"100\" low=\"80\" high=\"100\" optimum=\"0\" value=\"\(String(format: "%.1f", min(percent, 100)))\" "
            html += "aria-label=\"\(Formatting.significant(percent)) % of the budget used\"></meter>"
            html += "<p>Heading for <strong>\(forecast.value) \(forecast.unit)</strong> by \(end) "
            html += "<span class=\"muted\">(likely \(low.value) \(low.unit) to \(high.value) \(high.unit))</span>"
            if let day = budget.emissions.limitReachedOn {
                html += budget.emissions.used >= budget.limitKg ? "; the limit was reached on \(BudgetPeriod.text(day))."
                                                                : "; at this pace the limit is reached on \(BudgetPeriod.text(day))."
            } else {
                html += "."
            }
            html += "</p><p class=\"muted\">Alerts at \(budget.thresholds.map { "\($0) %" }.joined(separator: ", ")).</p>"
            if let manage {
                html += "<form method=\"post\" action=\"\(manage.path)/-/budgets/\(budget.id.idText)/delete\" class=\"inline\">"
                html += "<input type=\"hidden\" name=\"csrf_token\" value=\"\(manage.csrf)\"><button type=\"submit\" class=\"link\">Remove this budget</button></form>"
            }
            html += "</section>"
        }
        html += "</div>"
        if let manage {
            let limit = FieldState(form: "budget-limit", manage.feedback)
            html += """
                <form method="post" action="\(manage.path)/-/budgets" class="card budget-form"><input type="hidden" name="csrf_token" value="\(manage.csrf)">
                <label for="budget-period">Set a budget for each</label><select id="budget-period" name="period"><option value="month">month</option>\
                <option value="quarter">quarter</option><option value="year">year</option></select>
                <label for="budget-limit">Limit (kg CO2e)</label><input id="budget-limit" name="limit_kg" inputmode="decimal" required placeholder="e.g. 50"\(limit.attributes())>\(limit.message)
                <label for="budget-thresholds">Alert at (% of the limit)</label><input id="budget-thresholds" name="thresholds" value="50, 80, 100">
                <button type="submit">Set budget</button></form>
                """
        }
        return html
    }

    /// The budgets of the scope's teams or projects; `sort` is state (worst first), used (share of the limit,
    /// highest first) or name.
    static func table(_ budgets: [BudgetRecord], path: String, sort: String, query: String) -> HTML {
        guard !budgets.isEmpty else { return "" }
        let order = ["over": 0, "at_risk": 1, "on_track": 2]
        let sorted: [BudgetRecord] = switch sort {
        case "used": budgets.sorted { $0.usedPercent > $1.usedPercent }
        case "name": budgets.sorted { ($0.scopeName.lowercased(), $0.period.kind.rawValue) < ($1.scopeName.lowercased(), $1.period.kind.rawValue) }
        default: budgets.sorted { (order[$0.state] ?? 3, -$0.usedPercent) < (order[$1.state] ?? 3, -$1.usedPercent) }
        }
        func header(_ key: String, _ label: String) -> HTML {
            key == sort || (key == "state" && !["used", "name"].contains(sort))
                ? "<th scope=\"col\" aria-sort=\"descending\">\(label)</th>"
                : "<th scope=\"col\"><a href=\"\(path)?\(query)&budgets=\(key)#child-budgets\">\(label)</a></th>"
        }
        var rows: HTML = ""
        for budget in sorted {
            let used = Formatting.mass(kilograms: budget.emissions.used), limit = Formatting.mass(kilograms: budget.limitKg)
            let forecast = Formatting.mass(kilograms: budget.emissions.forecast)
            rows += "<tr><td>\(budget.scopeName) <span class=\"muted\">(\(budget.scopeLevel.rawValue))</span></td>"
            rows += "<td>\(budget.period.kind.rawValue)</td><td class=\"num\">\(used.value) \(used.unit) / \(limit.value) \(limit.unit)</td>"
            rows += "<td class=\"num\">\(Formatting.significant(budget.usedPercent)) %</td><td class=\"num\">\(forecast.value) \(forecast.unit)</td>"
            rows += "<td><span class=\"badge \(budget.state)\">\(stateLabels[budget.state] ?? budget.state)</span></td></tr>"
        }
        return """
            <h2 id="child-budgets">Budgets of its \(budgets.first?.scopeLevel == .team ? "teams" : "projects")</h2>
            <div class="table-scroll" tabindex="0"><table class="child-budgets"><thead><tr>\(header("name", "Scope"))<th scope="col">Period</th>\
            <th scope="col" class="num">Used / limit</th>\(header("used", "Used"))<th scope="col" class="num">Forecast</th>\(header("state", "State"))</tr></thead>\
            <tbody>\(rows)</tbody></table></div>
            """
    }
}
