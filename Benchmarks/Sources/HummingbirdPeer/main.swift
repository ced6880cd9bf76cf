// The peer for the HTTP benchmark: Hummingbird 2 with the same two endpoints as Soot's `--benchmark-routes`:
//   GET  /bench/hello      → 200, a small text body
//   POST /bench/emissions  → a ~600-byte CodeCarbon-shaped JSON body decoded, 201 with a small JSON body
// Usage: HummingbirdPeer PORT
import Foundation
import Hummingbird

struct EmissionSample: Decodable {
    let timestamp: String
    let run_id: String
    let duration: Double
    let emissions_sum: Double
    let emissions_rate: Double
    let cpu_power: Double
    let gpu_power: Double
    let ram_power: Double
    let cpu_energy: Double
    let gpu_energy: Double
    let ram_energy: Double
    let energy_consumed: Double
    let cpu_utilization_percent: Double?
    let gpu_utilization_percent: Double?
    let ram_utilization_percent: Double?
    let ram_used_gb: Double?
}

struct Accepted: ResponseEncodable {
    let accepted: Bool
    let run_id: String
    let emissions_sum: Double
}

let port = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 8081 : 8081
let router = Router()
router.get("/bench/hello") { _, _ -> String in "Hello from the benchmark route.\n" }
router.post("/bench/emissions") { request, context -> EditedResponse<Accepted> in
    let sample = try await request.decode(as: EmissionSample.self, context: context)
    guard sample.duration >= 0, sample.emissions_sum >= 0 else { throw HTTPError(.unprocessableContent) }
    return EditedResponse(status: .created, response: Accepted(accepted: true, run_id: sample.run_id, emissions_sum: sample.emissions_sum))
}
let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)))
try await app.runService()
