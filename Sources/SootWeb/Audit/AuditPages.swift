import Foundation
import HTTPServer
import SootStore

/// `/o/{organization}/-/audit`: the organization's audit trail for its owners and admins, filtered by person, kind
/// of action and days, 50 entries a page, with the same filter as CSV and JSON. (`-` is never a slug, so no team can
/// hide the page.)
struct AuditPages {
    let authenticator: Authenticator
    let store: Store

    static let pageSize = 50

    func register(_ router: inout Router) {
        let pages = self
        router.get("/o/:org/-/audit") { request in try pages.trail(request) }
    }

    func trail(_ request: Request) throws -> Response {
        let caller = try authenticator.identify(request)
        guard case .user = caller.identity, case .session(_, let csrf) = caller.credential else {
            return .redirect(to: "/login?next=" + FormDecoding.encode(request.path))
        }
        let organization = try store.organizationPage(caller, slug: request.parameter("org") ?? "")
        let filter = try AuditFilter(request)
        let offset = try request.integerQuery("offset", in: 0...10_000_000, default: 0)
        let entries = try store.auditEntries(caller, organizationID: organization.id, filter: filter,
                                             page: Page(limit: AuditPages.pageSize, offset: offset))
        let people = try store.auditPeople(caller, organizationID: organization.id)
        let path = "/o/\(FormDecoding.encode(organization.trail[0].segment))"
        let body = AuditViews.page(organizationName: organization.name, organizationID: organization.id, path: path, filter: filter,
                                   people: people, entries: entries)
        var response = Response.html(Layout.page(title: "Audit trail · \(organization.name)", body: body, csrfToken: csrf, signedIn: true))
        response.headers.set("Cache-Control", "private, no-store")
        return response
    }
}

/// The audit trail's HTML: pure, from records.
enum AuditViews {
    static func page(organizationName: String, organizationID: UUID, path: String, filter: AuditFilter, people: [(UUID, String)],
                     entries: Paged<AuditEntryRecord>) -> HTML {
        var query: [(String, String)] = []
        if let user = filter.userID { query.append(("user", user.idText)) }
        if let kind = filter.kind { query.append(("kind", kind)) }
        if let from = filter.from { query.append(("from", from)) }
        if let to = filter.to { query.append(("to", to)) }
        func encoded(_ pairs: [(String, String)]) -> String {
            pairs.map { "\($0.0)=\(FormDecoding.encode($0.1))" }.joined(separator: "&")
        }
        let personOptions = HTML.joined([HTML("<option value=\"\">Anyone</option>")] + people.map { id, email -> HTML in
            let selected: HTML = filter.userID == id ? " selected" : ""
            return "<option value=\"\(id.idText)\"\(selected)>\(email)</option>"
        })
        let kindOptions = HTML.joined([HTML("<option value=\"\">Any</option>")] + Audit.kinds.map { kind -> HTML in
            let selected: HTML = filter.kind == kind ? " selected" : ""
            return "<option value=\"\(kind)\"\(selected)>\(kind.replacingOccurrences(of: "_", with: " "))</option>"
        })
        let exportQuery = encoded([("organization", organizationID.idText)] + query)
        let form: HTML = """
            <form method="get" action="\(path)/-/audit" class="card filters">
            <div><label for="audit-user">Person</label><select id="audit-user" name="user">\(personOptions)</select></div>
            <div><label for="audit-kind">Kind</label><select id="audit-kind" name="kind">\(kindOptions)</select></div>
            <div><label for="audit-from">From</label><input id="audit-from" name="from" type="date" value="\(filter.from ?? "")"></div>
            <div><label for="audit-to">To</label><input id="audit-to" name="to" type="date" value="\(filter.to ?? "")"></div>
            <button type="submit">Show</button>
            <p class="muted">Days are UTC, both included. Download what this shows, oldest first:
            <a href="/api/v1/reports/audit.csv?\(exportQuery)">CSV</a> · <a href="/api/v1/reports/audit.json?\(exportQuery)">JSON</a></p>
            </form>
            """
        var rows: HTML = ""
        for entry in entries.items { rows += row(entry) }
        let first = entries.page.offset + 1
        let last = entries.page.offset + entries.items.count
        var paging: [HTML] = []
        if entries.page.offset > 0 {
            let newer = max(0, entries.page.offset - entries.page.limit)
            paging.append("<a href=\"\(path)/-/audit?\(encoded(query + [("offset", String(newer))]))\" rel=\"prev\">← Newer</a>")
        }
        if last < entries.total {
            paging.append("<a href=\"\(path)/-/audit?\(encoded(query + [("offset", String(last))]))\" rel=\"next\">Older →</a>")
        }
        let table: HTML = entries.items.isEmpty
            ? "<p class=\"muted\">No entries\(filter.userID == nil && filter.kind == nil && filter.from == nil && filter.to == nil ? "" : " match this filter").</p>"
            : """
              <p class="muted">Entries \(first)–\(last) of \(entries.total), newest first.</p>
              <div class="table-scroll" tabindex="0"><table class="audit"><thead><tr><th>When</th><th>Who</th><th>Did</th><th>To</th><th>Change</th><th>From</th></tr></thead>
              <tbody>\(rows)</tbody></table></div>
              <nav class="paging" aria-label="Pages">\(HTML.joined(paging, separator: " · "))</nav>
              """
        return """
            <nav class="crumbs" aria-label="Breadcrumb"><a href="\(path)">\(organizationName)</a></nav>
            <h1>Audit trail</h1>
            <p class="muted">Every change to this organization: teams, projects, experiments and runs; members, roles and invitations; \
            tokens; public links; imports. Who did it, from where, and what changed. Sign-ins are on each person's account page.</p>
            \(form)\(table)
            """
    }

