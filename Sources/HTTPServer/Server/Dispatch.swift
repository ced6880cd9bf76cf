/// What the server does with a request, decided from its head and its route alone: pure functions, so each rule
/// (RFC 9110 and 9112's, and ours) is tested without a socket. `Connection` carries the decisions out.
enum Dispatch {
    /// A request refused before its handler: an error status and message, closing the connection unless the
    /// request had no body to skip (`keepIfNoBody`), so the byte stream never desynchronises.
    struct Refusal: Sendable, Equatable {
        var status: HTTPStatus
        var message: String
        var keepIfNoBody = false
        var allow: [HTTPMethod]? = nil
    }

    /// What to do once a head is parsed.
    enum HeadAction: Sendable {
        case refuse(Refusal)
        /// A `streamsBody` route: its handler starts now and reads the body as it arrives.
        case streamBody(Route, parameters: [String: String], bodyLimit: Int)
        /// Read the body (up to `bodyLimit`) before dispatching; `sendContinue`: answer `Expect: 100-continue` first.
        case readBody(bodyLimit: Int, sendContinue: Bool)
        /// No body: the parser's next event is the (empty) body, and the request is dispatched then.
        case noBody(bodyLimit: Int)
    }

    /// What to do with a whole request.
    enum RequestAction: Sendable {
        /// Run the route's handler (inline or on a worker, as its options say).
        case run(Route, parameters: [String: String])
        /// `OPTIONS` on a path or on `*`: 204 with the methods allowed.
        case options(allow: [HTTPMethod])
        /// An error the server answers itself (404, 405 with `Allow`, 400 for a bad path).
        case refuse(Refusal)
    }

    /// The methods `OPTIONS *` lists.
    static let serverMethods: [HTTPMethod] = [.delete, .get, .head, .options, .patch, .post, .put]

    /// The route for a head; `CONNECT` and the asterisk form match nothing.
    static func match(_ head: RequestHead, in responder: Responder) -> Responder.Match {
        if head.targetForm == .asterisk || head.method == .connect { return .notFound }
        return responder.match(head.method, path: head.path)
    }

    /// The decision for a parsed head. `defaultBodyLimit` is the server's; a route may set its own.
    /// `moreBytesBuffered`: bytes after the head already arrived, so the client did not wait for `100 Continue`.
    static func onHead(_ head: RequestHead, match: Responder.Match, defaultBodyLimit: Int, moreBytesBuffered: Bool) -> HeadAction {
        if !head.method.isKnown, case .methodNotAllowed(let allowed) = match {
            // A method we do not know, on a path that exists: the path's methods are the answer (RFC 9110 15.5.6).
            return .refuse(Refusal(status: .methodNotAllowed, message: "\(head.method) is not allowed here.", keepIfNoBody: true, allow: allowed))
        }
        if !head.method.isKnown || head.method == .connect {
            return .refuse(Refusal(status: .notImplemented, message: "The method \(head.method) is not supported.", keepIfNoBody: true))
        }
        if head.hasUnsupportedExpectation {
            return .refuse(Refusal(status: .expectationFailed, message: "Only 'Expect: 100-continue' is supported.", keepIfNoBody: true))
        }
        var limit = defaultBodyLimit
        if case .found(let route, _) = match, let routeLimit = route.options.maximumBodyBytes { limit = routeLimit }
        if case .length(let length) = head.framing, length > limit {
            return .refuse(Refusal(status: .contentTooLarge, message: "The request body is larger than \(limit) bytes."))
        }
        if case .found(let route, let parameters) = match, route.options.streamsBody, !route.options.inline {
            return .streamBody(route, parameters: parameters, bodyLimit: limit)
        }
        if head.framing == .none { return .noBody(bodyLimit: limit) }
        guard head.expectsContinue, !moreBytesBuffered else { return .readBody(bodyLimit: limit, sendContinue: false) }
        // Refuse before the client sends a body we would have to skip (RFC 9110 section 10.1.1).
        if let refusal = refusal(head, match: match) { return .refuse(refusal) }
        return .readBody(bodyLimit: limit, sendContinue: true)
    }

    /// The decision for a whole request.
    static func request(_ head: RequestHead, match: Responder.Match) -> RequestAction {
        switch match {
        case .found(let route, let parameters): return .run(route, parameters: parameters)
        case .methodNotAllowed(let allowed) where head.method == .options: return .options(allow: allowed)
        case .notFound where head.targetForm == .asterisk: return .options(allow: serverMethods)
        default: return .refuse(refusal(head, match: match)!)
        }
    }

    /// The error a request that found no route gets; nil when it found one.
    private static func refusal(_ head: RequestHead, match: Responder.Match) -> Refusal? {
        switch match {
        case .found:
            return nil
        case .methodNotAllowed(let allowed):
            return Refusal(status: .methodNotAllowed, message: "\(head.method) is not allowed here.", allow: allowed)
        case .notFound:
            return Refusal(status: .notFound, message: "There is nothing at this address.")
        case .badPath:
            return Refusal(status: .badRequest, message: "The path has invalid percent-encoding or a control character.")
        }
    }
}
