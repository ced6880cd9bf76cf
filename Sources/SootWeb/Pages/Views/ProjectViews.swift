import Foundation
import SootStore

/// Views of a project's page that do not depend on the date range: pure functions of what the store returned.
enum ProjectViews {
    /// The "send data" panel (the project's ingest tokens, a form for a new one) and the sharing panel.
    /// `base`: the address the browser used (`https://soot.example.com`), so the public link is shown whole.
    static func settings(_ sharing: Store.ProjectSharing, path: String, csrf: String, base: String = "", feedback: FormFeedback? = nil) -> HTML {
        let name = FieldState(form: "token-name", feedback)
        let hidden: HTML = "<input type=\"hidden\" name=\"csrf_token\" value=\"\(csrf)\">"
        var rows: HTML = ""
        for token in sharing.tokens {
            let used = token.lastUsedAt.map { ISOTime.format($0).prefix(16).replacingOccurrences(of: "T", with: " ") } ?? "never"
            rows += "<tr><td>\(token.name)</td><td><code>\(token.prefix)…</code></td><td>\(token.scope)</td><td>\(used)</td>"
            rows += "<td><form method=\"post\" action=\"\(path)/tokens/\(token.id.idText)/revoke\" class=\"inline\">\(hidden)"
            rows += "<button type=\"submit\" class=\"link\">Revoke</button></form></td></tr>"
        }
        let list: HTML = rows.isEmpty ? "<p class=\"muted\">No active ingest token.</p>"
            : "<div class=\"table-scroll\" tabindex=\"0\"><table><thead><tr><th>Name</th><th>Token</th><th>Scope</th><th>Last used</th><th><span class=\"visually-hidden\">Actions</span></th></tr></thead><tbody>\(rows)</tbody></table></div>"
        let shared = base + (sharing.publicPath ?? "")
        let sharingPanel: HTML = sharing.isPublic
            ? "<p>Anyone with this link can read this project's figures: <a href=\"\(shared)\">\(shared)</a></p><form method=\"post\" action=\"\(path)/public\">\(hidden)<input type=\"hidden\" name=\"public\" value=\"off\"><button type=\"submit\">Stop sharing</button></form>"
            : "<p class=\"muted\">Only members can see this project.</p><form method=\"post\" action=\"\(path)/public\">\(hidden)<input type=\"hidden\" name=\"public\" value=\"on\"><button type=\"submit\">Create a read-only public link</button></form>"
        return """
            <h2 id="send-data">Send data to this project</h2>
            \(list)
            <form method="post" action="\(path)/tokens" class="card">\(hidden)
            <label for="token-name">New ingest token</label><input id="token-name" name="name" required maxlength="200" placeholder="e.g. training cluster"\(name.attributes())>\(name.message)
            <label for="token-scope">Scope</label><select id="token-scope" name="scope"><option value="write">write (agents post data)</option><option value="read">read</option></select>
            <button type="submit">Create token</button></form>
            <h2 id="sharing">Sharing</h2>
            \(sharingPanel)
            """
    }
}
