import Foundation
import HTTPServer
import Metrics
import SootStore
import Synchronization

/// Soot's metrics, served at `GET /metrics` on a listener of their own (`--metrics-listen`, 127.0.0.1:9464 by
/// default), never on the public port. Names carry the `soot_` prefix and their unit; HTTP requests are labelled
/// by route pattern (a fixed set), never by raw path. The ingest families are `IngestMetrics`'s.
package final class SootMetrics: Sendable {
    package let registry = MetricsRegistry()
    package let ingest: IngestMetrics
    let startedAt = Date().timeIntervalSince1970
    private let server = Mutex<Server?>(nil)

    /// The public server whose connections are counted.
    package func attach(_ server: Server) { self.server.withLock { $0 = server } }

    /// Every response adds to these under one lock, with no allocation: the request counts by route, method and
    /// status class, the duration histogram and the bytes written.
    struct HTTPTally {
        struct Key: Hashable {
            let route: String
            let method: String
            let codeClass: Int
        }
        var requests: [Key: UInt64] = [:]
        var buckets = [UInt64](repeating: 0, count: SootMetrics.durationBounds.count)
        var durationSum = 0.0
        var count: UInt64 = 0
        var bytes: UInt64 = 0
        /// 503s by the reason the application gave (`server` when the server itself answered).
        var unavailable: [String: UInt64] = [:]
    }

    static let durationBounds: [Double] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10]
    private let http = Mutex(HTTPTally())

    /// `projectLabels`: label ingested energy and emissions by project too (one series per project).
    /// Webhook delivery attempts by outcome (delivered, failed_attempt).
    let deliveries = CounterFamily("soot_webhook_deliveries_total", help: "Webhook delivery attempts, by outcome.", labels: ["result"])

    func countDelivery(_ result: String) { deliveries.add(1, [result]) }

    package init(projectLabels: Bool = false) {
        ingest = IngestMetrics(projectLabels: projectLabels)
        registry.register(deliveries)
        registry.register(CustomFamily("soot_http_requests_total", help: "HTTP responses, by route pattern, method and status class.",
                                       kind: .counter) { [unowned self] in
            http.withLock { $0.requests }.sorted { ($0.key.route, $0.key.method, $0.key.codeClass) < ($1.key.route, $1.key.method, $1.key.codeClass) }
                .map { MetricSample("soot_http_requests_total", [("route", $0.key.route), ("method", $0.key.method), ("code", "\($0.key.codeClass)xx")],
                                    Double($0.value)) }
        })
        registry.register(CustomFamily("soot_http_request_duration_seconds", help: "Time from a request's head to the end of its response.",
                                       kind: .histogram, unit: "seconds") { [unowned self] in
            let tally = http.withLock { $0 }
            return histogramSamples("soot_http_request_duration_seconds", bounds: SootMetrics.durationBounds, counts: tally.buckets,
                                    sum: tally.durationSum, count: tally.count)
        })
        registry.register(CustomFamily("soot_http_response_bytes_total", help: "Bytes of HTTP responses written.", kind: .counter,
                                       unit: "bytes") { [unowned self] in
            [MetricSample("soot_http_response_bytes_total", [], Double(http.withLock { $0.bytes }))]
        })
        registry.register(CustomFamily("soot_http_unavailable_total",
                                       help: "503 answers, by reason: pool_timeout, database_unavailable, database_refused, read_only, reports_busy, reports_per_caller, not_ready, server.",
                                       kind: .counter) { [unowned self] in
            http.withLock { $0.unavailable }.sorted { $0.key < $1.key }
                .map { MetricSample("soot_http_unavailable_total", [("reason", $0.key)], Double($0.value)) }
        })
    }

    /// The known methods; anything else is counted as `other`, so a client cannot add series.
    private static let methods: Set<String> = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]

    /// The server's response observer (on an event loop: one lock, no allocation for a known route).
    package func observe(_ response: CompletedResponse) {
        let method = response.method.map { Self.methods.contains($0.rawValue) ? $0.rawValue : "other" } ?? "none"
        let key = HTTPTally.Key(route: response.route ?? "unmatched", method: method, codeClass: max(1, min(5, response.status / 100)))
        let bucket = Self.durationBounds.firstIndex { response.seconds <= $0 }
        http.withLock { tally in
            tally.requests[key, default: 0] += 1
            if let bucket { tally.buckets[bucket] += 1 }
            tally.durationSum += response.seconds
            tally.count += 1
            tally.bytes += UInt64(max(0, response.bytes))
            if response.status == 503 {
                let reason = response.fields.first { $0.name == "reason" }?.value ?? "server"
                tally.unavailable[reason, default: 0] += 1
            }
        }
    }

    /// Registers what is read when scraped: connections, the database pool, the group commit's queue, reports
    /// running, the process, and the build.
    package func registerGauges(store: Store, batcher: SampleBatcher, reports: ReportCapacity, version: String, commit: String) {
        ingest.register(in: registry) { batcher.queuedSamples }
        registry.register(GaugeFamily("soot_http_open_connections", help: "Client connections open now.") { [self] in
            Double(server.withLock { $0 }?.openConnections ?? 0)
        })
        registry.register(GaugeFamily("soot_http_idle_connections", help: "Keep-alive client connections waiting for their next request now.") {
            [self] in Double(server.withLock { $0 }?.idleConnections ?? 0)
        })
        registry.register(CustomFamily("soot_http_request_bytes_total", help: "Bytes read from HTTP clients (heads and bodies).",
                                       kind: .counter, unit: "bytes") { [self] in
            [MetricSample("soot_http_request_bytes_total", [], Double(server.withLock { $0 }?.bytesRead ?? 0))]
        })
        registry.register(GaugeFamily("soot_db_pool_connections", help: "Connections of the main PostgreSQL pool, by state.") {
            let usage = store.poolUsage
            return [([("state", "in_use")], Double(usage.inUse)), ([("state", "idle")], Double(usage.idle))]
        })
        registry.register(GaugeFamily("soot_database_up", help: "1 when PostgreSQL answered a query at this scrape, 0 otherwise.") {
            (try? store.ping()) != nil ? 1 : 0
        })
        registry.register(GaugeFamily("soot_webhooks_failing", help: "Webhooks whose deliveries gave up after a day of retries (until one succeeds).") {
            Double((try? store.failingWebhooks()) ?? 0)
        })
        registry.register(GaugeFamily("soot_db_pool_waiting", help: "Requests waiting for a connection of the main pool.") {
            Double(store.poolUsage.waiting)
        })
        let pool = CustomFamily("soot_db_pool_waits_total", help: "Checkouts of the main pool that found no free connection and waited.",
                                kind: .counter) {
            [MetricSample("soot_db_pool_waits_total", [], Double(store.poolStatistics.waits))]
        }
        registry.register(pool)
        registry.register(CustomFamily("soot_db_pool_wait_seconds_total", help: "Seconds spent waiting for a connection of the main pool.",
                                       kind: .counter, unit: "seconds") {
            [MetricSample("soot_db_pool_wait_seconds_total", [], store.poolStatistics.waitSeconds)]
        })
        registry.register(CustomFamily("soot_db_pool_timeouts_total",
                                       help: "Waits for a connection of the main pool that ended without one (answered 503, reason pool_timeout).",
                                       kind: .counter) {
            [MetricSample("soot_db_pool_timeouts_total", [], Double(store.poolStatistics.timeouts))]
        })
        registry.register(CustomFamily("soot_db_connects_total", help: "Connections the main pool opened to PostgreSQL, by result.",
                                       kind: .counter) {
            let statistics = store.poolStatistics
            return [MetricSample("soot_db_connects_total", [("result", "ok")], Double(statistics.connects)),
                    MetricSample("soot_db_connects_total", [("result", "failed")], Double(statistics.connectFailures))]
        })
        registry.register(CustomFamily("soot_db_connections_dropped_total",
                                       help: "Connections of the main pool found broken or refused and closed, to be replaced by new ones (reconnects).",
                                       kind: .counter) {
            [MetricSample("soot_db_connections_dropped_total", [], Double(store.poolStatistics.dropped))]
        })
        registry.register(CustomFamily("soot_postgres_restarts_total",
                                       help: "Times the embedded PostgreSQL cluster was found down and started again (0 with DATABASE_URL).",
                                       kind: .counter) { [self] in
            [MetricSample("soot_postgres_restarts_total", [], Double(clusterRestarts.withLock { $0 }?() ?? 0))]
        })
        registry.register(GaugeFamily("soot_reports_running", help: "Exports and imports running now.") { Double(reports.runningCount) })
        registry.register(GaugeFamily("process_resident_memory_bytes", help: "Resident memory of the Soot process.", unit: "bytes") {
            ProcessFacts.residentBytes()
        })
        registry.register(GaugeFamily("process_open_fds", help: "Open file descriptors of the Soot process.") { ProcessFacts.openDescriptors() })
        let started = startedAt
        registry.register(GaugeFamily("process_start_time_seconds", help: "When the process started, in seconds since the Unix epoch.",
                                      unit: "seconds") { started })
        registry.register(GaugeFamily("soot_build_info", help: "The running build: always 1, labelled with its version and commit.") {
            [([("version", version), ("commit", commit)], 1)]
        })
    }

    /// The read replica: whether it answers, its lag, and the reads sent to each side.
    package func registerReplica(_ replica: ReadReplica) {
        registry.register(GaugeFamily("soot_db_replica_up", help: "1 when the read replica answered at its last check and is in recovery.") {
            replica.status.up ? 1 : 0
        })
        registry.register(GaugeFamily("soot_db_replica_lag_seconds", help: "How far behind the primary the read replica is (-1 when it does not answer).",
                                      unit: "seconds") {
            let status = replica.status
            return status.up ? status.lag : -1
        })
        registry.register(CustomFamily("soot_db_reads_total", help: "Page and export reads, by where they went (replica or primary).",
                                       kind: .counter) {
            let status = replica.status
            return [MetricSample("soot_db_reads_total", [("target", "replica")], Double(status.readsOnReplica)),
                    MetricSample("soot_db_reads_total", [("target", "primary")], Double(status.readsOnPrimary))]
        })
    }

    /// Where the embedded cluster's restarts are read (`soot serve` without DATABASE_URL); 0 with a database of
    /// one's own.
    private let clusterRestarts = Mutex<(@Sendable () -> Int)?>(nil)

    /// Counts the restarts of the embedded PostgreSQL cluster by its supervisor.
    package func countClusterRestarts(_ restarts: @escaping @Sendable () -> Int) { clusterRestarts.withLock { $0 = restarts } }

    /// The `/metrics` answer: OpenMetrics when the scraper asks for it, the Prometheus text format otherwise.
    package func response(for request: Request) -> Response {
        let openMetrics = request.headers["Accept"]?.contains("application/openmetrics-text") ?? false
        let body = registry.render(openMetrics: openMetrics)
        var response = Response(status: .ok, contentType: openMetrics ? MetricsRegistry.openMetricsContentType : MetricsRegistry.textContentType,
                                bytes: Array(body.utf8))
        response.headers.set("Cache-Control", "no-store")
        return response
    }
}

/// What Linux says of this process.
enum ProcessFacts {
    static func residentBytes() -> Double {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Double(fields[1]) else { return 0 }
        return pages * Double(sysconf(Int32(_SC_PAGESIZE)))
    }

    static func openDescriptors() -> Double {
        Double((try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? 0)
    }
}
