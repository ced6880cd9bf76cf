import Foundation
import Postgres

/// Slows down password guessing, with state in PostgreSQL (shared by every instance).
///
/// Two counters, each a row of `login_failures`:
/// - **the account from this address** (`pair:`): five failures within 15 minutes lock that pair for 2 s,
///   doubling with each further failure, up to 15 minutes. A guesser locks out only itself: the account's owner,
///   from their own address, still signs in.
/// - **the address** (`address:`): every failure from it, for any account, known or not; 50 within 15 minutes
///   lock the address the same way. A spray over many accounts (or made-up ones) from one address is slowed
///   without touching anyone else's address.
///
/// The address is the client's, from `TrustedProxies` (behind a load balancer, name it, or every user shares
/// its address). An attempt is counted *before* its password is checked, in the same statement that reads the
/// lock, so parallel attempts cannot all pass a check that each saw as open: the sixth of thirty parallel
/// guesses already sees the lock. A correct password then takes its attempt back.
package struct LoginThrottle: Sendable {
    package let database: ConnectionPool
    package static let freeFailuresPerAccountAndAddress = 5
    package static let freeFailuresPerAddress = 50

    package struct Keys: Sendable {
        package let pair: String
        package let address: String
    }

    package static func keys(email: String, address: String) -> Keys {
        Keys(pair: "pair:" + email.lowercased() + "|" + address, address: "address:" + address)
    }

    /// Counts one attempt for both keys unless one is locked. Returns the seconds to wait when locked (the
    /// attempt is then not checked), nil when the password may be checked.
    package func begin(_ keys: Keys) throws -> Int? {
        var wait = 0
        for (key, free) in [(keys.address, LoginThrottle.freeFailuresPerAddress), (keys.pair, LoginThrottle.freeFailuresPerAccountAndAddress)] {
            // One statement: the row lock serialises concurrent attempts on a key, and each sees the count and
            // lock left by the one before. A locked key is not updated, and returns its remaining seconds.
            let row = try database.query("""
                WITH attempt AS (
                    INSERT INTO login_failures AS f (key, failures, window_started_at, locked_until)
                    VALUES (\(key), 1, now(), CASE WHEN 1 >= \(free) THEN now() + interval '2 seconds' END)
                    ON CONFLICT (key) DO UPDATE SET
                        failures = CASE WHEN f.window_started_at < now() - interval '15 minutes' THEN 1 ELSE f.failures + 1 END,
                        window_started_at = CASE WHEN f.window_started_at < now() - interval '15 minutes' THEN now()
                                                 ELSE f.window_started_at END,
                        locked_until = CASE
                            WHEN f.window_started_at >= now() - interval '15 minutes' AND f.failures + 1 >= \(free)
                            THEN now() + make_interval(secs => least(900, 2 ^ (f.failures + 1 - \(free)) * 2))
                            ELSE NULL END
                    WHERE f.locked_until IS NULL OR f.locked_until <= now()
                    RETURNING 1
                )
                SELECT (SELECT count(*) FROM attempt) AS counted,
                       (SELECT ceil(extract(epoch FROM locked_until - now()))::int FROM login_failures WHERE key = \(key)) AS seconds
                """).first!
            if try row.decode("counted", as: Int.self) == 0 {
                wait = max(wait, try row.decode("seconds", as: Int?.self) ?? 1, 1)
                // The address key was counted for an attempt that is not checked: take it back.
                if key == keys.pair { try takeBack(keys.address) }
                return wait
            }
        }
        return nil
    }

    /// A correct password: the pair starts afresh and the address gets its attempt back.
    package func succeeded(_ keys: Keys) throws {
        try database.query("DELETE FROM login_failures WHERE key = \(keys.pair)")
        try takeBack(keys.address)
    }

    private func takeBack(_ key: String) throws {
        try database.query("UPDATE login_failures SET failures = greatest(failures - 1, 0) WHERE key = \(key)")
    }
}
