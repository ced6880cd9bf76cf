import Emissions
import HTTPServer
import SootStore

/// `GET /healthz`: the process is up. `GET /readyz`: the database answers.
struct HealthRoutes {
    let store: Store

    func register(on router: inout Router) {
        router.get("/healthz", options: .inline) { _ in
            .json(bytes: Array(#"{"status":"ok"}"#.utf8))
        }
        router.get("/readyz") { [store] _ in
            do {
                try store.ping()
                guard let replica = store.replica else { return .json(bytes: Array(#"{"database":"ok","status":"ready"}"#.utf8)) }
                // The primary answers: ready. The replica's state is said, not required (reads fall back to the primary).
                let status = replica.status
                let state = !status.up ? "down" : (status.lag <= replica.maximumLag ? "ok" : "lagging")
                return .json(bytes: Array(#"{"database":"ok","replica":"\#(state)","status":"ready"}"#.utf8))
            } catch {
                var response = Response.json(bytes: Array(#"{"database":"unavailable","status":"not ready"}"#.utf8),
                                             status: .serviceUnavailable)
                response.headers.set("Retry-After", "1")
                response.logFields.append((name: "reason", value: "not_ready"))
                return response
            }
        }
    }
}

/// The HTTP benchmark's two routes (`soot serve --benchmark-routes`), the same as its peers serve: a small GET, and
/// a CodeCarbon-shaped JSON sample decoded and validated exactly as `POST /emissions` does, answered 201 with a small
/// JSON body, without touching the database. Both run on the event loop.
struct BenchmarkRoutes {
    func register(on router: inout Router) {
        router.get("/bench/hello", options: .inline) { _ in .text("Hello from the benchmark route.\n") }
        router.post("/bench/emissions", options: .inline) { request in
            let body = try JSONSlots(request, keys: SampleParsing.codeCarbonEmissionKeys)
            let measure = try SampleParsing.codeCarbonEmission(body)
            let runID = try body.string("run_id", required: true, maxLength: 100)!
            let answer: JSONValue = ["accepted": true, "run_id": .string(runID), "emissions_sum": .number(measure.emissionsKg)]
            return .json(bytes: answer.bytes, status: .created)
        }
    }
}
