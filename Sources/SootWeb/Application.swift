import Foundation
import HTTPServer
import Logging
import SootStore

/// Soot: the routes, wired to the database. `makeServer` gives the HTTP server that serves them.
package final class Application: Sendable {
    package let configuration: AppConfiguration
    /// The queries, on the main pool.
    let store: Store
    package let logger: Logger
    package let router: Router
    /// The JSON API operations, as documented in `/api/v1/openapi.json`.
    let apiOperations: [APIRegistry.Operation]
    /// Group commit for single-sample posts.
    package let batcher: SampleBatcher
    /// The connections and per-caller share of exports and imports.
    package let reports: ReportCapacity
    /// What `/metrics` shows (on its own listener: `makeMetricsServer`).
    package let metrics: SootMetrics
    /// This build's version, as `soot_build_info` and `soot --version` show it.
    package static let version = "0.9.0"
    /// Prunes the audit trail past its retention (nil: kept for ever).
    let auditRetention: AuditRetention?
    /// Creates the samples' month partitions ahead and folds months past their retention.
    let sampleMaintenance: SampleMaintenance
    /// Checks budgets and delivers their alerts to webhooks.
    let alerts: AlertWorker

    package init(configuration: AppConfiguration, store: Store, logger: Logger = Logger(label: "soot")) {
        let metrics = SootMetrics(projectLabels: configuration.metricsProjectLabels)
        var store = store
        store.metrics = metrics.ingest
        if let url = configuration.readURL {
            let replica = ReadReplica(url: url, primary: store.database, reportConnections: configuration.reports.connections,
                                      maximumLag: configuration.replicaMaximumLag)
            replica.check()
            replica.start()
            store.replica = replica
        }
        self.configuration = configuration
        self.store = store
        self.logger = logger
        self.metrics = metrics
        batcher = store.makeBatcher(configuration: configuration.ingest, logger: Logger(label: "soot.ingest"), metrics: metrics.ingest)
        let reports = ReportCapacity(store: store, configuration: configuration.reports)
        self.reports = reports
        if let replica = store.replica { metrics.registerReplica(replica) }
        metrics.registerGauges(store: store, batcher: batcher, reports: reports, version: Application.version,
                               commit: ProcessInfo.processInfo.environment["SOOT_BUILD_COMMIT"] ?? "unknown")
        var router = Router()
        apiOperations = Application.addRoutes(to: &router, configuration: configuration, store: store,
                                              batcher: batcher, reports: reports, metrics: metrics.ingest, logger: logger)
        self.router = router
        auditRetention = configuration.auditRetentionDays.map { AuditRetention(store: store, days: $0, logger: Logger(label: "soot.audit")) }
        auditRetention?.start()
        sampleMaintenance = SampleMaintenance(store: store, retentionDays: configuration.sampleRetentionDays,
                                              logger: Logger(label: "soot.samples"))
        sampleMaintenance.start()
        alerts = AlertWorker(store: store, configuration: configuration.alerts, logger: Logger(label: "soot.alerts"), metrics: metrics)
        alerts.start()
    }

    /// Stops background work (the ingest writers) after the HTTP server has drained.
    package func shutdown() {
        store.replica?.stop()
        auditRetention?.stop()
        sampleMaintenance.stop()
        alerts.stop()
        batcher.stop()
        reports.store.close()
    }

    /// The OpenAPI document for the registered API routes.
    package var openAPIDocument: JSONValue { OpenAPIDocument.build(apiOperations) }

    /// Headers on every answer unless a route sets its own: no script or style but Soot's own files, no framing
    /// (one-click forms cannot be clickjacked), no content sniffing, no full URLs leaked to other sites, and nothing
    /// stored by caches (answers carry new tokens, CSRF tokens and private figures; static files and the
    /// methodology page set their own `Cache-Control`).
    package static let securityHeaders: [(name: String, value: String)] = [
        ("Content-Security-Policy",
         "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"),
        ("X-Frame-Options", "DENY"),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "same-origin"),
        ("Cache-Control", "no-store"),
    ]

    /// The HTTP server for these routes, with Soot's error pages, security headers and secret-redacting access log.
    /// `metrics`: count every response for `/metrics` (off when the metrics listener is).
    package func makeServer(_ configuration: Configuration, metrics counting: Bool = true) -> Server {
        var configuration = configuration
        configuration.responseHeaders = Application.securityHeaders + configuration.responseHeaders
        configuration.serverName = configuration.serverName ?? "Soot"
        configuration.threadNamePrefix = "soot"
        let metrics = self.metrics
        let logger = Logger(label: "soot.http")
        // The access log is written by the observer, straight into the log's buffer (the server's own line through
        // swift-log cost a fifth of small-request throughput).
        let access = AccessLog(level: logger.logLevel)
        configuration.logsAccess = false
        let proxies = self.configuration.trustedProxies
        if !proxies.networks.isEmpty { configuration.trustsRequestID = { proxies.trusts($0) } }
        if counting {
            configuration.responseObserver = { @Sendable response in
                metrics.observe(response)
                access.write(response)
            }
        } else {
            configuration.responseObserver = { @Sendable response in access.write(response) }
        }
        let server = Server(configuration: configuration, responder: router.build(), errorResponder: ErrorPages.responder,
                            redactPath: Redaction.path, translateError: { AppError.from($0) }, logger: logger)
        metrics.attach(server)
        return server
    }

    /// The metrics listener: `GET /metrics` only, on its own address (never the public port), one small loop.
    package func makeMetricsServer(host: String, port: UInt16) -> Server {
        var router = Router()
        let metrics = self.metrics
        router.get("/metrics") { request in metrics.response(for: request) }
        var configuration = Configuration(host: host, port: port, eventLoopThreads: 1, workerThreads: 2, maximumConnections: 64)
        configuration.serverName = "Soot"
        configuration.threadNamePrefix = "metric"
        return Server(configuration: configuration, responder: router.build(), logger: Logger(label: "soot.metrics"))
    }

    static func addRoutes(
        to router: inout Router, configuration: AppConfiguration, store: Store, batcher: SampleBatcher,
        reports: ReportCapacity, metrics: IngestMetrics, logger: Logger
    ) -> [APIRegistry.Operation] {
        HealthRoutes(store: store).register(on: &router)
        if configuration.benchmarkRoutes { BenchmarkRoutes().register(on: &router) }
        let sessions = store.sessions(lifetime: configuration.sessionLifetime)
        var authenticator = Authenticator(store: store, sessions: sessions)
        authenticator.proxies = configuration.trustedProxies
        authenticator.secureCookies = configuration.secureCookies
        var api = APIRegistry()
        ManagementRoutes(store: store, authenticator: authenticator).register(&router, &api)
        BudgetRoutes(store: store, authenticator: authenticator).register(&router, &api)
        BudgetRoutes(store: store, authenticator: authenticator).registerWebhooks(&router, &api, publicURL: configuration.alerts.publicURL)
        let ingest = IngestService(store: store, batcher: batcher, metrics: metrics)
        ReportRoutes(store: store, ingest: ingest, authenticator: authenticator).register(&router, &api)
        CodeCarbonRoutes(store: store, ingest: ingest, authenticator: authenticator).register(&router)
        EmissionsEndpointRoutes(ingest: ingest, authenticator: authenticator).register(&router, &api)
        ExportRoutes(reports: reports.store.reports, store: store, capacity: reports, authenticator: authenticator).register(&router, &api)
        ImportRoutes(store: reports.store, capacity: reports, authenticator: authenticator).register(&router, &api)
        AuditRoutes(store: store, reports: reports.store.reports, capacity: reports, authenticator: authenticator).register(&router, &api)
        let document = OpenAPIDocument.build(api.operations).bytes
        router.get("/api/v1/openapi.json") { _ in .json(bytes: document) }
        let codeCarbonDocument = CodeCarbonOpenAPI.build().bytes
        router.get("/openapi.json") { _ in .json(bytes: codeCarbonDocument) }
        router.get("/api/openapi.json") { _ in .json(bytes: codeCarbonDocument) }
        // The pages: their access lines name the credential sent (session, token or none).
        var pages = Router()
        MethodologyRoutes(store: store).register(&pages)
        DashboardRoutes(store: store, authenticator: authenticator, proxies: configuration.trustedProxies).register(&pages)
        ProjectSettingsRoutes(authenticator: authenticator, store: store, proxies: configuration.trustedProxies).register(&pages)
        ManagementPages(authenticator: authenticator, store: store, proxies: configuration.trustedProxies)
            .register(&pages)
        AccountPages(authenticator: authenticator, store: store, proxies: configuration.trustedProxies).register(&pages)
        AuditPages(authenticator: authenticator, store: store).register(&pages)
        BudgetPages(authenticator: authenticator, store: store, proxies: configuration.trustedProxies).register(&pages)
        AlertPages(authenticator: authenticator, store: store, proxies: configuration.trustedProxies, publicURL: configuration.alerts.publicURL)
            .register(&pages)
        let login = LoginRoutes(sessions: sessions, authenticator: authenticator,
                                throttle: store.loginThrottle, secureCookies: configuration.secureCookies,
                                proxies: configuration.trustedProxies, store: store)
        login.register(&pages)
        InvitationPages(store: store, authenticator: authenticator, sessions: sessions, login: login).register(&pages)
        let pageAuthenticator = authenticator
        router.add(pages) { handler in
            { request in
                var response = try handler(request)
                response.logFields.append((name: "caller", value: Authenticator.credentialKind(request)))
                pageAuthenticator.markWrite(request, &response)
                return response
            }
        }
        let files = StaticFiles(root: configuration.publicDirectory)
        router.get("/static/*path", files.handler { request in
            AppError.notFound("There is no such file.").response(for: request)
        })
        router.get("/favicon.ico") { request in
            files.respond(to: request, relativePath: "favicon.svg") ?? AppError.notFound().response(for: request)
        }
        return api.operations
    }
}

