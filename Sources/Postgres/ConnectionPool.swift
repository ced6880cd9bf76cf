import Foundation
import Logging
import Synchronization

/// A bounded pool of connections. A caller waits at most `acquireTimeout` for one, so a database that is down
/// answers quickly (as `.unavailable` / `.poolTimeout`) instead of hanging. Broken connections are dropped and
/// replaced on the next checkout, so the pool recovers by itself after a PostgreSQL restart.
public final class ConnectionPool: Sendable {
    /// Pool limits and waits.
    public struct Configuration: Sendable {
        /// Most open connections. Default 16.
        public var maximumConnections: Int
        /// Longest wait for a free connection, in seconds. Default 1.5 (below CodeCarbon's 2 s client timeout).
        public var acquireTimeout: Double
        /// After a failed connect, how long new connects are not attempted (each caller fails fast). Default 0.25 s.
        public var reconnectBackoff: Double

        public init(maximumConnections: Int = 16, acquireTimeout: Double = 1.5, reconnectBackoff: Double = 0.25) {
            self.maximumConnections = maximumConnections
            self.acquireTimeout = acquireTimeout
            self.reconnectBackoff = reconnectBackoff
        }
    }

    struct State {
        var idle: [DatabaseConnection] = []
        var open = 0
        var waiters = 0
        var lastConnectFailure: Date?
        var closed = false
        var statistics = Statistics()
    }

    /// What the pool has done since it was made, for metrics.
    public struct Statistics: Sendable, Equatable {
        /// Checkouts that found no free connection and waited, and the seconds they waited in all.
        public var waits: UInt64 = 0
        public var waitSeconds: Double = 0
        /// Waits that ended without a connection (`.poolTimeout`).
        public var timeouts: UInt64 = 0
        /// Connections opened, and connects that failed.
        public var connects: UInt64 = 0
        public var connectFailures: UInt64 = 0
        /// Connections found broken (at checkout or checkin) and dropped, to be replaced by a new one.
        public var dropped: UInt64 = 0
    }

    /// The pool's counters so far.
    public var statistics: Statistics { state.withLock { $0.statistics } }

    public let url: String
    public let configuration: Configuration
    private let state = Mutex(State())
    private let available = NSCondition()
    private let logger: Logger

    public init(url: String, configuration: Configuration = Configuration(), logger: Logger = Logger(label: "postgres.pool")) {
        self.url = url
        self.configuration = configuration
        self.logger = logger
    }

    /// Runs `body` with a connection checked out exclusively for it.
    @discardableResult
    public func withConnection<T>(_ body: (DatabaseConnection) throws -> T) throws -> T {
        let connection = try checkout()
        do {
            let value = try body(connection)
            checkin(connection)
            return value
        } catch {
            checkin(connection)
            throw error
        }
    }

    /// Runs `body` in a transaction on a pooled connection.
    ///
    /// Refused as read-only (25006), it runs once more on a new connection: the refusal wrote nothing, and a
    /// connection opened while the database was read-only keeps that default after the database takes writes
    /// again (the refused connection and the idle ones are replaced at checkin), so the first write after the
    /// spell succeeds instead of meeting every stale connection in turn.
    @discardableResult
    public func transaction<T>(_ body: (DatabaseConnection) throws -> T) throws -> T {
        do {
            return try withConnection { try $0.transaction(body) }
        } catch let error as DatabaseError where error.sqlState == "25006" {
            return try withConnection { try $0.transaction(body) }
        }
    }

    /// One statement on a pooled connection (tried once more on a new connection when refused as read-only,
    /// as `transaction` is).
    @discardableResult
    public func query(_ query: SQLQuery) throws -> QueryResult {
        do {
            return try withConnection { try $0.query(query) }
        } catch let error as DatabaseError where error.sqlState == "25006" {
            return try withConnection { try $0.query(query) }
        }
    }

    private enum Step { case use(DatabaseConnection), connect, wait, fail(DatabaseError) }

