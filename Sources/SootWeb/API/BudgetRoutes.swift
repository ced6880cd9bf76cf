import Emissions
import Foundation
import HTTPServer
import SootStore

/// `/api/v1/budgets`: carbon budgets of organizations, teams and projects, each read back with where its period
/// stands (used, forecast with its range, state).
struct BudgetRoutes {
    let store: Store
    let authenticator: Authenticator

    /// Most a limit may be: a billion tonnes of CO2e, a billion MWh; least, a microgram (1e-9 kg) or a milliwatt-hour
    /// (1e-9 kWh, a microwatt-hour), so that every share of it is a finite number.
    static let maximumLimit = 1e12
    static let minimumLimit = 1e-9

    func register(_ router: inout Router, _ api: inout APIRegistry) {
        let store = self.store
        let authed = authenticator.api
        api.add(&router, .post, "/api/v1/budgets",
                summary: "Set a budget: exactly one of organization_id (owners, admins), team_id (owners, admins) or project_id (the project's team), a period (month, quarter, year; UTC), limit_kg, optionally limit_kwh, and thresholds in percent (default 50, 80, 100)",
                tag: "Budgets", request: "BudgetInput", response: "Budget", status: 201, handler: authed { request, caller in
                    let body = try JSONBody(request)
                    let scopes = [("organization_id", try body.uuid("organization_id")), ("team_id", try body.uuid("team_id")),
                                  ("project_id", try body.uuid("project_id"))].filter { $0.1 != nil }
                    guard scopes.count == 1 else {
                        throw AppError.invalid(scopes.first?.0 ?? "organization_id", "Name exactly one of organization_id, team_id and project_id.")
                    }
                    let period = BudgetPeriod.Kind(rawValue: try body.choice("period", BudgetPeriod.Kind.allCases.map(\.rawValue), required: true)!)!
                    let input = BudgetInput(
                        organizationID: try body.uuid("organization_id"), teamID: try body.uuid("team_id"), projectID: try body.uuid("project_id"),
                        period: period, limitKg: try BudgetRoutes.limit(body, "limit_kg", required: true)!,
                        limitKWh: try BudgetRoutes.limit(body, "limit_kwh"), thresholds: try BudgetRoutes.thresholds(body) ?? [50, 80, 100])
                    return .json(try store.createBudget(caller, input), status: .created)
                })
        api.add(&router, .get, "/api/v1/budgets",
                summary: "The budgets of an organization (with its teams' and projects'), a team (with its projects') or a project: give exactly one of organization, team, project",
                tag: "Budgets", response: "BudgetList", query: ["organization", "team", "project"], handler: authed { request, caller in
                    let given = [(Level.organization, request.query("organization")), (.team, request.query("team")), (.project, request.query("project"))]
                        .compactMap { level, value in value.map { (level, $0) } }
                    guard given.count == 1, let (level, text) = given.first else {
                        throw AppError.invalid("organization", "Give exactly one of organization, team and project.")
                    }
                    guard let id = UUID(idText: text) else { throw AppError.invalid(level.rawValue, "\(level.rawValue) must be a UUID.") }
                    let budgets = try store.budgets(caller, level: level, id: id)
                    return .json(["data": .array(budgets.map(\.json))])
                })
        api.add(&router, .get, "/api/v1/budgets/:budget_id", summary: "A budget with its period's figures", tag: "Budgets",
                response: "Budget", handler: authed { request, caller in
                    .json(try store.budget(caller, id: try Store.id(request.parameter("budget_id"))))
                })
        api.add(&router, .patch, "/api/v1/budgets/:budget_id", summary: "Change a budget's limits or thresholds (limit_kwh null removes it)",
                tag: "Budgets", request: "BudgetUpdate", response: "Budget", handler: authed { request, caller in
                    let body = try JSONBody(request)
                    if body.value("limit_kg") == .null { throw AppError.invalid("limit_kg", "limit_kg cannot be null.") }
                    let limitKWh: Double?? = body.value("limit_kwh") == nil ? nil : .some(try BudgetRoutes.limit(body, "limit_kwh"))
                    return .json(try store.updateBudget(caller, id: try Store.id(request.parameter("budget_id")),
                                                        limitKg: try BudgetRoutes.limit(body, "limit_kg"), limitKWh: limitKWh,
                                                        thresholds: try BudgetRoutes.thresholds(body)))
                })
        api.add(&router, .delete, "/api/v1/budgets/:budget_id", summary: "Delete a budget", tag: "Budgets", status: 204,
                handler: authed { request, caller in
                    try store.deleteBudget(caller, id: try Store.id(request.parameter("budget_id")))
                    return Response(status: .noContent)
                })
    }

