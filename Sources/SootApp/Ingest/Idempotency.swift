import Foundation
import HTTPServer
import Postgres

/// `Idempotency-Key`: the first answer to a key is stored with the work, in the same transaction, and replayed
/// for every retry. A second copy arriving while the first is still running waits on the key's row lock, then
/// replays. Reusing a key with a different body is a 422.
enum Idempotency {
    static let header = "Idempotency-Key"

    /// The scope keys live in: the credential that sent them, so two clients never collide.
    static func scope(_ caller: Caller) -> String {
        switch caller.credential {
        case .personalToken(let id), .projectToken(let id): return "token:\(id.uuidString.lowercased())"
        case .session: return "user:\(caller.userID?.uuidString.lowercased() ?? "-")"
        case .none: return "anonymous"
        }
    }

    /// Runs `work` in a transaction, exactly once per key.
    static func perform(
        _ database: ConnectionPool, request: Request, caller: Caller,
        _ work: (DatabaseConnection) throws -> (HTTPStatus, JSONValue)
    ) throws -> Response {
        guard let key = request.headers[header] else {
            let (status, body) = try database.transaction(work)
            return .json(body, status: status)
        }
        guard !key.isEmpty, key.count <= 200 else {
            throw AppError.invalid(header, "\(header) must have 1 to 200 characters.")
        }
        let scope = scope(caller)
        let fingerprint = Crypto.hex(Crypto.sha256(Array((request.method.rawValue + " " + request.path + "\n").utf8) + request.body))
        return try database.transaction { connection in
            let claimed = try connection.query("""
                INSERT INTO idempotency_keys (scope, key, request_hash, status, response) VALUES (\(scope), \(key), \(fingerprint), 0, '')
                ON CONFLICT (scope, key) DO NOTHING RETURNING key
                """).rowCount > 0
            if !claimed {
                let row = try connection.query("""
                    SELECT request_hash, status, response FROM idempotency_keys WHERE scope = \(scope) AND key = \(key)
                    """).first!
                guard try row.decode("request_hash", as: String.self) == fingerprint else {
                    throw AppError.invalid(header, "This \(header) was already used for a different request.")
                }
                var response = Response.json(bytes: Array(try row.decode("response", as: String.self).utf8),
                                             status: HTTPStatus(try row.decode("status", as: Int.self)))
                response.headers.set("Idempotent-Replayed", "true")
                return response
            }
            let (status, body) = try work(connection)
            try connection.query("""
                UPDATE idempotency_keys SET status = \(status.code), response = \(body.serialized) WHERE scope = \(scope) AND key = \(key)
                """)
            return .json(body, status: status)
        }
    }
}
