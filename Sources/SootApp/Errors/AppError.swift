import Foundation
import HTTPServer

/// An error a client can act on: its status, a stable code, a message safe to show and, for bad input, the field.
/// It becomes a response in one place (`response(for:)`): JSON for API paths, an HTML page otherwise.
public struct AppError: Error, HTTPResponseError, CustomStringConvertible, Sendable {
    public let status: HTTPStatus
    public let code: String
    public let message: String
    public let field: String?
    /// Extra headers (`Retry-After`, `WWW-Authenticate`).
    public var headers: HTTPHeaders = HTTPHeaders()

    public init(_ status: HTTPStatus, code: String, _ message: String, field: String? = nil) {
        self.status = status
        self.code = code
        self.message = message
        self.field = field
    }

    public var description: String { "\(status.code) \(code): \(message)" + (field.map { " (field \($0))" } ?? "") }

    public static func badRequest(_ message: String, field: String? = nil) -> AppError {
        AppError(.badRequest, code: "bad_request", message, field: field)
    }
    public static func invalid(_ field: String, _ message: String) -> AppError {
        AppError(.unprocessableContent, code: "invalid", message, field: field)
    }
    public static func notFound(_ message: String = "Not found.") -> AppError {
        AppError(.notFound, code: "not_found", message)
    }
    public static func unauthorized(_ message: String = "Authentication is required.") -> AppError {
        AppError(.unauthorized, code: "unauthorized", message)
    }
    public static func forbidden(_ message: String = "You are not allowed to do this.") -> AppError {
        AppError(.forbidden, code: "forbidden", message)
    }
    public static func conflict(_ message: String, field: String? = nil) -> AppError {
        AppError(.conflict, code: "conflict", message, field: field)
    }
    public static func unsupportedMediaType(_ message: String = "The body must be JSON (Content-Type: application/json).") -> AppError {
        AppError(.unsupportedMediaType, code: "unsupported_media_type", message)
    }
    public static func unavailable(_ message: String = "The database is unavailable; try again shortly.") -> AppError {
        var error = AppError(.serviceUnavailable, code: "unavailable", message)
        error.headers.set("Retry-After", "1")
        return error
    }
    public static func tooManyRequests(_ message: String, retryAfter: Int) -> AppError {
        var error = AppError(.tooManyRequests, code: "too_many_requests", message)
        error.headers.set("Retry-After", "\(retryAfter)")
        return error
    }

    public func response(for request: Request) -> Response {
        var response = ErrorPages.render(status: status, code: code, message: message, field: field, head: request.head)
        for (name, value) in headers { response.headers.set(name, value) }
        return response
    }
}

/// The single place where errors take their shape on the wire.
public enum ErrorPages {
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
    public static func render(status: HTTPStatus, code: String, message: String, field: String?, head: RequestHead?) -> Response {
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
        return .html(HTMLPage.error(status: status, message: message), status: status)
    }

    /// The server's own errors (parse errors, 404, 405, 413, 500) in the same shapes.
    public static let responder: ErrorResponder = { status, message, head in
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
        return render(status: status, code: code, message: message, field: nil, head: head)
    }
}

/// JSON helpers over Foundation's serializer.
public enum JSON {
    /// Serializes a JSON object or array (sorted keys, so output is stable).
    public static func bytes(_ object: Any) -> [UInt8] {
        guard JSONSerialization.isValidJSONObject(object),
              let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
        else { return Array("{}".utf8) }
        return [UInt8](data)
    }
}
