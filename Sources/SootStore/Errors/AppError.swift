import Foundation

/// An error a client can act on: what kind of failure it is, a stable code, a message safe to show and, for bad
/// input, the field. The store and the web layer throw it alike; the web layer gives it its status and shape on
/// the wire, in one place (`AppError.response(for:)` in SootWeb).
package struct AppError: Error, CustomStringConvertible, Sendable, Equatable {
    /// What went wrong, named as the HTTP status it becomes.
    package enum Kind: Sendable, Equatable {
        case badRequest, unauthorized, forbidden, notFound, conflict, contentTooLarge, unsupportedMediaType
        case unprocessableContent, tooManyRequests, internalServerError, serviceUnavailable
    }

    package let status: Kind
    package let code: String
    package let message: String
    package let field: String?
    /// Seconds a client should wait before trying again (`Retry-After`), for 429 and 503.
    package var retryAfter: Int?
    /// The authentication scheme to offer (`WWW-Authenticate`), for 401.
    package var challenge: String?
    /// Why a 503 happened, as the metrics count it (`pool_timeout`, `database_unavailable`, `read_only`,
    /// `database_refused`, `reports_busy`, ...).
    package var reason: String?

    package init(_ status: Kind, code: String, _ message: String, field: String? = nil) {
        self.status = status
        self.code = code
        self.message = message
        self.field = field
    }

    package var description: String { "\(code): \(message)" + (field.map { " (field \($0))" } ?? "") }

    package static func badRequest(_ message: String, field: String? = nil) -> AppError {
        AppError(.badRequest, code: "bad_request", message, field: field)
    }
    package static func invalid(_ field: String, _ message: String) -> AppError {
        AppError(.unprocessableContent, code: "invalid", message, field: field)
    }
    package static func notFound(_ message: String = "Not found.") -> AppError {
        AppError(.notFound, code: "not_found", message)
    }
    package static func unauthorized(_ message: String = "Authentication is required.") -> AppError {
        AppError(.unauthorized, code: "unauthorized", message)
    }
    package static func forbidden(_ message: String = "You are not allowed to do this.") -> AppError {
        AppError(.forbidden, code: "forbidden", message)
    }
    package static func conflict(_ message: String, field: String? = nil) -> AppError {
        AppError(.conflict, code: "conflict", message, field: field)
    }
    package static func unsupportedMediaType(_ message: String = "The body must be JSON (Content-Type: application/json).") -> AppError {
        AppError(.unsupportedMediaType, code: "unsupported_media_type", message)
    }
    package static func unavailable(_ message: String = "The database is unavailable; try again shortly.", retryAfter: Int = 1) -> AppError {
        var error = AppError(.serviceUnavailable, code: "unavailable", message)
        error.retryAfter = retryAfter
        error.reason = "database_unavailable"
        return error
    }
    package static func tooManyRequests(_ message: String, retryAfter: Int) -> AppError {
        var error = AppError(.tooManyRequests, code: "too_many_requests", message)
        error.retryAfter = retryAfter
        return error
    }
    package static let internalError = AppError(.internalServerError, code: "internal", "Something went wrong on our side.")
}
