import Foundation
import Logging
import Postgres
import Synchronization

/// A streaming replica that dashboards and exports may read instead of the primary (`DATABASE_READ_URL`).
///
/// A watcher reads the primary's WAL position and the replica's replay position every `interval`. The replica is
/// used when it answered at the last check and its lag, the time since the primary was where the replica is now, is
/// within `maximumLag`; and, for a caller who has just written (`Caller.minimumLSN`, the primary's position after
/// their write), only once the replica has replayed that far: read-your-writes. Otherwise reads go to the primary.
/// The decision reads the watcher's last figures: no query per request.
package final class ReadReplica: Sendable {
    /// The replica's connections for pages, and for exports (beside the primary's report pool).
    package let pool: ConnectionPool
    package let reportPool: ConnectionPool
    let primary: ConnectionPool
    package let maximumLag: Double
    let interval: Double
    private let logger: Logger

    struct State {
        var up = false
        var replayed: UInt64 = 0
        var lag = Double.infinity
        /// The primary's positions at the last checks, oldest first.
        var positions: [(time: Double, lsn: UInt64)] = []
        var reads: (replica: UInt64, primary: UInt64) = (0, 0)
    }

    private let state = Mutex(State())
    private let stopped = Atomic<Bool>(false)

    package init(url: String, primary: ConnectionPool, reportConnections: Int, maximumLag: Double, interval: Double = 0.25,
                 logger: Logger = Logger(label: "soot.replica")) {
        pool = ConnectionPool(url: url, configuration: .init(maximumConnections: primary.configuration.maximumConnections,
                                                             acquireTimeout: primary.configuration.acquireTimeout), logger: logger)
        reportPool = ConnectionPool(url: url, configuration: .init(maximumConnections: reportConnections, acquireTimeout: 1.5), logger: logger)
        self.primary = primary
        self.maximumLag = maximumLag
        self.interval = interval
        self.logger = logger
    }

    /// Starts the watcher (a thread that checks every `interval` until `stop`).
    package func start() {
        let thread = Thread { [self] in
            while !stopped.load(ordering: .relaxed) {
                check()
                Thread.sleep(forTimeInterval: interval)
            }
        }
        thread.name = "soot-replica"
        thread.start()
    }

    package func stop() {
        stopped.store(true, ordering: .relaxed)
        pool.close()
        reportPool.close()
    }

    /// One check: where the primary is, and how far the replica has replayed.
    package func check(now: Double = Date().timeIntervalSince1970) {
        let primaryLSN = (try? primary.query("SELECT pg_current_wal_lsn()::text AS lsn").first?.decode("lsn", as: String.self))
            .flatMap(ReadReplica.parse)
        let replayed = (try? pool.query("SELECT pg_last_wal_replay_lsn()::text AS lsn").first?.decode("lsn", as: String?.self))
            .flatMap { $0 }.flatMap(ReadReplica.parse)
        let wasUp = state.withLock { $0.up }
        state.withLock { state in
            if let primaryLSN {
                state.positions.append((now, primaryLSN))
                if state.positions.count > 4_000 { state.positions.removeFirst(state.positions.count - 4_000) }
            }
            guard let replayed else {
                state.up = false
                state.lag = .infinity
                return
            }
            state.up = true
            state.replayed = replayed
            // The replica holds everything the primary had written at the newest check it has replayed past.
            if let caughtUp = state.positions.last(where: { $0.lsn <= replayed }) {
                state.lag = state.positions.last.map { $0.lsn <= replayed ? 0 : now - caughtUp.time } ?? 0
            } else {
                state.lag = now - (state.positions.first?.time ?? now)
            }
        }
        let isUp = state.withLock { $0.up }
        if wasUp != isUp {
            if isUp { logger.notice("read replica answers; dashboards and exports read it") } else {
                RepeatingLog.database.log(logger, .warning, "read replica does not answer (or is not in recovery); reads go to the primary",
                                          key: "replica-down")
            }
        }
    }

    /// Whether a read for a caller who last wrote at `minimumLSN` may go to the replica now (counted).
    package func serves(minimumLSN: UInt64?) -> Bool {
        state.withLock { state in
            let fresh = state.up && state.lag <= maximumLag && (minimumLSN.map { state.replayed >= $0 } ?? true)
            if fresh { state.reads.replica += 1 } else { state.reads.primary += 1 }
            return fresh
        }
    }

    /// `up`, the lag in seconds, and the reads sent to each side so far.
    package var status: (up: Bool, lag: Double, readsOnReplica: UInt64, readsOnPrimary: UInt64) {
        state.withLock { ($0.up, $0.lag, $0.reads.replica, $0.reads.primary) }
    }

    /// A WAL position as PostgreSQL writes it (`16/B374D848`) as a number; nil for anything else.
    package static func parse(_ text: String) -> UInt64? {
        let parts = text.split(separator: "/")
        guard parts.count == 2, parts[0].count <= 8, parts[1].count <= 8,
              let high = UInt64(parts[0], radix: 16), let low = UInt64(parts[1], radix: 16) else { return nil }
        return high << 32 | low
    }

    /// The text form of a WAL position.
    package static func format(_ lsn: UInt64) -> String {
        String(lsn >> 32, radix: 16, uppercase: true) + "/" + String(lsn & 0xFFFF_FFFF, radix: 16, uppercase: true)
    }
}

extension Store {
    /// The store a read for `caller` should use: on the replica when it is fresh enough and has what the caller last
    /// wrote, this one (the primary) otherwise. Without a replica, this one.
    package func reading(_ caller: Caller) -> Store {
        guard let replica, replica.serves(minimumLSN: caller.minimumLSN) else { return self }
        var store = self
        store.database = replica.pool
        store.replica = nil
        return store
    }

    /// The report queries for `caller`: on the replica's report connections when it may serve them.
    package func reportsReading(_ caller: Caller, primary: Reports) -> Reports {
        guard let replica, replica.serves(minimumLSN: caller.minimumLSN) else { return primary }
        return Reports(database: replica.reportPool)
    }

    /// The primary's WAL position now: given to a caller after a write, so their next reads wait for the replica
    /// to have it.
    package func primaryPosition() throws -> UInt64? {
        try database.query("SELECT pg_current_wal_lsn()::text AS lsn").first.flatMap { ReadReplica.parse(try $0.decode("lsn")) }
    }
}
