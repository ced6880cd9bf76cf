import Foundation
import HTTPServer
import SootStore

/// The organization page's alerts panel (owners and admins): its webhooks with their state, a form to add one, a
/// test button, and the last deliveries with their status. Forms carry the session's CSRF token.
struct AlertPages {
    let authenticator: Authenticator
    let store: Store
    let proxies: TrustedProxies
    let publicURL: String?

    func register(_ router: inout Router) {
        let pages = self
        router.post("/o/:org/-/webhooks") { request in try pages.create(request) }
        router.post("/o/:org/-/webhooks/:webhook/test") { request in try pages.test(request) }
        router.post("/o/:org/-/webhooks/:webhook/delete") { request in try pages.delete(request) }
    }

    func organization(_ request: Request) throws -> (caller: Caller, csrf: String, id: UUID, page: String) {
        let (caller, csrf) = try authenticator.sessionUser(request)
        let organization = try store.organization(caller, slug: request.parameter("org") ?? "")
        return (caller, csrf, organization.id, "/o/\(FormDecoding.encode(organization.slug))")
    }

    func create(_ request: Request) throws -> Response {
        let (caller, csrf, organizationID, page) = try organization(request)
        let secure = proxies.isHTTPS(request)
        return try formSubmission(request, form: "webhook-url", page: page, field: "url", secure: secure) {
            let url = (request.formField("url") ?? "").trimmingOWS()
            guard let parsed = URL(string: url), ["http", "https"].contains(parsed.scheme?.lowercased() ?? ""), parsed.host?.isEmpty == false,
                  url.count <= 2000, !url.contains(where: { $0.isWhitespace }) else {
                throw AppError.invalid("url", "Give an http:// or https:// address.")
            }
            let events = request.formFields.filter { $0.name == "events" }.map(\.value).filter(Alerts.eventTypes.contains)
            guard !events.isEmpty else { throw AppError.invalid("url", "Choose at least one kind of alert.") }
            let format = Alerts.formats.contains(request.formField("format") ?? "") ? request.formField("format")! : "json"
            let (_, secret) = try store.createWebhook(caller, organizationID: organizationID, url: url, secret: nil,
                                                      events: Array(Set(events)).sorted(), format: format)
            let body: HTML = """
                <h1>Webhook added</h1>
                <p>Soot now posts \(events.joined(separator: " and ")) alerts to <code>\(url)</code>. Each <code>json</code> delivery is signed \
                with this secret (the <code>Soot-Signature</code> header; see the README). It is shown only now.</p>
                <pre class="card secret">\(secret)</pre><p><a href="\(page)#alerts">Back to the organization</a></p>
                """
            var response = Response.html(Layout.page(title: "Webhook added", body: body, csrfToken: csrf, signedIn: true), status: .created)
            response.headers.set("Cache-Control", "no-store")
            return response
        }
    }

    func test(_ request: Request) throws -> Response {
        let (caller, _, organizationID, page) = try organization(request)
        _ = try store.testWebhook(caller, organizationID: organizationID, id: try Store.id(request.parameter("webhook")),
                                  link: (publicURL ?? "") + page)
        return .back(to: page + "#alerts", .success("Test sent: it appears below within a few seconds."), secure: proxies.isHTTPS(request))
    }

    func delete(_ request: Request) throws -> Response {
        let (caller, _, organizationID, page) = try organization(request)
        try store.deleteWebhook(caller, organizationID: organizationID, id: try Store.id(request.parameter("webhook")))
        return .back(to: page + "#alerts", .success("Webhook removed."), secure: proxies.isHTTPS(request))
    }

