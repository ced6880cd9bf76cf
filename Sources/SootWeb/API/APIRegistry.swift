import SootStore
import HTTPServer

/// Registers JSON API routes on the router and records them for the OpenAPI document, so the two cannot drift.
struct APIRegistry {
    struct Operation {
        let method: HTTPMethod
        /// OpenAPI form: `/api/v1/teams/{team_id}`.
        let path: String
        let summary: String
        let tag: String
        let requestSchema: String?
        let responseSchema: String?
        let successStatus: Int
        /// Other success statuses (a replayed idempotent post answers 200 with the first result).
        let otherSuccessStatuses: [Int]
        let authenticated: Bool
        let queryParameters: [String]
    }

    private(set) var operations: [Operation] = []

    mutating func add(
        _ router: inout Router, _ method: HTTPMethod, _ pattern: String, summary: String, tag: String,
        request: String? = nil, response: String? = nil, status: Int = 200, alsoStatus: [Int] = [], authenticated: Bool = true,
        query: [String] = [], options: RouteOptions = .default, handler: @escaping Handler
    ) {
        router.on(method, pattern, options: options, handler)
        operations.append(Operation(
            method: method, path: APIRegistry.openAPIPath(pattern), summary: summary, tag: tag, requestSchema: request,
            responseSchema: response, successStatus: status, otherSuccessStatuses: alsoStatus, authenticated: authenticated, queryParameters: query))
    }

    /// `:name` becomes `{name}`.
    static func openAPIPath(_ pattern: String) -> String {
        pattern.split(separator: "/", omittingEmptySubsequences: false).map { segment in
            segment.hasPrefix(":") ? "{\(segment.dropFirst())}" : String(segment)
        }.joined(separator: "/")
    }
}
