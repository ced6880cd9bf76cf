import HTTPServer
import Postgres

/// `GET /healthz`: the process is up. `GET /readyz`: the database answers.
struct HealthRoutes {
    let database: ConnectionPool

    func register(on router: inout Router) {
        router.get("/healthz", options: .inline) { _ in
            .json(bytes: Array(#"{"status":"ok"}"#.utf8))
        }
        router.get("/readyz") { [database] _ in
            do {
                try database.query("SELECT 1")
                return .json(bytes: Array(#"{"database":"ok","status":"ready"}"#.utf8))
            } catch {
                var response = Response.json(bytes: Array(#"{"database":"unavailable","status":"not ready"}"#.utf8),
                                             status: .serviceUnavailable)
                response.headers.set("Retry-After", "1")
                return response
            }
        }
    }
}