    func checkout() throws(DatabaseError) -> DatabaseConnection {
        let deadline = Date().addingTimeInterval(configuration.acquireTimeout)
        var waitStarted: Date?
        defer {
            if let waitStarted {
                let waited = Date().timeIntervalSince(waitStarted)
                state.withLock {
                    $0.statistics.waits += 1
                    $0.statistics.waitSeconds += waited
                }
            }
        }
        while true {
            let step = state.withLock { state -> Step in
                if state.closed { return .fail(DatabaseError(.unavailable, message: "the pool is closed")) }
                if let connection = state.idle.popLast() { return .use(connection) }
                if state.open < configuration.maximumConnections {
                    if let failure = state.lastConnectFailure,
                       Date().timeIntervalSince(failure) < configuration.reconnectBackoff {
                        return .fail(DatabaseError(.unavailable, message: "the database is unavailable"))
                    }
                    state.open += 1
                    return .connect
                }
                return .wait
            }
            switch step {
            case .use(let connection):
                if connection.probe() { return connection }
                discard(connection)
            case .connect:
                do {
                    let connection = try DatabaseConnection(url: url)
                    state.withLock {
                        $0.lastConnectFailure = nil
                        $0.statistics.connects += 1
                    }
                    return connection
                } catch {
                    state.withLock {
                        $0.open -= 1
                        $0.lastConnectFailure = Date()
                        $0.statistics.connectFailures += 1
                    }
                    available.broadcast()
                    RepeatingLog.database.log(logger, .warning, "database connect failed", key: "connect",
                                              metadata: ["error": "\(error.detail ?? error.message)"])
                    throw error
                }
            case .wait:
                if waitStarted == nil { waitStarted = Date() }
                available.lock()
                let timedOut = !available.wait(until: deadline)
                available.unlock()
                if timedOut && Date() >= deadline {
                    state.withLock { $0.statistics.timeouts += 1 }
                    throw DatabaseError(.poolTimeout, message: "no database connection became free in time")
                }
            case .fail(let error):
                throw error
            }
        }
    }

    func checkin(_ connection: DatabaseConnection) {
        if connection.mustReconnect {
            // The server refused for a reason of its own (read-only, out of disk or memory): the idle connections
            // were opened in the same spell and may carry it too. All of them are replaced.
            discard(connection)
            let idle = state.withLock { state -> [DatabaseConnection] in
                let idle = state.idle
                state.idle = []
                return idle
            }
            for other in idle { discard(other) }
            return
        }
        if !connection.isHealthy || connection.inTransaction {
            if connection.isHealthy { _ = try? connection.execute("ROLLBACK") }
            if !connection.isHealthy || connection.inTransaction {
                discard(connection)
                return
            }
        }
        connection.idleSince = Date().timeIntervalSince1970
        let keep = state.withLock { state -> Bool in
            if state.closed { return false }
            state.idle.append(connection)
            return true
        }
        if !keep { discard(connection) }
        available.lock()
        available.signal()
        available.unlock()
    }

    private func discard(_ connection: DatabaseConnection) {
        connection.close()
        state.withLock {
            $0.open -= 1
            if !$0.closed { $0.statistics.dropped += 1 }
        }
        available.lock()
        available.signal()
        available.unlock()
    }

    /// Drops idle connections whose socket is broken (after a restart), so the next checkout reconnects.
    public func dropBrokenConnections() {
        let broken = state.withLock { state -> [DatabaseConnection] in
            let (bad, good) = (state.idle.filter { !$0.isHealthy }, state.idle.filter { $0.isHealthy })
            state.idle = good
            return bad
        }
        for connection in broken { discard(connection) }
    }

    /// Closes every idle connection and refuses further checkouts.
    public func close() {
        let idle = state.withLock { state -> [DatabaseConnection] in
            state.closed = true
            let idle = state.idle
            state.idle = []
            state.open -= idle.count
            return idle
        }
        for connection in idle { connection.close() }
        available.broadcast()
    }

    /// Open connections (idle and checked out).
    public var openConnections: Int { state.withLock { $0.open } }

    /// Connections checked out now, and callers waiting for one.
    public var usage: (inUse: Int, waiting: Int) { state.withLock { ($0.open - $0.idle.count, $0.waiters) } }
}
