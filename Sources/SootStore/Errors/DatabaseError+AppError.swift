import Logging
import Postgres

extension AppError {
    /// What a failure of the store means to a client: an `AppError` as it is, and a database failure mapped here,
    /// once. Unavailable is a quick 503 with `Retry-After`, a duplicate name a 409, a refused value a 422; anything
    /// else a 500 whose detail stays in the log. Nil for errors that are not the store's (the caller logs them).
    package static func from(_ error: any Error) -> AppError? {
        if let error = error as? AppError { return error }
        if let error = error as? DatabaseError { return error.appError }
        return nil
    }
}

extension DatabaseError {
    package var appError: AppError {
        if isServerTrouble {
            RepeatingLog.database.log(Logger(label: "soot.db"), .error, "database refused: server trouble", key: "trouble:\(sqlState ?? "")",
                                      metadata: ["sqlstate": "\(sqlState ?? "")", "error": "\(message)"])
            var error = AppError.unavailable(sqlState == "25006"
                ? "The database is read-only right now; try again shortly."
                : "The database cannot take this right now; try again shortly.", retryAfter: 5)
            error.reason = sqlState == "25006" ? "read_only" : "database_refused"
            return error
        }
        if isUnavailable {
            var error = AppError.unavailable()
            if kind == .poolTimeout { error.reason = "pool_timeout" }
            return error
        }
        switch sqlState {
        case "23505":
            switch conflictField {
            case "name": return AppError.conflict("Something with that name already exists here.", field: "name")
            case "slug": return AppError.conflict("Something with that address already exists here.", field: "slug")
            case "email": return AppError.conflict("That email address is already in use here.", field: "email")
            default: return AppError.conflict("This was changed by another request at the same time; try again.")
            }
        case "23503":
            return AppError(.unprocessableContent, code: "invalid", "A referenced item does not exist.")
        case "23514", "22001", "22003", "22007", "22008", "22P02":
            return AppError(.unprocessableContent, code: "invalid", "A value is out of range or malformed.")
        default:
            RepeatingLog.database.log(Logger(label: "soot.db"), .error, "database error", key: "error:\(sqlState ?? "")|\(message.prefix(80))",
                                      metadata: ["error": "\(self)"])
            return AppError.internalError
        }
    }

    private var conflictField: String? {
        guard let constraint else { return nil }
        if constraint.contains("email") { return "email" }
        if constraint.contains("slug") { return "slug" }
        // Unique constraints on names are `<table>_<scope>_name_key` or `organizations_name_key`; others (a run's
        // client key, a sample's, a token prefix) are races, not a field the caller chose badly.
        if constraint.hasSuffix("_name_key") { return "name" }
        return nil
    }
}