/// Hides secrets that travel in paths (per-project ingest URLs, invitation links) before they reach the log.
package enum Redaction {
    /// Path segments after which the next one is a secret.
    static let secretBearing: Set<String> = ["ingest", "invitations"]

    /// The segment after any segment that names `ingest` or `invitations` once decoded (`/%69ngest/{token}` routes
    /// like `/ingest/{token}`, so it is logged the same) is replaced, and so is everything after it.
    package static let path: @Sendable (String) -> String = { path in
        // The common case, on every access line: nothing to redact, found by one pass over the bytes.
        guard path.utf8.contains(UInt8(ascii: "%")) || containsIgnoringCase(path, "ngest")
                || containsIgnoringCase(path, "nvitations") else { return path }
        var parts = path.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard let index = parts.firstIndex(where: { secretBearing.contains((FormDecoding.decode($0) ?? $0).lowercased()) }) else { return path }
        // Empty segments are skipped by the router, so the secret may come after any number of slashes.
        guard let secret = parts[(index + 1)...].firstIndex(where: { !$0.isEmpty }) else { return path }
        parts.replaceSubrange(secret..., with: ["[redacted]"])
        return parts.joined(separator: "/")
    }

    /// Whether `text` contains `needle` (lowercase ASCII) in any case, on bytes (Foundation's search is far slower).
    static func containsIgnoringCase(_ text: String, _ needle: StaticString) -> Bool {
        let pattern = UnsafeBufferPointer(start: needle.utf8Start, count: needle.utf8CodeUnitCount)
        var text = text
        return text.withUTF8 { bytes in
            guard bytes.count >= pattern.count else { return false }
            var start = 0
            while start + pattern.count <= bytes.count {
                var index = 0
                while index < pattern.count {
                    var byte = bytes[start + index]
                    if byte >= 0x41 && byte <= 0x5A { byte |= 0x20 }
                    if byte != pattern[index] { break }
                    index += 1
                }
                if index == pattern.count { return true }
                start += 1
            }
            return false
        }
    }
}
