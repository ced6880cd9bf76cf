/// How the body of a request is delimited (RFC 9112 section 6.3).
public enum BodyFraming: Sendable, Equatable {
    case none
    case length(Int)
    case chunked
}

/// The form of the request target (RFC 9112 section 3.2).
public enum TargetForm: Sendable, Equatable {
    case origin
    case absolute
    case authority
    case asterisk
}

/// A parsed request line and header section.
public struct RequestHead: Sendable {
    public var method: HTTPMethod
    /// The request target exactly as sent.
    public var target: String
    public var targetForm: TargetForm
    /// The path, still percent-encoded ("/" for asterisk and authority forms).
    public var path: String
    /// The query after "?", still percent-encoded, or nil.
    public var query: String?
    public var version: HTTPVersion
    public var headers: HTTPHeaders
    /// The authority: from an absolute-form target, else from `Host` (RFC 9112 section 3.2.2).
    public var authority: String?
    public var framing: BodyFraming
    /// Whether the connection may stay open after this request, as the client asked.
    public var keepAlive: Bool
    /// The client sent `Expect: 100-continue`.
    public var expectsContinue: Bool
    /// The client sent an `Expect` value other than 100-continue (answered 417).
    public var hasUnsupportedExpectation: Bool

    /// A head as the parser would make it; for tests and in-process callers.
    public init(
        method: HTTPMethod, target: String, targetForm: TargetForm = .origin, path: String, query: String? = nil,
        version: HTTPVersion = .http1_1, headers: HTTPHeaders = HTTPHeaders(), authority: String? = nil,
        framing: BodyFraming = .none, keepAlive: Bool = true, expectsContinue: Bool = false, hasUnsupportedExpectation: Bool = false
    ) {
        self.method = method
        self.target = target
        self.targetForm = targetForm
        self.path = path
        self.query = query
        self.version = version
        self.headers = headers
        self.authority = authority
        self.framing = framing
        self.keepAlive = keepAlive
        self.expectsContinue = expectsContinue
        self.hasUnsupportedExpectation = hasUnsupportedExpectation
    }
}

/// A request the parser refused, with the status to answer. The connection closes after it.
public struct ParseError: Error, Sendable, Equatable, CustomStringConvertible {
    public let status: HTTPStatus
    public let reason: String

    public init(_ status: HTTPStatus, _ reason: String) {
        self.status = status
        self.reason = reason
    }

    public var description: String { "\(status.code): \(reason)" }
}
