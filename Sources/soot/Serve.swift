import ArgumentParser
import Foundation
import HTTPServer
import Logging
import Postgres
import SootStore
import SootWeb

/// `soot serve`: migrate, then serve HTTP until SIGINT or SIGTERM, then drain and stop.
struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the Soot server (applies migrations first).",
        discussion: """
            Stops gracefully on SIGINT (Ctrl-C) or SIGTERM: stops accepting, finishes requests in flight for up to \
            --grace-period seconds, then stops the embedded PostgreSQL if it started it.
            """)

    @Option(help: ArgumentHelp("Address to listen on (env HOST; default 127.0.0.1; 0.0.0.0 for every interface).", valueName: "address"))
    var host: String?

    @Option(help: ArgumentHelp("TCP port (env PORT; default 8080; 0 picks a free port).", valueName: "port"))
    var port: UInt16?

    @Option(name: .customLong("public-dir"), help: ArgumentHelp(
        "Folder served under /static (env SOOT_PUBLIC_DIR; default: the Public folder beside Soot).", valueName: "path"))
    var publicDirectory: String?

    @Option(help: ArgumentHelp("Event loop threads (env SOOT_EVENT_LOOPS; default: one per core).", valueName: "n"))
    var eventLoops: Int?

    @Option(help: ArgumentHelp("Threads for handlers that use the database (env SOOT_WORKERS; default 64).", valueName: "n"))
    var workers: Int?

    @Option(name: .customLong("ingest-writers"), help: ArgumentHelp(
        "Threads (each with its own PostgreSQL connection) that commit ingested samples in batches (env SOOT_INGEST_WRITERS; default 2).",
        valueName: "n"))
    var ingestWriters: Int?

    @Option(name: .customLong("database-read-url"), help: ArgumentHelp(
        "A streaming replica that dashboards and exports read when it is fresh; writes, sign-in and what a person has just changed read the primary (env DATABASE_READ_URL).",
        valueName: "url"))
    var databaseReadURL: String?

    @Option(name: .customLong("replica-max-lag"), help: ArgumentHelp(
        "Seconds the read replica may lag before reads go to the primary (env SOOT_REPLICA_MAX_LAG; default 10).", valueName: "seconds"))
    var replicaMaxLag: Double?

    @Option(name: .customLong("ingest-database-url"), help: ArgumentHelp(
        "Where the group-commit writers connect, when DATABASE_URL is a transaction-mode pooler: straight to PostgreSQL, so they keep their prepared statements (env SOOT_INGEST_DATABASE_URL; default DATABASE_URL).",
        valueName: "url"))
    var ingestDatabaseURL: String?

    @Option(name: .customLong("database-connections"), help: ArgumentHelp(
        "Most PostgreSQL connections in the pool (env SOOT_DATABASE_CONNECTIONS; default 16).", valueName: "n"))
    var databaseConnections: Int?

    @Option(help: ArgumentHelp("Seconds to let requests in flight finish at shutdown.", valueName: "seconds"))
    var gracePeriod: Double = 10

    @Flag(name: .customLong("secure-cookies"), help: "Mark session cookies Secure (env SOOT_SECURE_COOKIES=1); use behind HTTPS.")
    var secureCookies = false

    @Option(name: .customLong("report-connections"), help: ArgumentHelp(
        "PostgreSQL connections of their own for exports and imports, outside the pool (env SOOT_REPORT_CONNECTIONS; default 4).",
        valueName: "n"))
    var reportConnections: Int?

    @Option(name: .customLong("reports-per-caller"), help: ArgumentHelp(
        "Exports and imports one person or token may run at once; past it a 503 with Retry-After (env SOOT_REPORTS_PER_CALLER; default 2).",
        valueName: "n"))
    var reportsPerCaller: Int?

    @Option(name: .customLong("trusted-proxies"), help: ArgumentHelp(
        "Load balancers and reverse proxies whose X-Forwarded-For (the client's address, for sign-in throttling) and X-Forwarded-Proto (https: Secure cookies) are believed: addresses and networks, comma-separated, e.g. 10.0.0.0/8,127.0.0.1 (env SOOT_TRUSTED_PROXIES; default none: the peer is the client).",
        valueName: "list"))
    var trustedProxies: String?

    @Option(name: .customLong("metrics-listen"), help: ArgumentHelp(
        "Where GET /metrics (Prometheus) listens, never on the public port: host:port, or off (env SOOT_METRICS_LISTEN; default 127.0.0.1:9464).",
        valueName: "host:port|off"))
    var metricsListen: String?

    @Option(name: .customLong("log-format"), help: ArgumentHelp(
        "text (default) or json: one JSON object per log line, for Loki or ELK (env SOOT_LOG_FORMAT).", valueName: "text|json"))
    var logFormat: String?

    @Option(name: .customLong("audit-retention"), help: ArgumentHelp(
        "Days the audit trail keeps its entries, 1 to 36500, or forever (env SOOT_AUDIT_RETENTION; default 365).", valueName: "days|forever"))
    var auditRetention: String?

    @Option(name: .customLong("public-url"), help: ArgumentHelp(
        "Soot's address as people reach it, e.g. https://soot.example.com, for the links in alerts (env SOOT_PUBLIC_URL).", valueName: "url"))
    var publicURL: String?

    @Option(name: .customLong("alert-interval"), help: ArgumentHelp(
        "Seconds between two checks of every budget for alerts, 1 to 3600 (env SOOT_ALERT_INTERVAL; default 15).", valueName: "seconds"))
    var alertInterval: Double?

    @Option(name: .customLong("sample-retention"), help: ArgumentHelp(
        "Days samples are kept as sent, 1 to 36500, or forever (env SOOT_SAMPLE_RETENTION; default forever). Months older are folded into one sample per run and hour; totals do not change.",
        valueName: "days|forever"))
    var sampleRetention: String?

    @Flag(name: .customLong("metrics-project-labels"), help: ArgumentHelp(
        "Label soot_ingested_energy_kwh_total and soot_ingested_emissions_kg_total by project too: one series per project that sends (env SOOT_METRICS_PROJECT_LABELS=1)."))
    var metricsProjectLabels = false

    @Flag(name: .customLong("benchmark-routes"), help: "Serve GET /bench/hello and POST /bench/emissions for Benchmarks/http.sh.")
    var benchmarkRoutes = false

    @OptionGroup var database: DatabaseOptions

    func run() throws {
        // Block SIGINT/SIGTERM before any thread exists, so every thread inherits the mask and the main thread
        // alone receives them through sigwait.
        var signals = sigset_t()
        sigemptyset(&signals)
        sigaddset(&signals, SIGINT)
        sigaddset(&signals, SIGTERM)
        pthread_sigmask(SIG_BLOCK, &signals, nil)

        database.bootstrapLogging()
        if let logFormat {
            guard ["text", "json"].contains(logFormat.lowercased()) else { throw ValidationError("--log-format must be text or json.") }
            LogSink.standardError.setJSON(logFormat.lowercased() == "json")
        }
        let logger = Logger(label: "soot")
        let environment = ProcessInfo.processInfo.environment
        let (url, cluster, use) = try database.open(logger: logger)
        defer { if let cluster, let use { cluster.release(use) } }
        // The embedded cluster is looked after: if its postmaster dies, it is started again.
        let supervisor = cluster.map { ClusterSupervisor(cluster: $0, logger: Logger(label: "soot.postgres")) }
        supervisor?.start()
        defer { supervisor?.stop() }
        _ = try database.migrate(url: url, logger: logger)

        var poolConfiguration = ConnectionPool.Configuration()
        if let count = databaseConnections ?? environment["SOOT_DATABASE_CONNECTIONS"].flatMap(Int.init) {
            poolConfiguration.maximumConnections = count
        }
        let pool = ConnectionPool(url: url, configuration: poolConfiguration, logger: Logger(label: "soot.db"))
        defer { pool.close() }
        try announceFirstAdmin(pool)

        var appConfiguration = AppConfiguration()
        if let path = publicDirectory ?? environment["SOOT_PUBLIC_DIR"] {
            appConfiguration.publicDirectory = URL(fileURLWithPath: path)
        } else if let found = ResourceLocator.find("Public") {
            appConfiguration.publicDirectory = found
        }
        appConfiguration.secureCookies = secureCookies || environment["SOOT_SECURE_COOKIES"] == "1"
        if let count = reportConnections ?? environment["SOOT_REPORT_CONNECTIONS"].flatMap(Int.init) {
            guard (1...256).contains(count) else { throw ValidationError("--report-connections must be from 1 to 256.") }
            appConfiguration.reports.connections = count
        }
        if let count = reportsPerCaller ?? environment["SOOT_REPORTS_PER_CALLER"].flatMap(Int.init) {
            guard (1...256).contains(count) else { throw ValidationError("--reports-per-caller must be from 1 to 256.") }
            appConfiguration.reports.perCaller = count
        }
        if let list = trustedProxies ?? environment["SOOT_TRUSTED_PROXIES"] {
            switch TrustedProxies.parse(list) {
            case .success(let proxies): appConfiguration.trustedProxies = proxies
            case .failure(let failure): throw ValidationError("--trusted-proxies: \(failure)")
            }
        }
        appConfiguration.benchmarkRoutes = benchmarkRoutes
        if let read = databaseReadURL ?? environment["DATABASE_READ_URL"], !read.isEmpty { appConfiguration.readURL = read }
        if let lag = replicaMaxLag ?? environment["SOOT_REPLICA_MAX_LAG"].flatMap(Double.init) {
            guard lag >= 0.5, lag <= 3600 else { throw ValidationError("--replica-max-lag must be from 0.5 to 3600 seconds.") }
            appConfiguration.replicaMaximumLag = lag
        }
        if let direct = ingestDatabaseURL ?? environment["SOOT_INGEST_DATABASE_URL"], !direct.isEmpty {
            appConfiguration.ingest.directURL = direct
        }
        appConfiguration.metricsProjectLabels = metricsProjectLabels || environment["SOOT_METRICS_PROJECT_LABELS"] == "1"
        if let text = auditRetention ?? environment["SOOT_AUDIT_RETENTION"] {
            appConfiguration.auditRetentionDays = try Serve.retentionDays(text, option: "audit-retention")
        }
        if let url = publicURL ?? environment["SOOT_PUBLIC_URL"], !url.isEmpty {
            guard let parsed = URL(string: url), ["http", "https"].contains(parsed.scheme?.lowercased() ?? ""), parsed.host != nil else {
                throw ValidationError("--public-url must be an http:// or https:// address, such as https://soot.example.com.")
            }
            appConfiguration.alerts.publicURL = url.hasSuffix("/") ? String(url.dropLast()) : url
        }
        if let interval = alertInterval ?? environment["SOOT_ALERT_INTERVAL"].flatMap(Double.init) {
            guard interval >= 1, interval <= 3600 else { throw ValidationError("--alert-interval must be from 1 to 3600 seconds.") }
            appConfiguration.alerts.checkInterval = interval
        }
        if let text = sampleRetention ?? environment["SOOT_SAMPLE_RETENTION"] {
            appConfiguration.sampleRetentionDays = try Serve.retentionDays(text, option: "sample-retention")
        }
        if let count = ingestWriters ?? environment["SOOT_INGEST_WRITERS"].flatMap(Int.init) {
            guard (1...64).contains(count) else { throw ValidationError("--ingest-writers must be from 1 to 64.") }
            appConfiguration.ingest.writers = count
        }
        let application = Application(configuration: appConfiguration, store: Store(database: pool), logger: logger)
        if let supervisor { application.metrics.countClusterRestarts { supervisor.restarts.load(ordering: .relaxed) } }

        var httpConfiguration = Configuration(
            host: host ?? environment["HOST"] ?? "127.0.0.1",
            port: port ?? environment["PORT"].flatMap(UInt16.init) ?? 8080)
        if let loops = eventLoops ?? environment["SOOT_EVENT_LOOPS"].flatMap(Int.init) { httpConfiguration.eventLoopThreads = loops }
        if let count = workers ?? environment["SOOT_WORKERS"].flatMap(Int.init) { httpConfiguration.workerThreads = count }
        let metricsAddress = try Serve.metricsAddress(metricsListen ?? environment["SOOT_METRICS_LISTEN"] ?? "127.0.0.1:9464")
        let server = application.makeServer(httpConfiguration, metrics: metricsAddress != nil)
        try server.start()
        var metricsServer: Server?
        if let (metricsHost, metricsPort) = metricsAddress {
            let candidate = application.makeMetricsServer(host: metricsHost, port: metricsPort)
            do {
                try candidate.start()
                metricsServer = candidate
            } catch {
                // Another process holds the port (a second instance on one machine): serve without metrics, loudly.
                logger.error("metrics listener not started; /metrics is off", metadata: ["address": "\(metricsHost):\(metricsPort)", "error": "\(error)"])
            }
        }
        print("Soot is serving on http://\(httpConfiguration.host):\(server.port)/  (Ctrl-C to stop)")
        if let metricsServer { print("Metrics on http://\(metricsServer.configuration.host):\(metricsServer.port)/metrics") }
        fflush(nil)

        var received: Int32 = 0
        sigwait(&signals, &received)
        logger.info("signal received; shutting down", metadata: ["signal": "\(received == SIGINT ? "SIGINT" : "SIGTERM")"])
        server.shutdown(gracePeriod: gracePeriod)
        metricsServer?.shutdown(gracePeriod: 1)
        application.shutdown()
    }

    /// `host:port` (IPv6 in brackets), or nil for `off`.
    static func metricsAddress(_ text: String) throws -> (String, UInt16)? {
        if text.lowercased() == "off" { return nil }
        guard let colon = text.lastIndex(of: ":"), let port = UInt16(text[text.index(after: colon)...]) else {
            throw ValidationError("--metrics-listen must be host:port (e.g. 127.0.0.1:9464) or off.")
        }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { throw ValidationError("--metrics-listen needs a host, e.g. 127.0.0.1:9464.") }
        return (host, port)
    }

    /// On a database with no users, creates an operator account and prints its one-time password, so the very
    /// first start can be logged into.
    func announceFirstAdmin(_ pool: ConnectionPool) throws {
        let created = try pool.transaction { connection -> String? in
            try connection.query("SELECT pg_advisory_xact_lock(\(Int64(0x736F_6F74_6164)))")
            guard try Accounts.userCount(connection) == 0 else { return nil }
            let created = try Accounts.createUser(connection, email: "admin@localhost", name: "Administrator", password: nil,
                                                  isOperator: true)
            try Audit.record(connection, .commandLine, .userCreate, organization: nil, object: AuditObject("user", created.id, "admin@localhost"),
                             new: [("operator", "true"), ("generated_password", "true")])
            return created.generatedPassword
        }
        guard let password = created else { return }
        print("""

            No users existed, so Soot created one:
              email:    admin@localhost
              password: \(password)
            It is shown only now. Change it with: soot user reset-password --email admin@localhost
            To set up an organization, team, project and tokens in one go: soot bootstrap --help

            """)
    }

    /// A retention setting: a number of days from 1 to 36500, or `forever` (nil).
    static func retentionDays(_ text: String, option: String) throws -> Int? {
        if text.lowercased() == "forever" { return nil }
        guard let days = Int(text), (1...36_500).contains(days) else {
            throw ValidationError("--\(option) must be a number of days from 1 to 36500, or forever.")
        }
        return days
    }
}
