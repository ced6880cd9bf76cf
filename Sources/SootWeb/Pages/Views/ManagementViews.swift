import Foundation
import SootStore

/// The management forms of a scope's page, from the store's `ManagementPanel`: pure, testable without a server.
enum ManagementViews {
    /// `name`: the scope's current name, which the rename field starts with.
    /// `feedback`: what the last form sent from this page came back with (a refusal is shown under its field).
    static func panel(_ panel: Store.ManagementPanel, path: String, csrf: String, name: String = "", feedback: FormFeedback? = nil) -> HTML {
        let hidden: HTML = "<input type=\"hidden\" name=\"csrf_token\" value=\"\(csrf)\">"
        func rename(_ label: String) -> HTML {
            let state = FieldState(form: "rename", feedback)
            return """
                <form method="post" action="\(path)/rename" class="card">\(hidden)<label for="rename">Rename this \(label)</label>
                <input id="rename" name="name" required maxlength="200"\(state.attributes(current: name))>\(state.message)<button type="submit">Rename</button></form>
                """
        }
        func create(_ action: String, _ label: String, _ placeholder: String) -> HTML {
            let id = "new-\(label.lowercased())"
            let state = FieldState(form: id, feedback)
            return """
                <form method="post" action="\(action)" class="card">\(hidden)<label for="\(id)">New \(label.lowercased())</label>
                <input id="\(id)" name="name" required maxlength="200" placeholder="\(placeholder)"\(state.attributes())>\(state.message)<button type="submit">Create \(label.lowercased())</button></form>
                """
        }
        switch panel {
        case .none:
            return ""
        case .organization(let members, let invitations):
            var rows: HTML = ""
            for member in members {
                let current = member.role ?? "member"
                let options = HTML.joined(["member", "admin", "owner"].map { role -> HTML in
                    let selected: HTML = role == current ? " selected" : ""
                    return "<option value=\"\(role)\"\(selected)>\(role)</option>"
                })
                rows += "<tr><td>\(member.email)</td><td><form method=\"post\" action=\"\(path)/members/\(member.id.idText)/role\" class=\"inline\">\(hidden)"
                rows += "<select name=\"role\" aria-label=\"Role of \(member.email)\" class=\"auto-width\">\(options)</select> <button type=\"submit\" class=\"link\">Save</button></form>"
                rows += " · <form method=\"post\" action=\"\(path)/members/\(member.id.idText)/role\" class=\"inline\">\(hidden)<input type=\"hidden\" name=\"role\" value=\"remove\">"
                rows += "<button type=\"submit\" class=\"link\">Remove from the organization</button></form></td></tr>"
            }
            var pending: HTML = ""
            for invitation in invitations {
                let expires = String(ISOTime.format(invitation.expiresAt).prefix(10))
                pending += "<tr><td>\(invitation.email)</td><td>\(invitation.role)</td>"
                pending += "<td>\(expires)</td><td><form method=\"post\" action=\"\(path)/invitations/\(invitation.id.idText)/revoke\" class=\"inline\">\(hidden)"
                pending += "<button type=\"submit\" class=\"link\">Withdraw</button></form></td></tr>"
            }
            let invited: HTML = pending.isEmpty ? "" : """
                <h3>Invited, not yet accepted</h3><div class=\"table-scroll\" tabindex=\"0\"><table><thead><tr><th>Email</th><th>Role</th><th>Expires</th><th><span class=\"visually-hidden\">Actions</span></th></tr></thead><tbody>\(pending)</tbody></table></div>
                """
            let invite = FieldState(form: "member-email", feedback)
            return """
                \(create(path + "/teams", "Team", "e.g. Speech"))
                <h2 id="members">Members</h2><div class=\"table-scroll\" tabindex=\"0\"><table><thead><tr><th>Email</th><th>Role</th></tr></thead><tbody>\(rows)</tbody></table></div>
                \(invited)
                <form method="post" action="\(path)/members" class="card">\(hidden)<label for="member-email">Invite someone by email</label>
                <input id="member-email" name="email" type="email" required\(invite.attributes())>\(invite.message)<label for="member-role">Role</label>
                <select id="member-role" name="role"><option>member</option><option>admin</option><option>owner</option></select><button type="submit">Invite</button>
                <p class="muted">They get a link to accept; nobody joins without saying yes.</p></form>
                <p><a href="\(path)/-/audit">Audit trail</a>: who changed what in this organization, and when.</p>
                """
        case .team(let admin, let members):
            guard admin else { return create(path + "/projects", "Project", "e.g. Detector") }
            var rows: HTML = ""
            for member in members {
                rows += "<tr><td>\(member.email)</td><td><form method=\"post\" action=\"\(path)/members/\(member.id.idText)/remove\" class=\"inline\">\(hidden)"
                rows += "<button type=\"submit\" class=\"link\">Remove from team</button></form></td></tr>"
            }
            let add = FieldState(form: "team-member-email", feedback)
            let list: HTML = rows.isEmpty ? "<p class=\"muted\">No one is in this team yet; organization owners and admins see it anyway.</p>"
                : "<div class=\"table-scroll\" tabindex=\"0\"><table><thead><tr><th>Email</th><th><span class=\"visually-hidden\">Actions</span></th></tr></thead><tbody>\(rows)</tbody></table></div>"
            return """
                \(create(path + "/projects", "Project", "e.g. Detector"))<h2 id="team-members">Team members</h2>\(list)\
                <form method="post" action="\(path)/members" class="card">\(hidden)<label for="team-member-email">Add a member of the organization by email</label>\
                <input id="team-member-email" name="email" type="email" required\(add.attributes())>\(add.message)<button type="submit">Add to team</button></form>\(rename("team"))
                """
        case .project:
            return """
                \(create(path + "/experiments", "Experiment", "e.g. baseline"))\(rename("project"))\
                <p><a href="\(path)/delete">Delete this project…</a></p>
                """
        case .experiment:
            return rename("experiment")
        }
    }
}
