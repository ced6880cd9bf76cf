import Foundation
import SootStore
import HTTPServer

/// The guards routes are registered with, one per kind of caller, so a route says at its registration who may ask:
/// - `api`: a token or a session (whose unsafe requests carry the CSRF token); 401 with `WWW-Authenticate` otherwise;
/// - `sessionUser(_:)` for page forms: a signed-in person, CSRF checked;
/// - the CodeCarbon routes have their own (`CodeCarbonRoutes.both`), answering in CodeCarbon's shapes.
extension Authenticator {
    /// Wraps an API handler: the caller is authenticated (CSRF enforced for sessions) before `body` runs.
    func api(_ body: @escaping @Sendable (Request, Caller) throws -> Response) -> Handler {
        { [self] request in
            let caller = try authenticate(request)
            guard caller.isAuthenticated else {
                var error = AppError.unauthorized("Send 'Authorization: Bearer <token>' or log in.")
                error.challenge = "Bearer realm=\"soot\""
                throw error
            }
            var response = try body(request, caller)
            response.note(caller)
            markWrite(request, &response)
            return response
        }
    }
}

extension Authenticator {
    /// The kind of credential a request carries, from its headers alone (no lookup): what a page's access line
    /// names as its caller.
    static func credentialKind(_ request: Request) -> String {
        if let authorization = request.headers["Authorization"] {
            let token = authorization.split(separator: " ", maxSplits: 1).last.map(String.init) ?? ""
            return TokenFormat.kind(of: token) == .project ? "project_token" : "personal_token"
        }
        if request.headers["x-api-token"] != nil { return "project_token" }
        if Cookies.value(SessionStore.cookieName, in: request) != nil { return "session" }
        return "anonymous"
    }
}

extension Caller {
    /// How the caller proved who they are, as the access log names it.
    var logKind: String {
        switch credential {
        case .none: identity == .anonymous ? "anonymous" : "operator"
        case .session: "session"
        case .personalToken: "personal_token"
        case .projectToken: "project_token"
        }
    }
}

extension Response {
    /// Adds who asked (`caller`) and, when known, the organization (`organization_id`) to the access log's line.
    mutating func note(_ caller: Caller, organization: UUID? = nil) {
        logFields.append((name: "caller", value: caller.logKind))
        var tenant = organization
        if tenant == nil, case .project(_, let organizationID, _) = caller.identity { tenant = organizationID }
        if let tenant { logFields.append((name: "organization_id", value: tenant.idText)) }
    }
}
