import Foundation
import Postgres

/// Login sessions, stored in PostgreSQL so any instance can serve any request. The cookie carries a random
/// token; the table keeps only its SHA-256.
package struct SessionStore: Sendable {
    package static let cookieName = "soot_session"
    package let database: ConnectionPool
    package let lifetime: Double

    package struct Session: Sendable {
        package let id: String
        package let userID: UUID
        package let csrfToken: String
        /// The user signed in with a password they were given (generated, or reset by an operator).
        package var mustChangePassword = false
    }

    /// Creates a session; returns the cookie value (shown once) and the session.
    /// Creates a session; returns the cookie value (shown once) and the session. The sign-in is recorded in the
    /// audit trail with it (`origin`: the request's address and id).
    package func create(userID: UUID, remoteAddress: String, userAgent: String?, origin: Caller = .anonymous) throws -> (cookie: String, session: Session) {
        let token = Crypto.randomToken(bytes: 32)
        let id = Crypto.sha256Hex(token)
        let csrf = Crypto.randomToken(bytes: 24)
        try database.transaction { connection in
            try connection.query("""
                INSERT INTO sessions (id, user_id, csrf_token, expires_at, remote_address, user_agent)
                VALUES (\(id), \(userID), \(csrf), now() + make_interval(secs => \(lifetime)), \(remoteAddress),
                        \(userAgent.map { String($0.prefix(500)) }))
                """)
            try Audit.record(connection, AuditActor(kind: .user, userID: userID, address: origin.address ?? remoteAddress, requestID: origin.requestID),
                             .signIn, organization: nil, object: AuditObject("user", userID))
        }
        return (token, Session(id: id, userID: userID, csrfToken: csrf))
    }

    /// The live session for a cookie value, sliding its expiry forward at most once a minute.
    package func find(cookie: String) throws -> Session? {
        guard cookie.utf8.count >= 20, cookie.utf8.count <= 100 else { return nil }
        let id = Crypto.sha256Hex(cookie)
        guard let row = try database.query("""
            SELECT s.user_id, s.csrf_token, s.last_seen_at < now() - interval '1 minute' AS stale, u.must_change_password
            FROM sessions s JOIN users u ON u.id = s.user_id
            WHERE s.id = \(id) AND s.expires_at > now() AND u.disabled_at IS NULL
            """).first else { return nil }
        if try row.decode("stale", as: Bool.self) {
            try database.query("""
                UPDATE sessions SET last_seen_at = now(), expires_at = now() + make_interval(secs => \(lifetime))
                WHERE id = \(id)
                """)
        }
        return Session(id: id, userID: try row.decode("user_id"), csrfToken: try row.decode("csrf_token"),
                       mustChangePassword: try row.decode("must_change_password"))
    }

    package func delete(id: String) throws {
        try database.query("DELETE FROM sessions WHERE id = \(id)")
    }

    /// Ends every session of a user (after a password reset).
    package func deleteAll(userID: UUID) throws {
        try database.query("DELETE FROM sessions WHERE user_id = \(userID)")
    }
}
