import Synchronization

/// Writes a streamed response body. Each `write` may block the calling (worker) thread until the client
/// has taken enough of what was written before; it throws `ResponseBodyWriter.Closed` once the client is gone.
public final class ResponseBodyWriter {
    /// The client went away or the connection was closed while streaming.
    public struct Closed: Error {}

    private let sink: (_ bytes: [UInt8]) throws -> Void
    private var buffer: [UInt8] = []
    /// Bytes collected before a chunk is handed to the connection.
    public let chunkSize: Int
    public private(set) var bytesWritten = 0

    init(chunkSize: Int = 64 * 1024, sink: @escaping (_ bytes: [UInt8]) throws -> Void) {
        self.chunkSize = chunkSize
        self.sink = sink
        buffer.reserveCapacity(chunkSize)
    }

    /// Appends bytes to the body.
    public func write(_ bytes: some Sequence<UInt8>) throws {
        buffer.append(contentsOf: bytes)
        if buffer.count >= chunkSize { try flush() }
    }

    /// Appends UTF-8 text to the body.
    public func write(_ text: String) throws {
        try write(text.utf8)
    }

    /// Hands what is buffered to the connection now.
    public func flush() throws {
        guard !buffer.isEmpty else { return }
        let chunk = buffer
        buffer.removeAll(keepingCapacity: true)
        bytesWritten += chunk.count
        try sink(chunk)
    }
}

/// A response: status, header fields in order (several `Set-Cookie` allowed) and a body.
public struct Response: Sendable {
    /// A response body: bytes with a known length, or a stream sent with chunked encoding.
    public enum Body: Sendable {
        case bytes([UInt8])
        /// Produced on a worker thread as the client reads it.
        case stream(@Sendable (ResponseBodyWriter) throws -> Void)
        /// The real response comes later: the closure gets a promise and completes it from any thread (for
        /// example after a group commit). The status and headers of this placeholder are not sent.
        case deferred(@Sendable (ResponsePromise) -> Void)
    }

    /// A response that `start` completes later through its promise.
    public static func later(_ start: @escaping @Sendable (ResponsePromise) -> Void) -> Response {
        Response(status: .ok, body: .deferred(start))
    }

    public var status: HTTPStatus
    public var headers: HTTPHeaders
    public var body: Body
    /// Fields for the access log and `CompletedResponse` (who asked, for which tenant, ...); never sent.
    public var logFields: [(name: String, value: String)] = []

    public init(status: HTTPStatus = .ok, headers: HTTPHeaders = HTTPHeaders(), body: Body = .bytes([])) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// A response with `bytes` and a content type.
    public init(status: HTTPStatus = .ok, contentType: String, bytes: [UInt8], headers: HTTPHeaders = HTTPHeaders()) {
        var headers = headers
        headers.set("Content-Type", contentType)
        self.init(status: status, headers: headers, body: .bytes(bytes))
    }

    /// `text/plain; charset=utf-8`.
    public static func text(_ text: String, status: HTTPStatus = .ok) -> Response {
        Response(status: status, contentType: "text/plain; charset=utf-8", bytes: Array(text.utf8))
    }

    /// `text/html; charset=utf-8`.
    public static func html(_ html: String, status: HTTPStatus = .ok) -> Response {
        Response(status: status, contentType: "text/html; charset=utf-8", bytes: Array(html.utf8))
    }

    /// `application/json` from already-encoded bytes.
    public static func json(bytes: [UInt8], status: HTTPStatus = .ok) -> Response {
        Response(status: status, headers: jsonHeaders, body: .bytes(bytes))
    }

    /// One shared copy of a JSON answer's fields (copied on write, like any header set a handler changes).
    private static let jsonHeaders: HTTPHeaders = ["Content-Type": "application/json"]

    /// A redirect to `location` (303 by default: after a form post, GET the new page).
    public static func redirect(to location: String, status: HTTPStatus = .seeOther) -> Response {
        var response = Response(status: status)
        response.headers.set("Location", location)
        return response
    }

    /// The byte count of a `.bytes` body, nil for a stream.
    public var contentLength: Int? {
        if case .bytes(let bytes) = body { return bytes.count }
        return nil
    }
}

/// An error that knows the response it becomes. The server turns thrown errors into responses at one place:
/// these answer for themselves, anything else becomes a 500 whose detail goes only to the log.
public protocol HTTPResponseError: Error {
    func response(for request: Request) -> Response
}

/// Completes a deferred response, once, from any thread.
public final class ResponsePromise: Sendable {
    private let completed = Atomic<Bool>(false)
    private let deliver: @Sendable (Response) -> Void

    init(_ deliver: @escaping @Sendable (Response) -> Void) { self.deliver = deliver }

    /// Sends `response`; later calls are ignored.
    public func succeed(_ response: Response) {
        guard !completed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        deliver(response)
    }

    /// Whether a response was already given.
    public var isCompleted: Bool { completed.load(ordering: .acquiring) }
}

/// Thrown by an `inline` handler that finds it would have to block (a cache miss needing the database): the
/// server runs the same handler again on a worker thread, where `Request.onEventLoop` is false.
public struct OffloadToWorker: Error {
    public init() {}
}
