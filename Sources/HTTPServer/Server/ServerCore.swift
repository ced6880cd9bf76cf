import Logging
import Synchronization

/// Server-made error responses (400 from the parser, 404, 405, 413, 500 ...), formatted by the application.
/// `requestID` is the request's `X-Request-Id` (an error page shows it, so a person can quote it).
public typealias ErrorResponder = @Sendable (_ status: HTTPStatus, _ message: String, _ head: RequestHead?, _ requestID: String) -> Response

/// The response an error from below the application means (a database error), or nil when it has none.
public typealias ErrorTranslator = @Sendable (any Error) -> (any HTTPResponseError)?

/// What every event loop shares: immutable settings plus the connection counter.
final class ServerCore: Sendable {
    let configuration: Configuration
    let responder: Responder
    let workers: WorkerPool
    let errorResponder: ErrorResponder
    let redactPath: @Sendable (String) -> String
    let translateError: ErrorTranslator?
    let logger: Logger
    let openConnections = Atomic<Int>(0)
    /// The timeouts in the form connections use them.
    let timerLimits: ConnectionTimers.Limits
    /// Serialises responses, with the `Server` line and default headers formatted once.
    let writer: ResponseWriter

    init(
        configuration: Configuration, responder: Responder, workers: WorkerPool,
        errorResponder: @escaping ErrorResponder, redactPath: @escaping @Sendable (String) -> String,
        translateError: ErrorTranslator? = nil, logger: Logger
    ) {
        self.translateError = translateError
        self.configuration = configuration
        timerLimits = ConnectionTimers.Limits(configuration)
        writer = ResponseWriter(serverName: configuration.serverName, defaultHeaders: configuration.responseHeaders)
        self.responder = responder
        self.workers = workers
        self.errorResponder = errorResponder
        self.redactPath = redactPath
        self.logger = logger
    }

    /// Runs a handler, turning what it throws into a response: `HTTPResponseError`s answer for themselves,
    /// anything else is logged and answered with a generic 500.
    func invoke(_ handler: Handler, _ request: Request) -> Response {
        do {
            return try handler(request)
        } catch is OffloadToWorker {
            logger.error("a handler asked to be offloaded from a worker thread", metadata: ["path": "\(redactPath(request.path))"])
            return errorResponder(.internalServerError, "Something went wrong on our side.", request.head, request.id)
        } catch let error as HTTPResponseError {
            return error.response(for: request)
        } catch {
            if let translated = translateError?(error) { return translated.response(for: request) }
            logger.error("handler failed", metadata: [
                "method": "\(request.method)", "path": "\(redactPath(request.path))", "error": "\(String(reflecting: error))",
            ])
            return errorResponder(.internalServerError, "Something went wrong on our side.", request.head, request.id)
        }
    }

    /// Runs an inline handler on the event loop; nil when it asked to be offloaded to a worker.
    func invokeInline(_ handler: Handler, _ request: Request) -> Response? {
        var request = request
        request.onEventLoop = true
        do {
            return try handler(request)
        } catch is OffloadToWorker {
            return nil
        } catch {
            request.onEventLoop = false
            return invoke({ _ in throw error }, request)
        }
    }

    /// The default error format: JSON `{"error":{"code","message"}}` for API-looking requests, plain text otherwise.
    static let defaultErrorResponder: ErrorResponder = { status, message, head, _ in
        let wantsJSON = head.map { $0.path.hasPrefix("/api") || ($0.headers["Accept"]?.contains("json") ?? false) } ?? false
        if wantsJSON {
            let body = "{\"error\":{\"code\":\"\(status.code)\",\"message\":\(JSONText.quote(message))}}"
            return .json(bytes: Array(body.utf8), status: status)
        }
        return .text("\(status.code) \(status.reason): \(message)\n", status: status)
    }

    /// Hides secrets in logged paths: values of query items that look like credentials.
    static let defaultRedactor: @Sendable (String) -> String = { $0 }
}
