/// A failed database operation. `message` is safe to show a user; `detail` (server detail, query) is for logs.
public struct DatabaseError: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable, Equatable {
        /// Could not connect, or the connection broke: the database is down or restarting.
        case unavailable
        /// No pooled connection became free in time.
        case poolTimeout
        /// The server refused the statement (constraint, syntax, ...); see `sqlState`.
        case query
        /// A value could not be decoded into the requested Swift type.
        case decoding
        /// A migration problem (edited after being applied, unreadable file, ...).
        case migration
    }

    public let kind: Kind
    /// The five-character SQLSTATE, when the server sent one.
    public let sqlState: String?
    public let message: String
    /// Extra context for the log only: the server's DETAIL, the constraint, the statement.
    public let detail: String?
    public let constraint: String?

    public init(_ kind: Kind, sqlState: String? = nil, message: String, detail: String? = nil, constraint: String? = nil) {
        self.kind = kind
        self.sqlState = sqlState
        self.message = message
        self.detail = detail
        self.constraint = constraint
    }

    public var description: String {
        var text = "database error (\(kind)"
        if let sqlState { text += ", SQLSTATE \(sqlState)" }
        text += "): \(message)"
        if let constraint { text += " [constraint \(constraint)]" }
        if let detail { text += " — \(detail)" }
        return text
    }

    /// 23505: a unique constraint refused a duplicate.
    public var isUniqueViolation: Bool { sqlState == "23505" }
    /// 23503: a foreign key refused a missing parent.
    public var isForeignKeyViolation: Bool { sqlState == "23503" }
    /// 40001/40P01: retrying the transaction may succeed.
    public var isSerializationFailure: Bool { sqlState == "40001" || sqlState == "40P01" }
    /// The database is unreachable (class 08, 57P0x shutdown/crash, or no connection at all), or cannot do the
    /// work for a reason of its own (`isServerTrouble`): either way a retry later may succeed.
    public var isUnavailable: Bool {
        kind == .unavailable || kind == .poolTimeout || isServerTrouble
            || (sqlState.map { $0.hasPrefix("08") || $0 == "57P01" || $0 == "57P02" || $0 == "57P03" } ?? false)
    }

    /// The server refused for a reason of its own, not the statement's: out of disk, memory or connections
    /// (class 53), an I/O or system error (class 58), or it is read-only (25006: a standby, or
    /// `default_transaction_read_only`).
    public var isServerTrouble: Bool {
        guard let sqlState else { return false }
        return DatabaseError.isServerTrouble(sqlState)
    }

    static func isServerTrouble(_ sqlState: String) -> Bool {
        sqlState.hasPrefix("53") || sqlState.hasPrefix("58") || sqlState == "25006"
    }
}