    func registerWebhooks(_ router: inout Router, _ api: inout APIRegistry, publicURL: String?) {
        let store = self.store
        let authed = authenticator.api
        let base = "/api/v1/organizations/:organization_id/webhooks"
        api.add(&router, .post, base,
                summary: "Add a webhook (owners, admins): url (http or https), an optional secret (16 to 200 characters; made and shown once if left out), events (budget.threshold, budget.forecast; both by default) and format (json, slack or teams)",
                tag: "Alerts", request: "WebhookInput", response: "Webhook", status: 201, handler: authed { request, caller in
                    let body = try JSONBody(request)
                    let url = try BudgetRoutes.webhookURL(body)
                    let secret = try body.string("secret", maxLength: 200)
                    if let secret, secret.count < 16 { throw AppError.invalid("secret", "secret must have at least 16 characters.") }
                    var events = Alerts.eventTypes
                    if let value = body.value("events"), value != .null {
                        guard case .array(let items) = value, !items.isEmpty, items.count <= 10 else {
                            throw AppError.invalid("events", "events must be a list of: \(Alerts.eventTypes.joined(separator: ", ")).")
                        }
                        events = try items.enumerated().map { index, item in
                            guard let text = item.stringValue, Alerts.eventTypes.contains(text) else {
                                throw AppError.invalid("events[\(index)]", "Each event must be one of: \(Alerts.eventTypes.joined(separator: ", ")).")
                            }
                            return text
                        }
                        events = Array(Set(events)).sorted()
                    }
                    let format = try body.choice("format", Alerts.formats) ?? "json"
                    let (webhook, shown) = try store.createWebhook(caller, organizationID: try Store.id(request.parameter("organization_id")),
                                                                   url: url, secret: secret, events: events, format: format)
                    var json = webhook.json
                    if case .object(var fields) = json { fields["secret"] = .string(shown); json = .object(fields) }
                    return .json(json, status: .created)
                })
        api.add(&router, .get, base, summary: "The organization's webhooks, each with its last deliveries (owners, admins)", tag: "Alerts",
                response: "WebhookList", handler: authed { request, caller in
                    let organizationID = try Store.id(request.parameter("organization_id"))
                    let webhooks = try store.webhooks(caller, organizationID: organizationID)
                    let deliveries = try store.deliveries(caller, organizationID: organizationID, limit: 100)
                    return .json(["data": .array(webhooks.map { webhook in
                        var json = webhook.json
                        if case .object(var fields) = json {
                            fields["deliveries"] = .array(deliveries.filter { $0.webhookID == webhook.id }.prefix(10).map(\.json))
                            json = .object(fields)
                        }
                        return json
                    })])
                })
        api.add(&router, .delete, base + "/:webhook_id", summary: "Remove a webhook (owners, admins)", tag: "Alerts", status: 204,
                handler: authed { request, caller in
                    try store.deleteWebhook(caller, organizationID: try Store.id(request.parameter("organization_id")),
                                            id: try Store.id(request.parameter("webhook_id")))
                    return Response(status: .noContent)
                })
        api.add(&router, .post, base + "/:webhook_id/test", summary: "Send a test event to a webhook (owners, admins)", tag: "Alerts",
                response: "DeliveryQueued", status: 202, handler: authed { request, caller in
                    let organizationID = try Store.id(request.parameter("organization_id"))
                    let id = try store.testWebhook(caller, organizationID: organizationID, id: try Store.id(request.parameter("webhook_id")),
                                                   link: (publicURL ?? "") + "/")
                    return .json(["delivery_id": .id(id), "status": "pending"], status: .accepted)
                })
        api.add(&router, .get, base + "/:webhook_id/deliveries", summary: "A webhook's last deliveries, newest first (owners, admins)",
                tag: "Alerts", response: "DeliveryList", handler: authed { request, caller in
                    let deliveries = try store.deliveries(caller, organizationID: try Store.id(request.parameter("organization_id")),
                                                          webhookID: try Store.id(request.parameter("webhook_id")), limit: 50)
                    return .json(["data": .array(deliveries.map(\.json))])
                })
    }

