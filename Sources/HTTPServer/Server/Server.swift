import Glibc
import Logging
import Sockets
import Synchronization

/// The HTTP/1.1 server: a listener shared by `eventLoopThreads` epoll loops, plus a worker pool for
/// blocking handlers. `start()` binds and returns; `shutdown(gracePeriod:)` drains and stops.
public final class Server: Sendable {
    enum State {
        case idle
        case running(loops: [EventLoop], threads: [ThreadHandle], listener: ListeningSocket, workers: WorkerPool)
        case stopped
    }

    public let configuration: Configuration
    private let responder: Responder
    private let errorResponder: ErrorResponder
    private let redactPath: @Sendable (String) -> String
    private let translateError: ErrorTranslator?
    private let logger: Logger
    private let state = Mutex<State>(.idle)
    private let boundPort = Atomic<Int>(0)

    /// - Parameters:
    ///   - errorResponder: formats the errors the server itself answers (parse errors, 404, 405, 413, 500).
    ///   - redactPath: hides secrets in paths before they reach the access log.
    ///   - translateError: gives errors a handler throws that are not `HTTPResponseError`s (a lower layer's) the
    ///     response they mean; those it returns nil for are logged and answered with a 500.
    public init(
        configuration: Configuration = Configuration(),
        responder: Responder,
        errorResponder: ErrorResponder? = nil,
        redactPath: (@Sendable (String) -> String)? = nil,
        translateError: ErrorTranslator? = nil,
        logger: Logger = Logger(label: "http.server")
    ) {
        self.translateError = translateError
        self.configuration = configuration
        self.responder = responder
        self.errorResponder = errorResponder ?? ServerCore.defaultErrorResponder
        self.redactPath = redactPath ?? ServerCore.defaultRedactor
        self.logger = logger
    }

    /// Connections open now (0 before `start()` and after shutdown).
    public var openConnections: Int {
        state.withLock { state in
            if case .running(let loops, _, _, _) = state { return loops.first?.core.openConnections.load(ordering: .relaxed) ?? 0 }
            return 0
        }
    }

    /// Keep-alive connections waiting for their next request now.
    public var idleConnections: Int {
        state.withLock { state in
            guard case .running(let loops, _, _, _) = state else { return 0 }
            return loops.reduce(0) { $0 + $1.idleConnections.load(ordering: .relaxed) }
        }
    }

    /// Bytes read from clients since the start (heads and bodies).
    public var bytesRead: UInt64 {
        state.withLock { state in
            guard case .running(let loops, _, _, _) = state else { return 0 }
            return loops.reduce(0) { $0 + $1.bytesRead.load(ordering: .relaxed) }
        }
    }

    /// The bound port (after `start()`; the real one when configured with port 0).
    public var port: UInt16 { UInt16(boundPort.load(ordering: .acquiring)) }

    /// Binds, starts the loops and workers, and returns.
    public func start() throws {
        SocketIO.ignoreSIGPIPE()
        SocketIO.raiseOpenFileLimit()
        try state.withLock { state in
            guard case .idle = state else { throw ServerStateError.alreadyStarted }
            var fixed = HTTPHeaders()
            for (name, value) in configuration.responseHeaders { fixed.add(name, value) }
            guard HeaderValidation.isValid(fixed) else { throw ServerStateError.invalidResponseHeader }
            let listener = try ListeningSocket(host: configuration.host, port: configuration.port)
            let workers = WorkerPool(threads: configuration.workerThreads, namePrefix: configuration.threadNamePrefix)
            let core = ServerCore(
                configuration: configuration, responder: responder, workers: workers,
                errorResponder: errorResponder, redactPath: redactPath, translateError: translateError, logger: logger)
            var loops: [EventLoop] = []
            var threads: [ThreadHandle] = []
            for index in 0..<max(1, configuration.eventLoopThreads) {
                let loop = try EventLoop(index: index, core: core, listener: listener)
                loops.append(loop)
                threads.append(ThreadHandle.spawn(name: "\(configuration.threadNamePrefix)-loop-\(index)") { loop.run() })
            }
            boundPort.store(Int(listener.port), ordering: .releasing)
            state = .running(loops: loops, threads: threads, listener: listener, workers: workers)
            logger.info("listening", metadata: ["host": "\(configuration.host)", "port": "\(listener.port)"])
        }
    }

    /// Stops listening (new connections are refused at once), closes idle connections, lets requests in flight finish for up to `gracePeriod`
    /// seconds, then closes whatever is left and joins every thread. Safe to call more than once.
    public func shutdown(gracePeriod: Double = 10) {
        let taken = state.withLock { state -> ([EventLoop], [ThreadHandle], ListeningSocket, WorkerPool)? in
            guard case .running(let loops, let threads, let listener, let workers) = state else { return nil }
            state = .stopped
            return (loops, threads, listener, workers)
        }
        guard let (loops, threads, listener, workers) = taken else { return }
        logger.info("draining", metadata: ["grace_seconds": "\(gracePeriod)"])
        // Refuse new connections now rather than leave them queued, unread, until the grace period ends.
        listener.stopListening()
        for loop in loops { loop.execute { loop.beginDrain() } }
        let deadline = MonotonicClock.deadline(after: gracePeriod)
        let done = Atomic<Int>(0)
        let joiner = ThreadHandle.spawn(name: "\(configuration.threadNamePrefix)-join") {
            for thread in threads { thread.join() }
            done.store(1, ordering: .releasing)
        }
        while done.load(ordering: .acquiring) == 0 && MonotonicClock.now() < deadline {
            usleep(10_000)
        }
        if done.load(ordering: .acquiring) == 0 {
            logger.warning("grace period over: closing remaining connections")
            for loop in loops { loop.execute { loop.stop() } }
        }
        joiner.join()
        listener.close()
        workers.stop()
        logger.info("stopped")
    }
}

enum ServerStateError: Error, CustomStringConvertible {
    case alreadyStarted
    case invalidResponseHeader
    var description: String {
        switch self {
        case .alreadyStarted: "the server was already started"
        case .invalidResponseHeader: "a configured response header has an invalid name or a control byte in its value"
        }
    }
}
