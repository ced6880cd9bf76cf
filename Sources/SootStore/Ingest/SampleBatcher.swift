import Dispatch
import Foundation
import Logging
import Postgres
import Synchronization

/// Group commit for samples posted one at a time (CodeCarbon's `POST /emissions`): requests queue here, writer
/// threads take whatever is waiting (up to `maximumBatch`), write it in one transaction and complete every
/// request of the batch only after COMMIT returned. A 201 therefore always means committed, and many concurrent
/// posts share one fsync. Completion is a callback, so the event loop never waits; a watchdog answers requests
/// whose commit takes longer than `commitTimeout` with "unavailable".
package final class SampleBatcher: @unchecked Sendable {
    // Safety: `queue`, `inFlight` and `stopping` are guarded by `lock`; writer threads own their connections.
    package struct Configuration: Sendable {
        /// Writer threads, each with its own PostgreSQL connection. Default 2.
        package var writers: Int
        /// Most samples in one transaction. Default 1,000.
        package var maximumBatch: Int
        /// Longest a request waits for its commit before it is answered 503. Default 1.8 s (CodeCarbon's client
        /// gives up after 2 s).
        package var commitTimeout: Double
        /// Where the writers connect when not where the pool does: straight to PostgreSQL while the pool goes
        /// through a transaction-mode pooler, so that the writers keep their prepared statements (each connection is
        /// their own for its whole life). Nil: the pool's database, in the process's pooling mode.
        package var directURL: String?

        package init(writers: Int = 2, maximumBatch: Int = 1000, commitTimeout: Double = 1.8) {
            self.writers = writers
            self.maximumBatch = maximumBatch
            self.commitTimeout = commitTimeout
        }
    }

    package final class Pending: Sendable {
        package let records: [SampleRecord]
        package let enqueuedAt: Double
        private let completed = Atomic<Bool>(false)
        private let completion: @Sendable (Result<[Bool], Error>) -> Void

        package init(_ records: [SampleRecord], completion: @escaping @Sendable (Result<[Bool], Error>) -> Void) {
            self.records = records
            self.completion = completion
            enqueuedAt = Date().timeIntervalSince1970
        }

        /// Delivers the result once; later results (a commit that finished after the watchdog answered) are dropped.
        package func finish(_ result: Result<[Bool], Error>) {
            guard !completed.exchange(true, ordering: .acquiringAndReleasing) else { return }
            completion(result)
        }
    }

    private let url: String
    private let configuration: Configuration
    private let logger: Logger
    private let lock = NSCondition()
    /// One queue per writer; a run's samples always go to the same writer, and each writer keeps its own slice
    /// (shard) of the daily rollups, so two writers never update the same run or rollup row (no lock waits, no
    /// deadlocks between them), even when all samples belong to one experiment.
    private var queues: [[Pending]]
    private var inFlight: [Int: [Pending]] = [:]
    private var stopping = false
    private let running = Atomic<Int>(0)
    private let metrics: IngestMetrics?

    package init(url: String, configuration: Configuration = Configuration(), logger: Logger = Logger(label: "soot.ingest"),
                 metrics: IngestMetrics? = nil) {
        self.url = url
        self.configuration = configuration
        self.logger = logger
        self.metrics = metrics
        queues = Array(repeating: [], count: max(1, configuration.writers))
        for index in 0..<max(1, configuration.writers) {
            start(name: "soot-ingest-\(index)") { [self] in writerLoop(index) }
        }
        start(name: "soot-ingest-watch") { [self] in watchdog() }
    }

    private func start(name: String, _ body: @escaping @Sendable () -> Void) {
        let thread = Thread(block: body)
        thread.name = name
        thread.stackSize = 1 << 20
        running.add(1, ordering: .relaxed)
        thread.start()
    }

    /// Queues samples; `completion` gets, for each, whether it was new, or the error (unavailable when the
    /// database cannot commit in time). It runs on a writer or watchdog thread.
    package func submit(_ records: [SampleRecord], completion: @escaping @Sendable (Result<[Bool], Error>) -> Void) {
        let pending = Pending(records, completion: completion)
        lock.lock()
        if stopping {
            lock.unlock()
            pending.finish(.failure(DatabaseError(.unavailable, message: "the server is shutting down")))
            return
        }
        let writer = records.first.map { abs($0.placement.runID.hashValue % queues.count) } ?? 0
        queues[writer].append(pending)
        lock.broadcast()
        lock.unlock()
    }

    /// Blocking form of `submit`, for worker threads.
    package func write(_ records: [SampleRecord]) throws -> [Bool] {
        let done = DispatchSemaphore(value: 0)
        let box = ResultBox()
        submit(records) { result in
            box.result = result
            done.signal()
        }
        done.wait()
        return try box.result!.get()
    }

    package final class ResultBox: @unchecked Sendable {
        // Safety: written once before the semaphore is signalled, read after the wait.
        package var result: Result<[Bool], Error>?
    }

    private func takeBatch(for writer: Int) -> [Pending]? {
        lock.lock()
        defer { lock.unlock() }
        while queues[writer].isEmpty && !stopping { lock.wait() }
        if queues[writer].isEmpty { return nil }
        var taken: [Pending] = []
        var count = 0
        var index = 0
        let queue = queues[writer]
        while index < queue.count, count == 0 || count + queue[index].records.count <= configuration.maximumBatch {
            taken.append(queue[index])
            count += queue[index].records.count
            index += 1
        }
        queues[writer].removeFirst(index)
        inFlight[writer] = taken
        return taken
    }

    /// Samples waiting in the queues (not those being committed).
    package var queuedSamples: Int {
        lock.lock()
        defer { lock.unlock() }
        return queues.reduce(0) { $0 + $1.reduce(0) { $0 + $1.records.count } }
    }

    private func finished(_ writer: Int) {
        lock.lock()
        inFlight[writer] = nil
        lock.unlock()
    }

    private func writerLoop(_ me: Int) {
        var connection: DatabaseConnection?
        defer {
            connection?.close()
            running.subtract(1, ordering: .relaxed)
        }
        while let batch = takeBatch(for: me) {
            do {
                if connection == nil || !(connection!.isHealthy) {
                    connection?.close()
                    connection = try DatabaseConnection(url: configuration.directURL ?? url,
                                                        pooling: configuration.directURL == nil ? DatabasePooling.mode : .session)
                    // Every row these statements touch is addressed by its key. Costing a small `runs` table by its
                    // page count, the planner would rather scan it whole on every batch, and under ingest that table
                    // is full of dead row versions (each batch updates its runs): 5-10 % of PostgreSQL's time.
                    // (Not through a transaction-mode pooler: the setting would stay on a server connection others use.)
                    if connection!.pooling == .session { try connection!.execute("SET enable_seqscan = off") }
                }
                let started = Date().timeIntervalSince1970
                let results = try commit(batch, on: connection!, shard: me)
                finished(me)
                if let metrics {
                    metrics.commitSeconds.observe(Date().timeIntervalSince1970 - started)
                    metrics.batchSamples.observe(Double(batch.reduce(0) { $0 + $1.records.count }))
                    for (pending, result) in zip(batch, results) {
                        if case .success(let written) = result { metrics.committed(pending.records, written: written, path: "codecarbon_emissions") }
                    }
                }
                for (pending, result) in zip(batch, results) { pending.finish(result) }
            } catch {
                finished(me)
                metrics?.failedBatches.add()
                if let database = error as? DatabaseError, database.isUnavailable {
                    RepeatingLog.database.log(logger, .warning, "ingest batch failed: database unavailable",
                                              key: "ingest:\(database.sqlState ?? "")",
                                              metadata: ["sqlstate": "\(database.sqlState ?? "")", "error": "\(database.message)"])
                    connection?.close()
                    connection = nil
                }
                for pending in batch { pending.finish(.failure(error)) }
                if connection == nil { usleep(50_000) }
            }
        }
    }

    /// Answers requests that waited longer than the commit timeout, queued or in flight.
    private func watchdog() {
        defer { running.subtract(1, ordering: .relaxed) }
        while true {
            usleep(100_000)
            let now = Date().timeIntervalSince1970
            let limit = now - configuration.commitTimeout
            lock.lock()
            if stopping && queues.allSatisfy(\.isEmpty) && inFlight.isEmpty {
                lock.unlock()
                return
            }
            var expiredQueued: [Pending] = []
            for index in queues.indices {
                let expired = queues[index].filter { $0.enqueuedAt < limit }
                if !expired.isEmpty {
                    expiredQueued += expired
                    queues[index].removeAll { $0.enqueuedAt < limit }
                }
            }
            let expiredInFlight = inFlight.values.flatMap { $0 }.filter { $0.enqueuedAt < limit }
            lock.unlock()
            for pending in expiredQueued + expiredInFlight {
                // The batch may still commit later; the client is told to retry, and a retry carrying a client
                // key cannot count twice.
                pending.finish(.failure(DatabaseError(.unavailable, message: "the database did not commit in time")))
            }
        }
    }

    /// One transaction for the whole batch; if it fails for a reason other than availability, each request is
    /// retried alone so one bad sample (its run deleted meanwhile) does not fail the others.
    private func commit(_ batch: [Pending], on connection: DatabaseConnection, shard: Int) throws -> [Result<[Bool], Error>] {
        let all = batch.flatMap(\.records)
        do {
            // One statement, committed on its own: a single round trip for the whole batch.
            let flags = try SampleWriter.write(connection, all, shard: shard)
            var offset = 0
            return batch.map { pending in
                defer { offset += pending.records.count }
                return .success(Array(flags[offset..<(offset + pending.records.count)]))
            }
        } catch let error as DatabaseError where !error.isUnavailable && batch.count > 1 {
            return batch.map { pending in
                Result { try SampleWriter.write(connection, pending.records, shard: shard) }
            }
        }
    }

    /// Lets queued samples finish, then stops the writers.
    package func stop() {
        lock.lock()
        stopping = true
        lock.broadcast()
        lock.unlock()
        let deadline = Date().addingTimeInterval(5)
        while running.load(ordering: .relaxed) > 0 && Date() < deadline { usleep(5_000) }
    }
}
