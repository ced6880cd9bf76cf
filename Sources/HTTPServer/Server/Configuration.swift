/// Everything the server limits and how long it waits, with documented defaults.
public struct Configuration: Sendable {
    /// Address to bind: "127.0.0.1", "0.0.0.0", "::". Default "127.0.0.1".
    public var host: String
    /// Port to bind; 0 picks a free one (read it back from `Server.port`). Default 8080.
    public var port: UInt16
    /// Event loop threads (epoll instances) that accept, read, parse and write. Default: one per core.
    public var eventLoopThreads: Int
    /// Threads that run blocking handlers (database calls). Default 64.
    public var workerThreads: Int
    /// Request line, header field, header section and header count limits (414 and 431).
    public var parserLimits: RequestParser.Limits
    /// Largest request body for routes that do not set their own: 413 past it. Default 2 MiB.
    public var maximumBodyBytes: Int
    /// Most open connections; past it new connections get a 503 and are closed. Default 16,384.
    public var maximumConnections: Int
    /// Time from a connection's first byte of a request (or from accept) to a complete header section:
    /// 408 and close past it. Default 10 s.
    public var headerTimeout: Double
    /// Time to receive a whole request body once its head is in: 408 and close past it. Default 60 s.
    public var bodyTimeout: Double
    /// How long a request body may stop arriving (no byte read) before the request gets 408 and the connection
    /// closes, whatever is left of `bodyTimeout`. Default 20 s.
    public var bodyStallTimeout: Double
    /// How long a keep-alive connection may sit idle between requests before it is closed. Default 60 s.
    public var idleTimeout: Double
    /// How long a response may wait for the client to read it without progress before the connection is
    /// closed. Default 30 s.
    public var writeTimeout: Double
    /// How long to wait after a final error response, reading and discarding, before closing (so the client
    /// sees the response instead of a reset). Default 2 s.
    public var lingerTimeout: Double
    /// Output waiting for a slow reader past which the connection stops reading further requests. Default 1 MiB.
    public var maximumPendingOutputBytes: Int
    /// Value of the `Server` header; nil sends none. Default nil.
    public var serverName: String?
    /// Prefix of the server's thread names (`<prefix>-loop-0`, `<prefix>-worker-3`), as `top -H` shows them.
    /// At most 6 characters are kept (Linux names threads in 15). Default "http".
    public var threadNamePrefix: String
    /// Header fields added to every response that does not set the same name itself (security headers, a default
    /// `Cache-Control`), formatted once at start. Names must be tokens and values free of control bytes; `Server`
    /// fails to start otherwise. Default none.
    public var responseHeaders: [(name: String, value: String)]
    /// Told of every response as it completes (metrics, an access log of the application's own), on the event
    /// loop's thread: keep it short. Default none.
    public var responseObserver: (@Sendable (CompletedResponse) -> Void)?
    /// Whether the server writes an access line per response through its logger at `info`. Default true; off when
    /// the `responseObserver` keeps its own access log.
    public var logsAccess = true
    /// Whether a request's own `X-Request-Id` is kept, given the peer's address (a trusted proxy's); otherwise
    /// every request gets a new id. Default none: ids are always made here.
    public var trustsRequestID: (@Sendable (String) -> Bool)?

    public init(
        host: String = "127.0.0.1",
        port: UInt16 = 8080,
        eventLoopThreads: Int = max(1, System.coreCount),
        workerThreads: Int = 64,
        parserLimits: RequestParser.Limits = .init(),
        maximumBodyBytes: Int = 2 * 1024 * 1024,
        maximumConnections: Int = 16_384,
        headerTimeout: Double = 10,
        bodyTimeout: Double = 60,
        bodyStallTimeout: Double = 20,
        idleTimeout: Double = 60,
        writeTimeout: Double = 30,
        lingerTimeout: Double = 2,
        maximumPendingOutputBytes: Int = 1024 * 1024,
        serverName: String? = nil,
        threadNamePrefix: String = "http",
        responseHeaders: [(name: String, value: String)] = []
    ) {
        self.host = host
        self.port = port
        self.eventLoopThreads = eventLoopThreads
        self.workerThreads = workerThreads
        self.parserLimits = parserLimits
        self.maximumBodyBytes = maximumBodyBytes
        self.maximumConnections = maximumConnections
        self.headerTimeout = headerTimeout
        self.bodyTimeout = bodyTimeout
        self.bodyStallTimeout = bodyStallTimeout
        self.idleTimeout = idleTimeout
        self.writeTimeout = writeTimeout
        self.lingerTimeout = lingerTimeout
        self.maximumPendingOutputBytes = maximumPendingOutputBytes
        self.serverName = serverName
        self.threadNamePrefix = String(threadNamePrefix.prefix(6))
        self.responseHeaders = responseHeaders
    }
}

/// A response the server finished sending (or gave up on), as `Configuration.responseObserver` sees it.
public struct CompletedResponse: Sendable {
    public let method: HTTPMethod?
    /// The request's path as sent (percent-encoded, secrets and all: redact before writing it anywhere); nil when
    /// no request head was parsed.
    public let path: String?
    /// The client's address.
    public let peer: String
    /// The matched route's pattern (`/o/:org`), never the raw path; nil when no route matched.
    public let route: String?
    public let status: Int
    /// Bytes written for the response (head and body).
    public let bytes: Int
    /// Seconds from the request's head to the end of the response.
    public let seconds: Double
    /// The request's id, as sent in `X-Request-Id`.
    public let requestID: String
    /// The response's `logFields` (the application's: who asked, for which tenant).
    public let fields: [(name: String, value: String)]

    public init(method: HTTPMethod?, path: String?, peer: String, route: String?, status: Int, bytes: Int, seconds: Double,
                requestID: String = "", fields: [(name: String, value: String)] = []) {
        (self.method, self.path, self.peer, self.route, self.status, self.bytes, self.seconds) = (method, path, peer, route, status, bytes, seconds)
        (self.requestID, self.fields) = (requestID, fields)
    }
}

import Glibc

/// Facts about the machine.
public enum System {
    /// Online processor count.
    public static var coreCount: Int { Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))) }
}
