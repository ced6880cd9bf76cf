import Dispatch
import Foundation
import Logging
import Postgres
import Synchronization

/// Group commit for samples posted one at a time (CodeCarbon's `POST /emissions`): requests wait on a queue,
/// writer threads take whatever is waiting (up to `maximumBatch`), write it in one transaction and wake every
/// request of the batch only after COMMIT returned. A 201 therefore always means committed, and many
/// concurrent posts share one fsync.
public final class SampleBatcher: @unchecked Sendable {
    // Safety: `queue` and `stopping` are guarded by `lock`; writer threads own their connections.
    public struct Configuration: Sendable {
        /// Writer threads, each with its own PostgreSQL connection. Default 2.
        public var writers: Int
        /// Most samples in one transaction. Default 1,000.
        public var maximumBatch: Int
        /// Longest a request waits for its commit before answering 503. Default 1.8 s (CodeCarbon's client
        /// gives up after 2 s).
        public var commitTimeout: Double

        public init(writers: Int = 2, maximumBatch: Int = 1000, commitTimeout: Double = 1.8) {
            self.writers = writers
            self.maximumBatch = maximumBatch
            self.commitTimeout = commitTimeout
        }
    }

    final class Pending: @unchecked Sendable {
        // Safety: `result` is written by one writer thread before `done.signal()` and read after `wait`.
        let records: [SampleRecord]
        var result: Result<[Bool], Error>?
        let done = DispatchSemaphore(value: 0)
        init(_ records: [SampleRecord]) { self.records = records }
    }

    private let url: String
    private let configuration: Configuration
    private let logger: Logger
    private let lock = NSCondition()
    private var queue: [Pending] = []
    private var stopping = false
    private var threads: [Thread] = []
    private let running = Atomic<Int>(0)

    public init(url: String, configuration: Configuration = Configuration(), logger: Logger = Logger(label: "soot.ingest")) {
        self.url = url
        self.configuration = configuration
        self.logger = logger
        for index in 0..<max(1, configuration.writers) {
            let thread = Thread { [self] in writerLoop() }
            thread.name = "soot-ingest-\(index)"
            thread.stackSize = 1 << 20
            threads.append(thread)
            running.add(1, ordering: .relaxed)
            thread.start()
        }
    }

    /// Writes the samples durably; returns for each whether it was new. Throws `DatabaseError` (unavailable)
    /// when the database cannot commit in time.
    func write(_ records: [SampleRecord]) throws -> [Bool] {
        let pending = Pending(records)
        lock.lock()
        if stopping {
            lock.unlock()
            throw DatabaseError(.unavailable, message: "the server is shutting down")
        }
        queue.append(pending)
        lock.signal()
        lock.unlock()
        if pending.done.wait(timeout: .now() + configuration.commitTimeout) == .timedOut {
            // The batch may still commit later; the client is told to retry, and a retry with the same client
            // key cannot count twice.
            throw DatabaseError(.unavailable, message: "the database did not commit in time")
        }
        return try pending.result!.get()
    }

    private func takeBatch() -> [Pending]? {
        lock.lock()
        defer { lock.unlock() }
        while queue.isEmpty && !stopping { lock.wait() }
        if queue.isEmpty { return nil }
        var taken: [Pending] = []
        var count = 0
        while let first = queue.first, count == 0 || count + first.records.count <= configuration.maximumBatch {
            taken.append(queue.removeFirst())
            count += first.records.count
        }
        return taken
    }

    private func writerLoop() {
        var connection: DatabaseConnection?
        defer {
            connection?.close()
            running.subtract(1, ordering: .relaxed)
        }
        while let batch = takeBatch() {
            do {
                if connection == nil || !(connection!.isHealthy) {
                    connection?.close()
                    connection = try DatabaseConnection(url: url)
                }
                let results = try commit(batch, on: connection!)
                for (pending, result) in zip(batch, results) {
                    pending.result = result
                    pending.done.signal()
                }
            } catch {
                if let database = error as? DatabaseError, database.isUnavailable {
                    logger.warning("ingest batch failed: database unavailable", metadata: ["error": "\(database.detail ?? database.message)"])
                    connection?.close()
                    connection = nil
                }
                for pending in batch {
                    pending.result = .failure(error)
                    pending.done.signal()
                }
                if connection == nil { usleep(50_000) }
            }
        }
    }

    /// One transaction for the whole batch; if it fails for a reason other than availability, each request is
    /// retried alone so one bad sample (its run deleted meanwhile) does not fail the others.
    private func commit(_ batch: [Pending], on connection: DatabaseConnection) throws -> [Result<[Bool], Error>] {
        let all = batch.flatMap(\.records)
        do {
            let flags = try connection.transaction { try SampleWriter.write($0, all) }
            var offset = 0
            return batch.map { pending in
                defer { offset += pending.records.count }
                return .success(Array(flags[offset..<(offset + pending.records.count)]))
            }
        } catch let error as DatabaseError where !error.isUnavailable && batch.count > 1 {
            return batch.map { pending in
                Result { try connection.transaction { try SampleWriter.write($0, pending.records) } }
            }
        }
    }

    /// Lets queued samples finish, then stops the writers.
    public func stop() {
        lock.lock()
        stopping = true
        lock.broadcast()
        lock.unlock()
        let deadline = Date().addingTimeInterval(5)
        while running.load(ordering: .relaxed) > 0 && Date() < deadline { usleep(5_000) }
    }
}
