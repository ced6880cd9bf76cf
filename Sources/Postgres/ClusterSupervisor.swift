import Foundation
import Logging
import Synchronization

/// Watches the embedded cluster a server uses and starts it again when its postmaster dies (`kill -9`, an
/// immediate shutdown, a crash after a full disk), with a backoff between tries, so the server serves again by
/// itself. Connections broken by the crash are replaced by the pool and the ingest writers on their next use.
public final class ClusterSupervisor: Sendable {
    /// How often to look, and how long to wait between failed starts.
    public struct Configuration: Sendable {
        /// Seconds between two looks at the postmaster. Default 1.
        public var checkInterval: Double = 1
        /// First wait after a failed start, doubled after each further failure. Default 1 s.
        public var initialBackoff: Double = 1
        /// Longest wait between two tries. Default 30 s.
        public var maximumBackoff: Double = 30

        public init() {}
    }

    private let cluster: EmbeddedPostgres
    private let configuration: Configuration
    private let logger: Logger
    private let stopping = Atomic<Bool>(false)
    private let finished = Atomic<Bool>(false)
    /// Restarts done so far.
    public let restarts = Atomic<Int>(0)

    public init(cluster: EmbeddedPostgres, configuration: Configuration = Configuration(), logger: Logger = Logger(label: "postgres.cluster")) {
        self.cluster = cluster
        self.configuration = configuration
        self.logger = logger
    }

    /// Starts watching on a thread of its own.
    public func start() {
        let thread = Thread { [self] in
            watch()
            finished.store(true, ordering: .releasing)
        }
        thread.name = "cluster-supervisor"
        thread.start()
    }

    /// Stops watching (before the server stops the cluster on purpose) and waits for the thread to end.
    public func stop() {
        stopping.store(true, ordering: .releasing)
        let deadline = Date().addingTimeInterval(configuration.checkInterval + 65)
        while !finished.load(ordering: .acquiring) && Date() < deadline { usleep(10_000) }
    }

    private func sleep(_ seconds: Double) {
        let deadline = Date().addingTimeInterval(seconds)
        while !stopping.load(ordering: .acquiring) && Date() < deadline { usleep(50_000) }
    }

    private func watch() {
        var backoff = configuration.initialBackoff
        var downSince: Date?
        while !stopping.load(ordering: .acquiring) {
            sleep(configuration.checkInterval)
            if stopping.load(ordering: .acquiring) { return }
            if cluster.isRunning() {
                backoff = configuration.initialBackoff
                continue
            }
            if downSince == nil {
                downSince = Date()
                logger.error("embedded PostgreSQL is down; starting it again", metadata: ["folder": "\(cluster.folder.path)"])
            }
            do {
                if try cluster.restartIfDown() {
                    restarts.add(1, ordering: .relaxed)
                    let seconds = Date().timeIntervalSince(downSince ?? Date())
                    logger.notice("embedded PostgreSQL is back", metadata: ["down_seconds": "\(String(format: "%.1f", seconds))"])
                }
                downSince = nil
                backoff = configuration.initialBackoff
            } catch {
                logger.error("embedded PostgreSQL did not start; trying again", metadata: [
                    "retry_in_seconds": "\(backoff)", "error": "\(String(describing: error).suffix(500))",
                ])
                sleep(backoff)
                backoff = min(configuration.maximumBackoff, backoff * 2)
            }
        }
    }
}
