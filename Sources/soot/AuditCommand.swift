import ArgumentParser
import Foundation
import HTTPServer
import SootStore
import SootWeb

/// `soot audit`: the audit trail for the operator, one line per entry, oldest first.
struct AuditCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit", abstract: "Print the audit trail, one line per entry, oldest first.",
        discussion: """
            Every management action (teams, projects, experiments and runs created, renamed or deleted; members, roles and \
            invitations; tokens; public links; imports) and every sign-in, failed sign-in and password change or reset, \
            with who, from where, and what changed. Entries of deleted organizations stay until the retention \
            (soot serve --audit-retention) removes them.
            """)

    @Option(help: "Only this organization's entries (its id).") var organization: String?
    @Option(help: "Only entries from this day (2026-12-01, UTC) or ISO 8601 moment on.") var since: String?
    @Option(help: "At most this many entries.") var limit: Int = 100_000
    @Flag(help: "One JSON object per line instead of text.") var json = false
    @OptionGroup var database: DatabaseOptions

    func validate() throws {
        if let organization, UUID(uuidString: organization) == nil { throw ValidationError("--organization must be an organization's id.") }
        if let since, AuditCommand.moment(since) == nil { throw ValidationError("--since must be a day (2026-12-01) or an ISO 8601 moment.") }
        guard (1...10_000_000).contains(limit) else { throw ValidationError("--limit must be from 1 to 10000000.") }
    }

    static func moment(_ text: String) -> Date? {
        ISOTime.parse(text) ?? (text.utf8.count == 10 ? ISOTime.parse(text + "T00:00:00Z") : nil)
    }

    func run() throws {
        try withDatabase(database) { pool in
            try Audit.entries(pool, organizationID: organization.flatMap(UUID.init(uuidString:)), since: since.flatMap(AuditCommand.moment),
                              limit: limit) { entry in
                print(json ? entry.json.serialized : AuditCommand.line(entry))
            }
        }
    }

    /// `2026-12-07T20:45:42Z ada@example.com (user) team.create team "Speech" org=… from=10.0.0.7 request=… name: → Speech`
    static func line(_ entry: AuditEntryRecord) -> String {
        var parts = [ISOTime.format(entry.at), entry.actorName.isEmpty ? "-" : entry.actorName, "(\(entry.actorKind))", entry.action,
                     entry.objectKind + (entry.objectName.isEmpty ? "" : " \(JSONText.quote(entry.objectName))")]
        if let organization = entry.organizationID { parts.append("org=\(organization.idText)") }
        if let address = entry.address { parts.append("from=\(address)") }
        if let request = entry.requestID { parts.append("request=\(request)") }
        let old = Dictionary(entry.old.map { ($0.0, $0.1) }, uniquingKeysWith: { a, _ in a })
        var keys = entry.new.map(\.0)
        for (key, _) in entry.old where !keys.contains(key) { keys.append(key) }
        let new = Dictionary(entry.new.map { ($0.0, $0.1) }, uniquingKeysWith: { a, _ in a })
        for key in keys {
            let before = old[key].map { $0 ?? "null" } ?? ""
            let after = new[key].map { $0 ?? "null" } ?? ""
            parts.append("\(key): \(before.isEmpty ? "" : JSONText.quote(before) + " ")→ \(after.isEmpty ? "" : JSONText.quote(after))")
        }
        return parts.joined(separator: " ")
    }
}