    /// The panel: nothing for members who may not manage webhooks.
    static func panel(_ webhooks: [WebhookRecord], _ deliveries: [DeliveryRecord], path: String, csrf: String, feedback: FormFeedback?) -> HTML {
        let hidden: HTML = "<input type=\"hidden\" name=\"csrf_token\" value=\"\(csrf)\">"
        var rows: HTML = ""
        for webhook in webhooks {
            let state: HTML = webhook.failingSince.map { "<span class=\"badge over\">Failing since \(ISOTime.format($0).prefix(10))</span>" }
                ?? "<span class=\"badge on_track\">OK</span>"
            rows += "<tr><td><code>\(webhook.url)</code></td><td>\(webhook.events.joined(separator: ", "))</td><td>\(webhook.format)</td><td>\(state)</td><td>"
            rows += "<form method=\"post\" action=\"\(path)/-/webhooks/\(webhook.id.idText)/test\" class=\"inline\">\(hidden)<button type=\"submit\" class=\"link\">Send a test</button></form> · "
            rows += "<form method=\"post\" action=\"\(path)/-/webhooks/\(webhook.id.idText)/delete\" class=\"inline\">\(hidden)<button type=\"submit\" class=\"link\">Remove</button></form></td></tr>"
        }
        let list: HTML = rows.isEmpty ? "<p class=\"muted\">No webhook yet: alerts are raised but sent nowhere.</p>"
            : "<div class=\"table-scroll\" tabindex=\"0\"><table><thead><tr><th>URL</th><th>Alerts</th><th>Format</th><th>State</th><th><span class=\"visually-hidden\">Actions</span></th></tr></thead><tbody>\(rows)</tbody></table></div>"
        var deliveryRows: HTML = ""
        let urls = Dictionary(uniqueKeysWithValues: webhooks.map { ($0.id, $0.url) })
        for delivery in deliveries.prefix(10) {
            let when = ISOTime.format(delivery.deliveredAt ?? delivery.createdAt).prefix(16).replacingOccurrences(of: "T", with: " ")
            let outcome = delivery.lastStatus.map { "HTTP \($0)" } ?? delivery.lastError.map { String($0.prefix(80)) } ?? "–"
            let badge = delivery.status == "delivered" ? "on_track" : delivery.status == "failed" ? "over" : "at_risk"
            deliveryRows += "<tr><td>\(when)</td><td>\(delivery.eventType)</td><td><code>\(urls[delivery.webhookID] ?? "")</code></td>"
            deliveryRows += "<td><span class=\"badge \(badge)\">\(delivery.status)</span></td><td class=\"num\">\(delivery.attempts)</td><td>\(outcome)</td></tr>"
        }
        let recent: HTML = deliveryRows.isEmpty ? "" : """
            <h3>Last deliveries</h3><div class="table-scroll" tabindex="0"><table><thead><tr><th>When (UTC)</th><th>Event</th><th>Webhook</th>\
            <th>Status</th><th class="num">Attempts</th><th>Last answer</th></tr></thead><tbody>\(deliveryRows)</tbody></table></div>
            """
        let url = FieldState(form: "webhook-url", feedback)
        return """
            <h2 id="alerts">Alerts</h2>
            <p class="muted">Budget alerts (a threshold crossed, a forecast past the limit) are posted to these addresses.</p>
            \(list)\(recent)
            <form method="post" action="\(path)/-/webhooks" class="card">\(hidden)
            <label for="webhook-url">New webhook URL</label><input id="webhook-url" name="url" type="url" required maxlength="2000" placeholder="https://hooks.slack.com/services/…"\(url.attributes())>\(url.message)
            <label for="webhook-format">Format</label><select id="webhook-format" name="format"><option value="json">JSON, signed</option><option value="slack">Slack</option><option value="teams">Microsoft Teams</option></select>
            <fieldset><legend>Alerts</legend>
            <label class="check"><input type="checkbox" name="events" value="budget.threshold" checked> a budget threshold crossed</label>
            <label class="check"><input type="checkbox" name="events" value="budget.forecast" checked> a budget's forecast past its limit</label></fieldset>
            <button type="submit">Add webhook</button></form>
            """
    }
}
