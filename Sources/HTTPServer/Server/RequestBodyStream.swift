/// A request body delivered to its handler as it arrives (routes with `RouteOptions.streamsBody`): the handler
/// runs on a worker as soon as the head is in, can answer (a 401, say) without reading the body at all, and reads
/// the body in parts with `read()`. The connection stops reading from the socket while more than `highWater`
/// bytes wait here, so a large upload takes a bounded amount of memory however large it is.
public final class RequestBodyStream: @unchecked Sendable {
    // Safety: every mutable property is guarded by `lock`.
    private let lock = ConditionLock()
    private var parts: [[UInt8]] = []
    private var queuedBytes = 0
    private var finished = false
    private var failure: String?
    /// Bytes waiting past which the connection pauses reading.
    let highWater: Int
    /// Called (on the reading thread) after a part is taken, so the connection can resume.
    private let consumed: @Sendable () -> Void
    /// Called (on the reading thread) the first time the handler reads: the client may be waiting for
    /// `100 Continue` before it sends the body.
    private let wanted: @Sendable () -> Void
    private var asked = false

    /// The body did not arrive whole: the client went away, sent something malformed or too large, or stalled.
    public struct Interrupted: Error, CustomStringConvertible {
        public let description: String
    }

    init(highWater: Int = 256 * 1024, wanted: @escaping @Sendable () -> Void, consumed: @escaping @Sendable () -> Void) {
        self.highWater = highWater
        self.wanted = wanted
        self.consumed = consumed
    }

    /// The next part of the body, waiting for it; nil once the body is complete. Throws `Interrupted` when the
    /// body will not complete.
    public func read() throws -> [UInt8]? {
        lock.lock()
        if !asked {
            asked = true
            lock.unlock()
            wanted()
            lock.lock()
        }
        while parts.isEmpty && !finished && failure == nil { lock.wait() }
        if let failure {
            lock.unlock()
            throw Interrupted(description: failure)
        }
        guard !parts.isEmpty else {
            lock.unlock()
            return nil
        }
        let part = parts.removeFirst()
        queuedBytes -= part.count
        lock.unlock()
        consumed()
        return part
    }

    /// Reads the rest of the body into memory (for bodies a handler needs whole, up to the route's limit).
    public func readAll() throws -> [UInt8] {
        var body: [UInt8] = []
        while let part = try read() { body += part }
        return body
    }

    /// Queues a part; returns the bytes now waiting.
    func push(_ part: [UInt8]) -> Int {
        lock.lock()
        defer { lock.unlock() }
        if !part.isEmpty && failure == nil {
            parts.append(part)
            queuedBytes += part.count
            lock.signal()
        }
        return queuedBytes
    }

    /// Bytes waiting to be read.
    var waiting: Int { lock.withLock { queuedBytes } }

    /// The body is complete.
    func finish() {
        lock.withLock { finished = true }
        lock.broadcast()
    }

    /// The body will not complete; the reader's next `read()` throws.
    func fail(_ reason: String) {
        lock.withLock {
            if !finished && failure == nil { failure = reason }
        }
        lock.broadcast()
    }
}
