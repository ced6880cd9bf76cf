/// Carries a streamed response body from the worker producing it to the event loop writing it,
/// with backpressure: `push` blocks while more than `highWater` bytes wait.
final class StreamChannel: @unchecked Sendable {
    // Safety: every mutable property is guarded by `lock`.
    private let lock = ConditionLock()
    private var chunks: [[UInt8]] = []
    private var queuedBytes = 0
    private var finished = false
    private var failed = false
    private var cancelled = false
    let highWater: Int

    init(highWater: Int = 256 * 1024) { self.highWater = highWater }

    /// Queues a chunk; returns true when the queue was empty (the loop needs a nudge).
    func push(_ bytes: [UInt8]) throws -> Bool {
        lock.lock()
        defer { lock.unlock() }
        while queuedBytes > highWater && !cancelled { lock.wait() }
        if cancelled { throw ResponseBodyWriter.Closed() }
        let wasEmpty = chunks.isEmpty
        chunks.append(bytes)
        queuedBytes += bytes.count
        return wasEmpty
    }

    /// The producer is done (successfully or not).
    func finish(failed: Bool) {
        lock.withLock {
            finished = true
            self.failed = failed
        }
    }

    /// The connection is gone: wake and fail the producer.
    func cancel() {
        lock.withLock { cancelled = true }
        lock.broadcast()
    }

    /// Takes the next chunk, or reports the end.
    enum Next { case chunk([UInt8]), empty, end(failed: Bool) }

    func next() -> Next {
        lock.lock()
        defer { lock.unlock() }
        if !chunks.isEmpty {
            let chunk = chunks.removeFirst()
            queuedBytes -= chunk.count
            lock.broadcast()
            return .chunk(chunk)
        }
        return finished ? .end(failed: failed) : .empty
    }
}
