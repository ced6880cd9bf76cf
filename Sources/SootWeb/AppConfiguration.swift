import Foundation
import SootStore

/// Settings of the Soot application itself (the HTTP server has its own `Configuration`).
package struct AppConfiguration: Sendable {
    /// Folder served under `/static/` (the stylesheet, icons). Default `Public` beside the working directory.
    package var publicDirectory: URL
    /// Mark cookies `Secure` (set when Soot is served over HTTPS, directly or behind a proxy). Default false.
    package var secureCookies: Bool
    /// Proxies whose `X-Forwarded-For` (the client's address, for sign-in throttling and sessions) and
    /// `X-Forwarded-Proto` (HTTPS, for `Secure` cookies) are believed. Default none: the peer is the client.
    package var trustedProxies: TrustedProxies = .none
    /// How long a login session lasts without use, in seconds. Default 14 days.
    package var sessionLifetime: Double
    /// Connections of their own for exports and imports, and how many one caller may run at once.
    package var reports = ReportCapacity.Configuration()
    /// Group commit of ingested samples (writers, batch size, commit timeout).
    package var ingest: SampleBatcher.Configuration = .init()
    /// Serve `GET /bench/hello` and `POST /bench/emissions`, the two routes the HTTP benchmark runs against Soot and
    /// its peers. Off by default.
    package var benchmarkRoutes = false
    /// Days the audit trail keeps its entries (pruned at start and every hour); nil keeps them for ever. Default 365.
    package var auditRetentionDays: Int? = 365
    /// Budget alerts and their webhook deliveries.
    package var alerts = AlertConfiguration()
    /// Samples older than this many days are folded into one per run and hour (nil: kept as sent).
    package var sampleRetentionDays: Int? = nil
    /// Label the ingested energy and emissions counters by project as well as team (one series per project).
    package var metricsProjectLabels = false
    /// A streaming replica for dashboards and exports (`DATABASE_READ_URL`), and the most it may lag, in seconds.
    package var readURL: String?
    package var replicaMaximumLag: Double = 10

    package init(
        publicDirectory: URL = URL(fileURLWithPath: "Public"),
        secureCookies: Bool = false,
        sessionLifetime: Double = 14 * 24 * 3600
    ) {
        self.publicDirectory = publicDirectory
        self.secureCookies = secureCookies
        self.sessionLifetime = sessionLifetime
    }
}

/// How budgets are checked and alerts delivered.
package struct AlertConfiguration: Sendable {
    /// Seconds between two checks of every budget against the committed rollups (not per request).
    package var checkInterval: Double = 15
    /// Seconds between two looks for due deliveries.
    package var sendInterval: Double = 1
    /// The first retry's delay in seconds; each next one doubles, to an hour at most.
    package var retryBase: Double = 10
    /// A delivery still failing after this many seconds is given up and its webhook marked failing.
    package var giveUpAfter: Double = 86_400
    /// How long one delivery may take, connection to answer.
    package var timeout: Double = 10
    /// Soot's address as people reach it (`https://soot.example.com`), for the links in alerts; nil: paths only.
    package var publicURL: String?

    package init() {}
}