    /// One entry as a table row.
    static func row(_ entry: AuditEntryRecord) -> HTML {
        let who: HTML
        switch entry.actorKind {
        case "personal_token": who = "\(entry.actorName) <span class=\"muted\">(personal token)</span>"
        case "project_token": who = "\(entry.actorName) <span class=\"muted\">(project token)</span>"
        case "operator": who = "\(entry.actorName) <span class=\"muted\">(operator, command line)</span>"
        case "anonymous": who = "<span class=\"muted\">not signed in</span>"
        default: who = "\(entry.actorName)"
        }
        let object: HTML = entry.objectName.isEmpty ? "\(entry.objectKind)" : "\(entry.objectKind) <strong>\(entry.objectName)</strong>"
        let request: HTML = entry.requestID.map { "<br><span class=\"muted small\">request \($0)</span>" } ?? ""
        return """
            <tr><td>\(localTime(entry.at))</td><td>\(who)</td><td><code>\(entry.action)</code></td><td>\(object)</td>\
            <td>\(change(entry))</td><td>\(entry.address ?? "")\(request)</td></tr>
            """
    }

    /// `name: Old → New`, one field a line; only the new value when there was none before.
    static func change(_ entry: AuditEntryRecord) -> HTML {
        let old = Dictionary(entry.old.map { ($0.0, $0.1) }, uniquingKeysWith: { a, _ in a })
        var keys = entry.new.map(\.0)
        for (key, _) in entry.old where !keys.contains(key) { keys.append(key) }
        let newValues = Dictionary(entry.new.map { ($0.0, $0.1) }, uniquingKeysWith: { a, _ in a })
        let lines = keys.map { key -> HTML in
            let label = key.replacingOccurrences(of: "_", with: " ")
            let before = old[key].map { $0 ?? "none" }
            let after = newValues[key].map { $0 ?? "none" }
            switch (before, after) {
            case (let before?, let after?): return "\(label): \(before) → \(after)"
            case (nil, let after?): return "\(label): \(after)"
            case (let before?, nil): return "\(label): \(before)"
            case (nil, nil): return "\(label)"
            }
        }
        return HTML.joined(lines, separator: "<br>")
    }

    /// The account page's "Recent activity on your account".
    static func accountActivity(_ entries: [AuditEntryRecord]) -> HTML {
        guard !entries.isEmpty else { return "" }
        var rows: HTML = ""
        for entry in entries {
            let what: String
            switch entry.action {
            case "sign_in": what = "Signed in"
            case "sign_in.failed": what = "Failed sign-in"
            case "sign_out.everywhere": what = "Signed out everywhere"
            case "password.change": what = "Password changed"
            case "password.reset": what = "Password reset by an operator"
            case "token.create": what = "Token \(entry.objectName) created"
            case "token.revoke": what = "Token \(entry.objectName) revoked"
            case "user.create": what = "Account created"
            default: what = entry.action
            }
            rows += "<tr><td>\(localTime(entry.at))</td><td>\(what)</td><td>\(entry.address ?? "")</td></tr>"
        }
        return """
            <h2 id="activity">Recent activity on your account</h2>
            <p class="muted">The last \(entries.count) sign-ins, failed sign-ins, password changes and personal tokens. \
            Something you do not recognise? Change your password and sign out everywhere.</p>
            <div class="table-scroll" tabindex="0"><table><thead><tr><th>When</th><th>What</th><th>From</th></tr></thead><tbody>\(rows)</tbody></table></div>
            """
    }
}
