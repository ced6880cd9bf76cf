import Foundation
import Postgres

/// One entry of the audit trail, as read back.
package struct AuditEntryRecord: Sendable, Equatable {
    package let id: Int64
    package let at: Date
    package let organizationID: UUID?
    package let actorKind: String
    package let actorUserID: UUID?
    package let actorTokenID: UUID?
    package let actorName: String
    package let action: String
    package let objectKind: String
    package let objectID: UUID?
    package let objectName: String
    package let address: String?
    package let requestID: String?
    /// The changed fields before and after, by name (sorted), values as text.
    package let old: [(String, String?)]
    package let new: [(String, String?)]

    init(_ row: Row) throws {
        id = try row.decode("id")
        at = try row.decode("at")
        organizationID = try row.decode("organization_id")
        actorKind = try row.decode("actor_kind")
        actorUserID = try row.decode("actor_user_id")
        actorTokenID = try row.decode("actor_token_id")
        actorName = try row.decode("actor_name")
        action = try row.decode("action")
        objectKind = try row.decode("object_kind")
        objectID = try row.decode("object_id")
        objectName = try row.decode("object_name")
        address = try row.decode("address")
        requestID = try row.decode("request_id")
        old = AuditEntryRecord.fields(row["old_value"])
        new = AuditEntryRecord.fields(row["new_value"])
    }

    /// A jsonb object of text values (as `Audit.record` writes them) as sorted pairs.
    static func fields(_ json: String?) -> [(String, String?)] {
        guard let json, let object = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any] else { return [] }
        return object.keys.sorted().map { key in (key, object[key] as? String) }
    }

    package static func == (a: AuditEntryRecord, b: AuditEntryRecord) -> Bool { a.id == b.id }
}

/// What a reader of the trail asks for: one person, one kind of action (`team`, `member`, `sign_in`, ...), and UTC
/// days from `from` to `to`, both included.
package struct AuditFilter: Sendable {
    package var userID: UUID?
    package var kind: String?
    package var from: String?
    package var to: String?

    package init(userID: UUID? = nil, kind: String? = nil, from: String? = nil, to: String? = nil) {
        (self.userID, self.kind, self.from, self.to) = (userID, kind, from, to)
    }

    /// The filter's conditions on `audit_events a`.
    var condition: SQLQuery {
        """
        (\(userID)::uuid IS NULL OR a.actor_user_id = \(userID))
        AND (\(kind)::text IS NULL OR a.action = \(kind) OR a.action LIKE \(kind.map { $0 + ".%" }))
        AND (\(from)::date IS NULL OR a.at >= (\(from)::date)::timestamp AT TIME ZONE 'UTC')
        AND (\(to)::date IS NULL OR a.at < (\(to)::date + 1)::timestamp AT TIME ZONE 'UTC')
        """
    }
}

extension Audit {
    package static let columns = """
        a.id, a.at, a.organization_id, a.actor_kind, a.actor_user_id, a.actor_token_id, a.actor_name, a.action, a.object_kind,
        a.object_id, a.object_name, a.address, a.request_id, a.old_value::text AS old_value, a.new_value::text AS new_value
        """

    /// Deletes the entries older than `days` days; returns how many went.
    @discardableResult
    package static func prune(_ database: ConnectionPool, olderThanDays days: Int) throws -> Int {
        try database.query("DELETE FROM audit_events WHERE at < now() - make_interval(days => \(days))").affectedRows
    }

    /// Every entry (of one organization, or all) since a moment, oldest first, for the operator (`soot audit`).
    package static func entries(_ database: ConnectionPool, organizationID: UUID?, since: Date?, limit: Int,
                                _ each: (AuditEntryRecord) throws -> Void) throws {
        let rows = try database.query("""
            SELECT \(unsafeSQL: columns) FROM audit_events a
            WHERE (\(organizationID)::uuid IS NULL OR a.organization_id = \(organizationID))
              AND (\(since)::timestamptz IS NULL OR a.at >= \(since))
            ORDER BY a.at, a.id LIMIT \(limit)
            """).rows
        for row in rows { try each(try AuditEntryRecord(row)) }
    }
}

extension Store {
    /// Throws unless the caller is an owner or admin of the organization (404 for non-members).
    package func requireAuditReader(_ caller: Caller, organizationID: UUID) throws {
        guard let user = caller.userID, let role = try database.query("""
            SELECT role FROM organization_members WHERE organization_id = \(organizationID) AND user_id = \(user)
            """).first?.decode("role", as: String.self) else { throw AppError.notFound("No such organization.") }
        guard role == "owner" || role == "admin" else { throw AppError.forbidden("Only an owner or admin can read the audit trail.") }
    }

