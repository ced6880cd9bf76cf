import Foundation
import Postgres

/// Who did something, as the audit trail records it: never a secret, only ids and names.
package struct AuditActor: Sendable, Equatable {
    package enum Kind: String, Sendable { case user, personalToken = "personal_token", projectToken = "project_token", `operator`, anonymous }

    package let kind: Kind
    package let userID: UUID?
    package let tokenID: UUID?
    /// For the operator: the account at the command line; others' names are looked up when the entry is written.
    package let name: String?
    package let address: String?
    package let requestID: String?

    package init(kind: Kind, userID: UUID? = nil, tokenID: UUID? = nil, name: String? = nil, address: String? = nil, requestID: String? = nil) {
        (self.kind, self.userID, self.tokenID, self.name, self.address, self.requestID) = (kind, userID, tokenID, name, address, requestID)
    }

    /// The person or token behind a request.
    package init(_ caller: Caller) {
        switch (caller.identity, caller.credential) {
        case (.user(let user), .personalToken(let token)):
            self.init(kind: .personalToken, userID: user, tokenID: token, address: caller.address, requestID: caller.requestID)
        case (.user(let user), _):
            self.init(kind: .user, userID: user, address: caller.address, requestID: caller.requestID)
        case (.project, .none):
            // `soot import` writes as the project without a credential: the operator at the command line.
            self = .commandLine
        case (.project(_, _, let token), _):
            self.init(kind: .projectToken, tokenID: token, address: caller.address, requestID: caller.requestID)
        case (.anonymous, _):
            self.init(kind: .anonymous, address: caller.address, requestID: caller.requestID)
        }
    }

    /// The operator at the command line (`soot user reset-password`, ...), named by the login account.
    package static var commandLine: AuditActor {
        let environment = ProcessInfo.processInfo.environment
        return AuditActor(kind: .operator, name: environment["SUDO_USER"] ?? environment["USER"] ?? "operator")
    }
}

/// What an entry is about: a kind (`team`, `user`, `project_token`, ...), its id and its name at the time.
package struct AuditObject: Sendable {
    package let kind: String
    package let id: UUID?
    package let name: String

    package init(_ kind: String, _ id: UUID?, _ name: String = "") {
        (self.kind, self.id, self.name) = (kind, id, name)
    }
}

/// The audit trail's writer. Every management action calls `record` on the connection of the transaction that
/// makes the change, so an action that fails (or is rolled back) leaves no entry, and one that commits leaves one.
package enum Audit {
    /// The actions, as stored in `audit_events.action` (and filtered on by their first word).
    package enum Action: String, Sendable, CaseIterable {
        case organizationCreate = "organization.create", organizationUpdate = "organization.update", organizationDelete = "organization.delete"
        case teamCreate = "team.create", teamUpdate = "team.update", teamDelete = "team.delete"
        case projectCreate = "project.create", projectUpdate = "project.update", projectDelete = "project.delete"
        case publicLinkOn = "public_link.on", publicLinkOff = "public_link.off"
        case experimentCreate = "experiment.create", experimentUpdate = "experiment.update", experimentDelete = "experiment.delete"
        case runCreate = "run.create", runDelete = "run.delete"
        case memberRole = "member.role", memberRemove = "member.remove", memberLeave = "member.leave"
        case teamMemberAdd = "team_member.add", teamMemberRemove = "team_member.remove"
        case invitationCreate = "invitation.create", invitationRevoke = "invitation.revoke", invitationAccept = "invitation.accept"
        case tokenCreate = "token.create", tokenRevoke = "token.revoke"
        case samplesImport = "samples.import"
        case budgetCreate = "budget.create", budgetUpdate = "budget.update", budgetDelete = "budget.delete"
        case webhookCreate = "webhook.create", webhookDelete = "webhook.delete"
        case signIn = "sign_in", signInFailed = "sign_in.failed", signOutEverywhere = "sign_out.everywhere"
        case passwordChange = "password.change", passwordReset = "password.reset", userCreate = "user.create"
        /// `soot bootstrap`: whatever it found or made (user, organization, team, project, experiment) and two tokens.
        case bootstrap = "bootstrap"

        /// The first word: what the page's "kind" filter offers.
        package var kind: String { String(rawValue.prefix { $0 != "." }) }
    }

    /// The kinds (first words of the actions) in the order the filter lists them.
    package static let kinds: [String] = {
        var seen: [String] = []
        for action in Action.allCases where !seen.contains(action.kind) { seen.append(action.kind) }
        return seen
    }()

    /// Writes one entry. `old` and `new` are the fields that changed (text values; nil is JSON null).
    package static func record(
        _ connection: DatabaseConnection, _ actor: AuditActor, _ action: Action, organization: UUID?, object: AuditObject,
        old: [(String, String?)] = [], new: [(String, String?)] = []
    ) throws {
        func json(_ fields: [(String, String?)]) -> SQLQuery {
            guard !fields.isEmpty else { return "NULL" }
            return "jsonb_object(\(fields.map(\.0))::text[], \(fields.map(\.1))::text[])"
        }
        try connection.query("""
            INSERT INTO audit_events (organization_id, actor_kind, actor_user_id, actor_token_id, actor_name, action, object_kind,
                                      object_id, object_name, address, request_id, old_value, new_value)
            VALUES (\(organization), \(actor.kind.rawValue), \(actor.userID), \(actor.tokenID),
                    coalesce(\(actor.name), (SELECT t.name || ' (' || t.prefix || '…)' FROM api_tokens t WHERE t.id = \(actor.tokenID)),
                             (SELECT u.email FROM users u WHERE u.id = \(actor.userID)), ''),
                    \(action.rawValue), \(object.kind), \(object.id), \(String(object.name.prefix(500))),
                    \(actor.address), \(actor.requestID), \(json(old)), \(json(new)))
            """)
    }

    /// The fields among `pairs` whose value changed, as (old, new) lists for `record`; empty when nothing changed.
    package static func changes(_ pairs: [(String, old: String?, new: String?)]) -> (old: [(String, String?)], new: [(String, String?)]) {
        let changed = pairs.filter { $0.old != $0.new }
        return (changed.map { ($0.0, $0.old) }, changed.map { ($0.0, $0.new) })
    }
}
