import Foundation
import Postgres

/// Slows down password guessing, per account and per client address, with state in PostgreSQL (shared by
/// every instance). Five failures within 15 minutes lock the key for 2 s, doubling with each further failure,
/// up to 15 minutes.
struct LoginThrottle: Sendable {
    let database: ConnectionPool
    static let freeFailures = 5

    static func keys(email: String, address: String) -> [String] {
        ["account:" + email.lowercased(), "address:" + address]
    }

    /// Seconds until a locked key may try again, or nil when none is locked.
    func lockedFor(_ keys: [String]) throws -> Int? {
        let row = try database.query("""
            SELECT ceil(extract(epoch FROM max(locked_until) - now()))::int AS seconds
            FROM login_failures WHERE key = ANY(\(keys)) AND locked_until > now()
            """).first
        return try row?.decode("seconds", as: Int?.self)
    }

    func recordFailure(_ keys: [String]) throws {
        for key in keys {
            try database.query("""
                INSERT INTO login_failures AS f (key, failures, window_started_at) VALUES (\(key), 1, now())
                ON CONFLICT (key) DO UPDATE SET
                    failures = CASE WHEN f.window_started_at < now() - interval '15 minutes' THEN 1 ELSE f.failures + 1 END,
                    window_started_at = CASE WHEN f.window_started_at < now() - interval '15 minutes' THEN now()
                                             ELSE f.window_started_at END,
                    locked_until = CASE
                        WHEN f.window_started_at >= now() - interval '15 minutes' AND f.failures + 1 >= \(LoginThrottle.freeFailures)
                        THEN now() + make_interval(secs => least(900, 2 ^ (f.failures + 1 - \(LoginThrottle.freeFailures)) * 2))
                        ELSE NULL END
                """)
        }
    }

    func recordSuccess(email: String) throws {
        try database.query("DELETE FROM login_failures WHERE key = \("account:" + email.lowercased())")
    }
}