    /// An http or https URL with a host, at most 2,000 characters.
    static func webhookURL(_ body: JSONBody) throws -> String {
        let url = try body.string("url", required: true, maxLength: 2000)!
        guard let parsed = URL(string: url), let scheme = parsed.scheme?.lowercased(), scheme == "http" || scheme == "https",
              let host = parsed.host, !host.isEmpty, !url.contains(where: { $0.isWhitespace }) else {
            throw AppError.invalid("url", "url must be an http:// or https:// address.")
        }
        return url
    }

    /// A limit: from `minimumLimit` to `maximumLimit`.
    static func limit(_ body: JSONBody, _ key: String, required: Bool = false) throws -> Double? {
        try body.double(key, required: required, range: minimumLimit...maximumLimit)
    }

    /// Thresholds: 1 to 10 whole percentages from 1 to 1000, returned sorted without repeats.
    static func thresholds(_ body: JSONBody) throws -> [Int]? {
        guard let value = body.value("thresholds"), value != .null else {
            if body.value("thresholds") == .null { throw AppError.invalid("thresholds", "thresholds cannot be null; leave it out for 50, 80, 100.") }
            return nil
        }
        guard case .array(let items) = value, (1...10).contains(items.count) else {
            throw AppError.invalid("thresholds", "thresholds must be a list of 1 to 10 percentages.")
        }
        let percentages = try items.enumerated().map { index, item -> Int in
            guard case .number(let number) = item, number.isFinite, number == number.rounded(), (1...1000).contains(number) else {
                throw AppError.invalid("thresholds[\(index)]", "Each threshold must be a whole percentage from 1 to 1000.")
            }
            return Int(number)
        }
        return Array(Set(percentages)).sorted()
    }
}

extension BudgetRecord: JSONRepresentable {
    package var json: JSONValue {
        func forecastJSON(_ forecast: BudgetForecast) -> JSONValue {
            ["used": .number(forecast.used), "forecast": .number(forecast.forecast), "forecast_low": .number(forecast.low),
             "forecast_high": .number(forecast.high)]
        }
        var object: [String: JSONValue] = [
            "id": .id(id),
            "organization_id": .id(organizationID),
            "scope": ["level": .string(scopeLevel.rawValue), "id": .id(scopeID), "name": .string(scopeName)],
            "period": .string(period.kind.rawValue),
            "period_start": .string(BudgetPeriod.text(period.start)),
            "period_end": .string(BudgetPeriod.text(period.end - 1)),
            "limit_kg": .number(limitKg),
            "limit_kwh": limitKWh.map { .number($0) } ?? .null,
            "thresholds": .array(thresholds.map { .number(Double($0)) }),
            "used_kg": .number(emissions.used),
            "used_percent": .number(usedPercent),
            "forecast_kg": .number(emissions.forecast),
            "forecast_range_kg": .array([.number(emissions.low), .number(emissions.high)]),
            "forecast_split_weekends": .bool(emissions.splitWeekends),
            "limit_reached_on": emissions.limitReachedOn.map { .string(BudgetPeriod.text($0)) } ?? .null,
            "state": .string(state),
            "created_at": .date(createdAt),
        ]
        if let energy {
            object["used_kwh"] = .number(energy.used)
            object["forecast_kwh"] = .number(energy.forecast)
            object["forecast_range_kwh"] = .array([.number(energy.low), .number(energy.high)])
        }
        return .object(object)
    }
}

extension WebhookRecord: JSONRepresentable {
    package var json: JSONValue {
        ["id": .id(id), "organization_id": .id(organizationID), "url": .string(url), "events": .array(events.map { .string($0) }),
         "format": .string(format), "created_at": .date(createdAt), "failing_since": failingSince.map { .date($0) } ?? .null,
         "failing": .bool(failingSince != nil)]
    }
}

extension DeliveryRecord: JSONRepresentable {
    package var json: JSONValue {
        ["id": .id(id), "webhook_id": .id(webhookID), "event_type": .string(eventType), "status": .string(status),
         "attempts": .int(attempts), "last_status": lastStatus.map { .int($0) } ?? .null, "last_error": lastError.map { .string($0) } ?? .null,
         "created_at": .date(createdAt), "delivered_at": deliveredAt.map { .date($0) } ?? .null]
    }
}
