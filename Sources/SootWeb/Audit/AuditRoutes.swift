import Foundation
import HTTPServer
import SootStore

extension AuditEntryRecord: JSONRepresentable {
    package var json: JSONValue {
        func fields(_ pairs: [(String, String?)]) -> JSONValue {
            pairs.isEmpty ? .null : .object(Dictionary(uniqueKeysWithValues: pairs.map { ($0.0, JSONValue.text($0.1)) }))
        }
        return [
            "id": .int(Int(id)), "at": .date(at), "organization_id": .id(organizationID),
            "actor": ["kind": .string(actorKind), "user_id": .id(actorUserID), "token_id": .id(actorTokenID), "name": .string(actorName)],
            "action": .string(action),
            "object": ["kind": .string(objectKind), "id": .id(objectID), "name": .string(objectName)],
            "address": .text(address), "request_id": .text(requestID), "old": fields(old), "new": fields(new),
        ]
    }
}

extension AuditFilter {
    /// `user` (an id), `kind` (the first word of an action: team, member, sign_in, ...), `from` and `to` (UTC days,
    /// both included) from the query string, each checked.
    init(_ request: Request) throws {
        self.init()
        if let text = request.query("user"), !text.isEmpty {
            guard let id = UUID(uuidString: text) else { throw AppError.invalid("user", "user must be a user id.") }
            userID = id
        }
        if let text = request.query("kind"), !text.isEmpty {
            guard Audit.kinds.contains(text) else {
                throw AppError.invalid("kind", "kind must be one of \(Audit.kinds.joined(separator: ", ")).")
            }
            kind = text
        }
        for key in ["from", "to"] {
            guard let text = request.query(key), !text.isEmpty else { continue }
            guard UTCDayText.isValid(text) else { throw AppError.invalid(key, "\(key) must be a day, as 2026-12-01.") }
            if key == "from" { from = text } else { to = text }
        }
        if let from, let to, from > to { throw AppError.invalid("to", "to must not be before from.") }
    }
}

/// A `YYYY-MM-DD` day between 2000 and 2999 that exists.
enum UTCDayText {
    static func isValid(_ text: String) -> Bool {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard text.utf8.count == 10, parts.count == 3, let year = Int(parts[0]), let month = Int(parts[1]), let day = Int(parts[2]),
              parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
              (2000...2999).contains(year), (1...12).contains(month), day >= 1 else { return false }
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
        let lengths = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        return day <= lengths[month - 1]
    }
}

/// The audit trail over the API: a page of entries, and the whole (filtered) trail as a CSV or JSON report.
///
///     GET /api/v1/organizations/{id}/audit?user=&kind=&from=&to=&limit=&offset=     newest first, paged
///     GET /api/v1/reports/audit.csv?organization=ID&user=&kind=&from=&to=            oldest first, streamed
struct AuditRoutes {
    let store: Store
    let reports: Reports
    let capacity: ReportCapacity
    let authenticator: Authenticator

    func register(_ router: inout Router, _ api: inout APIRegistry) {
        let routes = self
        let authed = authenticator.api
        let filterQuery = ["user", "kind", "from", "to"]
        api.add(&router, .get, "/api/v1/organizations/:organization_id/audit",
                summary: "The organization's audit trail, newest first (owners, admins)", tag: "Audit", response: "AuditEntryList",
                query: filterQuery + ["limit", "offset"], handler: authed { request, caller in
                    .json(try routes.store.auditEntries(caller, organizationID: try Store.id(request.parameter("organization_id")),
                                                        filter: try AuditFilter(request), page: try Page(request)))
                })
        for format in [ReportFormat.csv, .json] {
            api.add(&router, .get, "/api/v1/reports/audit.\(format.rawValue)",
                    summary: "The organization's audit trail, oldest first (owners, admins; \(format.rawValue), streamed)", tag: "Audit",
                    query: ["organization"] + filterQuery, handler: authed { request, caller in
                        try routes.capacity.limited(caller, request) {
                            guard let text = request.query("organization"), let id = UUID(uuidString: text) else {
                                throw AppError.invalid("organization", "organization must be an organization's id.")
                            }
                            return ExportRoutes.response(try routes.reports.audit(caller, organizationID: id, filter: try AuditFilter(request),
                                                                                  format: format))
                        }
                    })
        }
    }
}
