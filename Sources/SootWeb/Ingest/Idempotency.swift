import Foundation
import HTTPServer
import SootStore

/// `Idempotency-Key`: the first answer to a key is stored with the work, in the same transaction, and replayed
/// for every retry (`IngestService.idempotently` in the store). Reusing a key with a different body is a 422.
enum Idempotency {
    static let header = "Idempotency-Key"

    /// Runs `work` in a transaction, exactly once per key.
    static func perform(
        _ ingest: IngestService, request: Request, caller: Caller,
        _ work: (Transaction) throws -> (HTTPStatus, JSONValue)
    ) throws -> Response {
        let fingerprint = Crypto.hex(Crypto.sha256(Array((request.method.rawValue + " " + request.path + "\n").utf8) + request.body))
        let answer = try ingest.idempotently(caller, key: request.headers[header], header: header, fingerprint: fingerprint) { transaction in
            let (status, body) = try work(transaction)
            return StoredAnswer(status: status.code, body: body.bytes)
        }
        var response = Response.json(bytes: answer.body, status: HTTPStatus(answer.status))
        if answer.replayed { response.headers.set("Idempotent-Replayed", "true") }
        return response
    }
}
