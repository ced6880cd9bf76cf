import Foundation
import HTTPServer
import SootStore

/// An `AppError` on the wire: its status, JSON for API paths (CodeCarbon's `detail` shape on its paths), an HTML
/// page otherwise, with `Retry-After` and `WWW-Authenticate` when it carries them.
extension AppError: HTTPResponseError {
    var httpStatus: HTTPStatus {
        switch status {
        case .badRequest: .badRequest
        case .unauthorized: .unauthorized
        case .forbidden: .forbidden
        case .notFound: .notFound
        case .conflict: .conflict
        case .contentTooLarge: .contentTooLarge
        case .unsupportedMediaType: .unsupportedMediaType
        case .unprocessableContent: .unprocessableContent
        case .tooManyRequests: .tooManyRequests
        case .internalServerError: .internalServerError
        case .serviceUnavailable: .serviceUnavailable
        }
    }

    package func response(for request: Request) -> Response {
        var response = ErrorPages.render(status: httpStatus, code: code, message: message, field: field, head: request.head,
                                         requestID: request.id)
        if let retryAfter { response.headers.set("Retry-After", "\(retryAfter)") }
        if let challenge { response.headers.set("WWW-Authenticate", challenge) }
        if status == .serviceUnavailable { response.logFields.append((name: "reason", value: reason ?? code)) }
        return response
    }

    /// Any error as a response: the store's errors (database failures included) as they map, anything else a 500.
    static func response(for error: any Error, request: Request) -> Response {
        (AppError.from(error) ?? .internalError).response(for: request)
    }
}

/// The single place where errors take their shape on the wire.
package enum ErrorPages {
    /// Paths served with CodeCarbon's API shapes (`{"detail": ...}`).
    static func isCodeCarbonPath(_ path: String) -> Bool {
        var trimmed = Substring(path)
        while trimmed.hasPrefix("//") { trimmed = trimmed.dropFirst() }
        if trimmed.hasPrefix("/api/") && !trimmed.hasPrefix("/api/v1") { trimmed = trimmed.dropFirst(4) }
        for prefix in ["/runs", "/emissions", "/organizations", "/projects", "/experiments", "/auth", "/lastrun", "/user", "/ingest"] {
            if trimmed == prefix[...] || trimmed.hasPrefix(prefix + "/") { return true }
        }
        return false
    }

    /// JSON for API clients, CodeCarbon's `detail` shape on its paths, HTML for people.
    /// An HTML page shows the request's id, for a person to quote (API clients have the `X-Request-Id` header).
    package static func render(status: HTTPStatus, code: String, message: String, field: String?, head: RequestHead?,
                               requestID: String = "") -> Response {
        let path = head?.path ?? "/"
        if isCodeCarbonPath(path) {
            var body: [String: Any] = ["detail": message]
            if let field { body["detail"] = [["loc": ["body", field], "msg": message, "type": code]] }
            return .json(bytes: JSON.bytes(body), status: status)
        }
        let accept = head?.headers["Accept"] ?? ""
        if path.hasPrefix("/api") || (accept.contains("application/json") && !accept.contains("text/html")) {
            var error: [String: Any] = ["code": code, "message": message]
            if let field { error["field"] = field }
            return .json(bytes: JSON.bytes(["error": error]), status: status)
        }
        return .html(HTMLPage.error(status: status, message: message, requestID: requestID), status: status)
    }

    /// The server's own errors (parse errors, 404, 405, 413, 500) in the same shapes.
    package static let responder: ErrorResponder = { status, message, head, requestID in
        let code: String
        switch status.code {
        case 400: code = "bad_request"
        case 404: code = "not_found"
        case 405: code = "method_not_allowed"
        case 408: code = "timeout"
        case 413: code = "too_large"
        case 414: code = "uri_too_long"
        case 431: code = "headers_too_large"
        case 501: code = "not_implemented"
        case 503: code = "unavailable"
        default: code = status.code >= 500 ? "internal" : "error"
        }
        return render(status: status, code: code, message: message, field: nil, head: head, requestID: requestID)
    }
}

/// JSON helpers over Foundation's serializer.
package enum JSON {
    /// Serializes a JSON object or array (sorted keys, so output is stable).
    package static func bytes(_ object: Any) -> [UInt8] {
        guard JSONSerialization.isValidJSONObject(object),
              let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
        else { return Array("{}".utf8) }
        return [UInt8](data)
    }
}