    /// One page of an organization's trail, newest first (owners and admins).
    package func auditEntries(_ caller: Caller, organizationID: UUID, filter: AuditFilter, page: Page) throws -> Paged<AuditEntryRecord> {
        try requireAuditReader(caller, organizationID: organizationID)
        let result = try database.query("""
            SELECT \(unsafeSQL: Audit.columns), count(*) OVER () AS total FROM audit_events a
            WHERE a.organization_id = \(organizationID) AND \(filter.condition)
            ORDER BY a.at DESC, a.id DESC LIMIT \(page.limit) OFFSET \(page.offset)
            """)
        return try page.of(result, AuditEntryRecord.init)
    }

    /// The people who appear in an organization's trail, for the page's filter: (user id, email), by email.
    package func auditPeople(_ caller: Caller, organizationID: UUID) throws -> [(UUID, String)] {
        try requireAuditReader(caller, organizationID: organizationID)
        return try database.query("""
            SELECT u.id, u.email FROM users u
            WHERE u.id IN (SELECT m.user_id FROM organization_members m WHERE m.organization_id = \(organizationID))
               OR u.id IN (SELECT DISTINCT a.actor_user_id FROM audit_events a WHERE a.organization_id = \(organizationID))
            ORDER BY lower(u.email) LIMIT 500
            """).rows.map { (try $0.decode("id"), try $0.decode("email")) }
    }

    /// The caller's own account's entries (sign-ins, failed sign-ins, password changes, personal tokens), newest
    /// first: those with no organization where the caller acted or was the object.
    package func accountActivity(_ caller: Caller, limit: Int = 20) throws -> [AuditEntryRecord] {
        let user = try caller.requireUser()
        return try database.query("""
            SELECT \(unsafeSQL: Audit.columns) FROM audit_events a
            WHERE a.organization_id IS NULL AND (a.actor_user_id = \(user) OR (a.object_kind = 'user' AND a.object_id = \(user)))
            ORDER BY a.at DESC, a.id DESC LIMIT \(limit)
            """).rows.map(AuditEntryRecord.init)
    }
}

extension Reports {
    package static let auditColumns: [Column] = [
        Column(header: "id", sql: "a.id", kind: .number),
        Column(header: "at", sql: "a.at", kind: .time),
        Column(header: "organization_id", sql: "a.organization_id", kind: .plain),
        Column(header: "actor_kind", sql: "a.actor_kind", kind: .plain),
        Column(header: "actor_user_id", sql: "a.actor_user_id", kind: .plain),
        Column(header: "actor_token_id", sql: "a.actor_token_id", kind: .plain),
        Column(header: "actor", sql: "a.actor_name", kind: .text),
        Column(header: "action", sql: "a.action", kind: .plain),
        Column(header: "object_kind", sql: "a.object_kind", kind: .plain),
        Column(header: "object_id", sql: "a.object_id", kind: .plain),
        Column(header: "object", sql: "a.object_name", kind: .text),
        Column(header: "address", sql: "a.address", kind: .text),
        Column(header: "request_id", sql: "a.request_id", kind: .text),
        Column(header: "old", sql: "a.old_value::text", kind: .text),
        Column(header: "new", sql: "a.new_value::text", kind: .text),
    ]

    /// An organization's trail (owners and admins) under `filter`, oldest first, streamed as CSV or JSON.
    package func audit(_ caller: Caller, organizationID: UUID, filter: AuditFilter, format: ReportFormat) throws -> ReportStream {
        try Store(database: database).requireAuditReader(caller, organizationID: organizationID)
        let name = try database.query("SELECT name FROM organizations WHERE id = \(organizationID)").first?.decode("name", as: String.self) ?? ""
        let columns = Self.auditColumns
        let select = columns.map(\.sql).joined(separator: ", ")
        let query: SQLQuery = """
            SELECT \(unsafeSQL: select) FROM audit_events a
            WHERE a.organization_id = \(organizationID) AND \(filter.condition) ORDER BY a.at, a.id
            """
        let slug = Naming.slug(name)
        let span = filter.from.map { "\($0)_\(filter.to ?? "")" } ?? "all-time"
        return stream(columns.map(\.header), query, format: format,
                      fileName: "soot-organization-\(slug.isEmpty ? "unnamed" : String(slug.prefix(60)))-audit-\(span).\(format.rawValue)",
                      csv: CSVCopyRewriter(kinds: columns.map(\.kind))) { row, cell in
            for (index, column) in columns.enumerated() { cell(row.bytes(index), column.kind) }
        }
    }
}
