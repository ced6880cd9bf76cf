import Foundation
import HTTPServer
import Metrics
import Postgres
@testable import SootStore
@testable import SootWeb
import TestSupport
import Testing

/// `/metrics` on its own listener: the exposition format (checked by Prometheus's own `promtool`), and a real
/// Prometheus scraping Soot while the real `codecarbon` client posts.
@Suite(.serialized) struct MetricsTests {
    @Test func theExpositionIsWhatPrometheusExpects() {
        let registry = MetricsRegistry()
        let counter = registry.register(CounterFamily("x_things_total", help: "Things \\ seen\nhere.", labels: ["kind"]))
        counter.add(2, ["a \"quoted\" \\ kind"])
        counter.add(-1, ["ignored: negative"])
        let histogram = registry.register(HistogramFamily("x_wait_seconds", help: "Waits.", buckets: [0.1, 1], unit: "seconds"))
        for value in [0.05, 0.5, 0.7, 3] { histogram.observe(value) }
        let text = registry.render()
        #expect(text.contains("# HELP x_things_total Things \\\\ seen\\nhere.\n# TYPE x_things_total counter\n"))
        #expect(text.contains("x_things_total{kind=\"a \\\"quoted\\\" \\\\ kind\"} 2\n") && !text.contains("ignored"))
        #expect(text.contains("x_wait_seconds_bucket{le=\"0.1\"} 1\nx_wait_seconds_bucket{le=\"1\"} 3\nx_wait_seconds_bucket{le=\"+Inf\"} 4\n"))
        #expect(text.contains("x_wait_seconds_sum 4.25\nx_wait_seconds_count 4\n"))
        let open = registry.render(openMetrics: true)
        #expect(open.contains("# TYPE x_things counter\n") && open.contains("x_things_total{") && open.contains("# UNIT x_wait_seconds seconds\n"))
        #expect(open.hasSuffix("# EOF\n"))
    }

    /// GET /metrics on the application's metrics listener.
    func scrape(_ metrics: Server, accept: String? = nil) throws -> RawResponse {
        let connection = try RawConnection(port: metrics.port)
        var head = "GET /metrics HTTP/1.1\r\nHost: metrics\r\nConnection: close\r\n"
        if let accept { head += "Accept: \(accept)\r\n" }
        try connection.send(Array((head + "\r\n").utf8))
        return try connection.readResponse(timeout: 10)
    }

    @Test func promtoolAcceptsTheOutputAndThePublicPortHasNoMetrics() throws {
        try withApp { app in
            let agent = try Agent(app)
            #expect(try app.api("POST", "/emissions", token: nil, json: emission(agent, try run(app, agent)), headers: agent.header).status == 201)
            // A run report with two samples counts once committed; one refused (its totals disagree) counts nothing.
            let start = Date().addingTimeInterval(-600)
            func report(_ totals: Double) -> JSONValue {
                ["experiment_id": .string(agent.experimentID), "started_at": .string(ISOTime.format(start)),
                 "samples": .array((0..<2).map { index -> JSONValue in
                     ["timestamp": .string(ISOTime.format(start.addingTimeInterval(Double(index) * 60))), "duration_seconds": 60,
                      "energy_kwh": 0.5, "emissions_kg": 0.1]
                 }),
                 "totals": ["energy_kwh": .number(totals), "emissions_kg": 0.2, "duration_seconds": 120]]
            }
            #expect(try app.api("POST", "/api/v1/runs", token: agent.personalToken, json: report(1)).status == 201)
            #expect(try app.api("POST", "/api/v1/runs", token: agent.personalToken, json: report(7)).status == 422)
            let metrics = app.application.makeMetricsServer(host: "127.0.0.1", port: 0)
            try metrics.start()
            defer { metrics.shutdown(gracePeriod: 1) }
            let text = try scrape(metrics)
            #expect(text.text.contains("soot_ingest_samples_total{path=\"run_reports\"} 2\n"))
            #expect(text.status == 200 && text.header("Content-Type") == MetricsRegistry.textContentType)
            let body = text.text
            #expect(body.contains("soot_http_requests_total{route=\"/emissions\",method=\"POST\",code=\"2xx\"} 1"))
            #expect(body.contains("soot_ingest_samples_total{path=\"codecarbon_emissions\"} 1"))
            #expect(body.contains("soot_ingested_energy_kwh_total{organization_id=\"\(agent.organizationID)\""))
            #expect(body.contains("process_resident_memory_bytes ") && body.contains("soot_build_info{version="))
            let file = FileManager.default.temporaryDirectory.appendingPathComponent("soot-metrics-\(UUID().uuidString).txt")
            try Data(text.body).write(to: file)
            defer { try? FileManager.default.removeItem(at: file) }
            let checked = try Shell.run("/bin/sh", ["-c", "promtool check metrics < \(file.path)"])
            #expect(checked.status == 0, "\(checked.output) \(checked.errors)")
            #expect(checked.output.isEmpty && checked.errors.isEmpty, "promtool's lint: \(checked.output) \(checked.errors)")
            let openMetrics = try scrape(metrics, accept: "application/openmetrics-text; version=1.0.0")
            #expect(openMetrics.header("Content-Type") == MetricsRegistry.openMetricsContentType && openMetrics.text.hasSuffix("# EOF\n"))
            // Never on the public port.
            #expect(try app.send("GET", "/metrics").status == 404)
        }
    }

