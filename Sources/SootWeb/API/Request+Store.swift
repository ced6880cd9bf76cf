import Foundation
import HTTPServer
import SootStore

// Store arguments read from a request: the one place a query string or path becomes a store type.

extension Store {
    /// The project whose page `request` is (`/o/:org/:team/:project`); 404 when the caller may not see it.
    func project(_ caller: Caller, at request: Request) throws -> ProjectPage {
        try project(caller, organization: request.parameter("org") ?? "", team: request.parameter("team") ?? "",
                    project: request.parameter("project") ?? "")
    }
}

extension Store.ProjectPage {
    /// The page's canonical path.
    var path: String { "/o/" + slugs.map(FormDecoding.encode).joined(separator: "/") }
}

extension DashboardRange {
    /// From `range` (7d, 30d, 90d, year, all) or `from`/`to` days.
    init(_ request: Request, now: Date = Date()) throws {
        try self.init(range: request.query("range"), from: request.query("from"), to: request.query("to"), now: now)
    }
}

extension Page {
    /// `limit` and `offset` from the query string, in range.
    init(_ request: Request, defaultLimit: Int = 50, maximumLimit: Int = 200) throws {
        self.init(limit: try request.integerQuery("limit", in: 1...maximumLimit, default: defaultLimit),
                  offset: try request.integerQuery("offset", in: 0...10_000_000, default: 0))
    }
}

extension DateRange {
    /// `from` and `to` (ISO 8601 dates or timestamps; `to` exclusive).
    init(_ request: Request) throws {
        func parse(_ key: String) throws -> Date? {
            guard let text = request.query(key), !text.isEmpty else { return nil }
            if let date = ISOTime.parse(text) { return date }
            if text.utf8.count == 10, let date = ISOTime.parse(text + "T00:00:00Z") { return date }
            throw AppError.invalid(key, "\(key) must be a date (2026-11-01) or an ISO 8601 timestamp.")
        }
        let from = try parse("from")
        let to = try parse("to")
        if let from, let to, from > to { throw AppError.invalid("to", "to must not be before from.") }
        self.init(from: from, to: to)
    }
}

extension Store.ExperimentFields {
    /// An experiment's fields from a JSON body (`creating`: the name is required).
    init(_ body: JSONBody, creating: Bool) throws {
        self.init(name: try Naming.name(body, required: creating), description: try Naming.description(body),
                  countryName: try body.string("country_name", maxLength: 200), countryISOCode: try body.string("country_iso_code", maxLength: 3),
                  region: try body.string("region", maxLength: 200), onCloud: try body.bool("on_cloud"),
                  cloudProvider: try body.string("cloud_provider", maxLength: 100), cloudRegion: try body.string("cloud_region", maxLength: 100),
                  timestamp: try body.date("timestamp"))
    }
}
