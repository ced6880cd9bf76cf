import Glibc
import Logging
import Sockets
import Synchronization

/// One epoll thread: accepts from the shared listener, reads, parses, runs inline handlers and writes.
/// Connections it accepted stay with it for their whole life.
final class EventLoop: @unchecked Sendable {
    // Safety: everything but `inbox` and `wake` is touched only on the loop's own thread (inside `run`);
    // other threads reach the loop only through `execute`, which locks `inbox` and signals `wake`.
    let index: Int
    let core: ServerCore
    let poll: EventPoll
    let wake: WakeSignal
    private let inbox = Mutex<[@Sendable () -> Void]>([])
    /// This loop's keep-alive connections waiting for a next request, and the bytes it has read: written only by
    /// the loop (no contention), read by `Server` for metrics.
    let idleConnections = Atomic<Int>(0)
    let bytesRead = Atomic<UInt64>(0)
    private let listener: ListeningSocket
    private var listening = true

    var connections: [Connection?] = []
    private(set) var connectionCount = 0
    var date = HTTPDate()
    /// Shared read buffer: bytes land here first and are copied into a connection only if left unparsed.
    var scratch: UnsafeMutableRawBufferPointer
    private(set) var draining = false
    private var stopNow = false
    private var lastSweep: UInt64 = 0

    static let listenerToken: UInt64 = 0
    static let wakeToken: UInt64 = 1

    init(index: Int, core: ServerCore, listener: ListeningSocket) throws(SocketError) {
        self.index = index
        self.core = core
        self.listener = listener
        poll = try EventPoll(capacity: 1024)
        wake = try WakeSignal()
        scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1024, alignment: 16)
        try poll.add(wake.descriptor, interest: EventPoll.input | EventPoll.edgeTriggered, token: EventLoop.wakeToken)
        try poll.add(listener.descriptor, interest: EventPoll.input | EventPoll.exclusive, token: EventLoop.listenerToken)
    }

    deinit { scratch.deallocate() }

    /// Runs `job` on the loop thread soon. Safe from any thread.
    func execute(_ job: @escaping @Sendable () -> Void) {
        let wasEmpty = inbox.withLock { jobs in
            jobs.append(job)
            return jobs.count == 1
        }
        if wasEmpty { wake.signal() }
    }

    /// The loop body; returns once draining has closed every connection, or `stop` forced it.
    func run() {
        while !stopNow {
            if draining && connectionCount == 0 { break }
            do {
                try poll.wait(timeoutMilliseconds: 250) { ready in
                    switch ready.token {
                    case EventLoop.listenerToken: acceptConnections()
                    case EventLoop.wakeToken: runInbox()
                    default:
                        let fd = Int(ready.token - 2)
                        guard fd < connections.count, let connection = connections[fd] else { return }
                        connection.onReady(readable: ready.readable, writable: ready.writable, hangUp: ready.hangUp)
                    }
                }
            } catch {
                core.logger.critical("event loop failed", metadata: ["error": "\(error)"])
                break
            }
            let now = MonotonicClock.now()
            if now &- lastSweep > 200_000_000 {
                lastSweep = now
                sweep(now: now)
            }
        }
        for case let connection? in connections { connection.close() }
    }

    private func runInbox() {
        wake.drain()
        while true {
            let jobs = inbox.withLock { jobs -> [@Sendable () -> Void] in
                let taken = jobs
                jobs.removeAll(keepingCapacity: true)
                return taken
            }
            if jobs.isEmpty { return }
            for job in jobs { job() }
        }
    }

    private func acceptConnections() {
        guard listening else { return }
        for _ in 0..<64 {
            guard let (fd, peer) = listener.accept() else { return }
            let open = core.openConnections.add(1, ordering: .relaxed).newValue
            if open > core.configuration.maximumConnections {
                core.openConnections.subtract(1, ordering: .relaxed)
                let refusal = Array("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nRetry-After: 1\r\nConnection: close\r\n\r\n".utf8)
                refusal.withUnsafeBytes { _ = SocketIO.write(fd, $0) }
                SocketIO.close(fd)
                core.logger.warning("connection refused: too many open connections", metadata: ["peer": "\(peer)"])
                continue
            }
            SocketIO.setNoDelay(fd)
            let connection = Connection(fd: fd, peer: peer, loop: self)
            let slot = Int(fd)
            if slot >= connections.count {
                connections.append(contentsOf: repeatElement(nil, count: slot - connections.count + 1 + 64))
            }
            connections[slot] = connection
            connectionCount += 1
            do {
                try poll.add(fd, interest: EventPoll.input | EventPoll.output | EventPoll.peerClosed | EventPoll.edgeTriggered,
                             token: UInt64(fd) + 2)
            } catch {
                core.logger.error("could not watch a connection", metadata: ["error": "\(error)"])
                connection.close()
                continue
            }
            connection.start()
        }
    }

    /// Called by a connection as it closes.
    func forget(_ connection: Connection) {
        let slot = Int(connection.fd)
        if slot < connections.count, connections[slot] === connection {
            connections[slot] = nil
            connectionCount -= 1
            core.openConnections.subtract(1, ordering: .relaxed)
        }
    }

    private func sweep(now: UInt64) {
        for case let connection? in connections { connection.checkDeadlines(now: now) }
    }

    /// Stops accepting; closes idle connections; the others close after their current response.
    func beginDrain() {
        draining = true
        if listening {
            listening = false
            poll.remove(listener.descriptor)
        }
        for case let connection? in connections { connection.drain() }
    }

    /// Ends the loop at its next turn, closing every connection.
    func stop() { stopNow = true }
}