    @Test func aRealPrometheusSeesWhatTheCodecarbonClientSent() throws {
        let venv = try CodeCarbonClient.venv.get()
        try withApp { app in
            let agent = try Agent(app)
            let metrics = app.application.makeMetricsServer(host: "127.0.0.1", port: 0)
            try metrics.start()
            defer { metrics.shutdown(gracePeriod: 1) }
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("soot-prometheus-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: folder) }
            try """
                global: {scrape_interval: 1s, evaluation_interval: 1s}
                scrape_configs:
                  - job_name: soot
                    static_configs: [{targets: ['127.0.0.1:\(metrics.port)']}]
                """.write(to: folder.appendingPathComponent("prometheus.yml"), atomically: true, encoding: .utf8)
            let prometheusPort = Int.random(in: 20_000...40_000)
            let prometheus = try Shell.start("/usr/bin/prometheus", [
                "--config.file=\(folder.path)/prometheus.yml", "--storage.tsdb.path=\(folder.path)/data",
                "--web.listen-address=127.0.0.1:\(prometheusPort)",
            ])
            defer { prometheus.signal(SIGTERM); _ = prometheus.wait(timeout: 10) }
            // The real client, unchanged, posts a run and its samples.
            try FileManager.default.createDirectory(at: folder.appendingPathComponent("cc"), withIntermediateDirectories: true)
            let script = TestDatabase.repositoryRoot.appendingPathComponent("Tests/CodeCarbon/track.py").path
            let result = try Shell.run(venv + "/bin/python", [script, "http://127.0.0.1:\(app.port)", agent.projectToken, agent.experimentID,
                                                              folder.appendingPathComponent("cc").path])
            #expect(result.status == 0, "\(result.errors.suffix(2000))")
            let stored = try app.pool.query("SELECT count(*) AS n, coalesce(sum(energy_kwh), 0) AS kwh FROM emission_samples").first!
            let samples: Int = try stored.decode("n")
            #expect(samples >= 3)
            // PromQL over Prometheus's HTTP API sees the same samples and energy, once it has scraped.
            func query(_ promql: String) throws -> Double? {
                let connection = try RawConnection(port: UInt16(prometheusPort))
                let path = "/api/v1/query?query=" + FormDecoding.encode(promql)
                try connection.send(Array("GET \(path) HTTP/1.1\r\nHost: prometheus\r\nConnection: close\r\n\r\n".utf8))
                let answer = try connection.readResponse(timeout: 10)
                let value = JSONValue.parse(answer.body)?["data"]?["result"]?.arrayValue.first?["value"]?.arrayValue
                return value.flatMap { $0.count == 2 ? Double($0[1].stringValue ?? "") : nil }
            }
            var seen: Double?
            for _ in 0..<60 {
                if let value = try? query("sum(soot_ingest_samples_total)"), value >= Double(samples) { seen = value; break }
                usleep(500_000)
            }
            #expect(seen == Double(samples), "Prometheus saw \(String(describing: seen)) samples, the database has \(samples)")
            let energy = try query("sum(soot_ingested_energy_kwh_total{organization_id=\"\(agent.organizationID)\"})")
            let kwh: Double = try stored.decode("kwh")
            #expect(abs((energy ?? -1) - kwh) <= 1e-9 * max(kwh, 1e-9), "energy: Prometheus \(String(describing: energy)), database \(kwh)")
        }
    }

    func run(_ app: AppFixture, _ agent: Agent) throws -> String {
        let created = try app.api("POST", "/runs", token: nil, json: runCreate(agent.experimentID), headers: agent.header)
        return try #require(created.body["id"]?.stringValue)
    }

    func emission(_ agent: Agent, _ runID: String) -> JSONValue {
        ["timestamp": .string(ISOTime.format(Date())), "run_id": .string(runID), "duration": 10, "emissions_sum": 0.002,
         "emissions_rate": 0.0002, "cpu_power": 40, "gpu_power": 0, "ram_power": 5, "cpu_energy": 0.0001, "gpu_energy": 0,
         "ram_energy": 0.00001, "energy_consumed": 0.00011]
    }

    /// Every connection of the pool held: a request waits, times out, and is answered 503; the metrics count the
    /// wait, the timeout and the 503 with its reason.
    @Test func aPoolTimeoutIsCountedWithItsReason() throws {
        try withApp { app in
            let (_, token) = try makeUser(app.pool, email: "lead@example.com")
            let metrics = app.application.makeMetricsServer(host: "127.0.0.1", port: 0)
            try metrics.start()
            defer { metrics.shutdown(gracePeriod: 1) }
            var status = 0
            func hold(_ left: Int) throws {
                if left == 0 {
                    status = try app.api("GET", "/api/v1/me", token: token).status
                    return
                }
                try app.pool.withConnection { _ in try hold(left - 1) }
            }
            try hold(app.pool.configuration.maximumConnections)
            #expect(status == 503)
            let body = try scrape(metrics).text
            #expect(body.contains("soot_http_unavailable_total{reason=\"pool_timeout\"} 1\n"), "\(body)")
            #expect(body.contains("soot_db_pool_timeouts_total 1\n") && body.contains("soot_db_pool_waits_total 1\n"))
            let waited = body.split(separator: "\n").first { $0.hasPrefix("soot_db_pool_wait_seconds_total ") }.flatMap { Double($0.split(separator: " ")[1]) }
            #expect((waited ?? 0) >= 1.4, "\(String(describing: waited))")
        }
    }

    /// `--metrics-project-labels`: energy and emissions by project too.
    @Test func projectLabelsAreAFlag() throws {
        try withApp(configure: { $0.metricsProjectLabels = true }) { app in
            let agent = try Agent(app)
            #expect(try app.api("POST", "/emissions", token: nil, json: emission(agent, try run(app, agent)), headers: agent.header).status == 201)
            let metrics = app.application.makeMetricsServer(host: "127.0.0.1", port: 0)
            try metrics.start()
            defer { metrics.shutdown(gracePeriod: 1) }
            let body = try scrape(metrics).text
            #expect(body.contains("soot_ingested_emissions_kg_total{organization_id=\"\(agent.organizationID)\",team_id=\""))
            #expect(body.contains(",project_id=\"\(agent.projectID)\"} 0.002\n"), "\(body)")
        }
    }

    /// A keep-alive connection between requests is idle; the bytes clients sent are counted.
    @Test func idleConnectionsAndBytesReadAreCounted() throws {
        try withApp { app in
            let metrics = app.application.makeMetricsServer(host: "127.0.0.1", port: 0)
            try metrics.start()
            defer { metrics.shutdown(gracePeriod: 1) }
            func value(_ name: String) throws -> Double? {
                try scrape(metrics).text.split(separator: "\n").first { $0.hasPrefix(name + " ") }.flatMap { Double($0.split(separator: " ")[1]) }
            }
            let before = try #require(try value("soot_http_request_bytes_total"))
            let request = "GET /healthz HTTP/1.1\r\nHost: soot.test\r\n\r\n"
            let connections = try (0..<3).map { _ in try RawConnection(port: app.port) }
            for connection in connections {
                try connection.send(Array(request.utf8))
                #expect(try connection.readResponse(timeout: 5).status == 200)
            }
            #expect(try value("soot_http_idle_connections") == 3)
            #expect(try #require(try value("soot_http_request_bytes_total")) - before == Double(3 * request.utf8.count))
            // A connection that sent half a head is not idle.
            try connections[0].send(Array("GET /heal".utf8))
            var idle: Double?
            for _ in 0..<50 {
                idle = try value("soot_http_idle_connections")
                if idle == 2 { break }
                usleep(20_000)
            }
            #expect(idle == 2)
        }
    }
}
