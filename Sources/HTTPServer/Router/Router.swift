/// A request handler. It runs on a worker thread (it may block on the database) unless its route is `inline`.
public typealias Handler = @Sendable (Request) throws -> Response

/// Per-route settings.
public struct RouteOptions: Sendable {
    /// Largest request body accepted (413 past it); nil uses the server's `maximumBodyBytes`.
    public var maximumBodyBytes: Int?
    /// Run the handler on the event loop thread itself. Only for handlers that never block (no I/O).
    public var inline: Bool
    /// Run the handler on a worker as soon as the head is in, with the body as a `Request.bodyStream` read as it
    /// arrives: it can refuse before reading a byte of the body, and a large body takes bounded memory. Not with
    /// `inline`. A handler that answers before the whole body arrived closes the connection. Default false.
    public var streamsBody: Bool

    public init(maximumBodyBytes: Int? = nil, inline: Bool = false, streamsBody: Bool = false) {
        self.maximumBodyBytes = maximumBodyBytes
        self.inline = inline
        self.streamsBody = streamsBody
    }

    public static let `default` = RouteOptions()
    public static let inline = RouteOptions(inline: true)
}

/// One registered route.
public struct Route: Sendable {
    public let method: HTTPMethod
    public let pattern: String
    public let options: RouteOptions
    public let handler: Handler
}

/// Collects routes, then `build()`s an immutable `Responder` that the server shares between threads.
///
/// Patterns are paths whose segments are literals, `:name` parameters or a final `*name` catch-all.
/// Empty segments are ignored when matching, so `//runs` finds `/runs`.
public struct Router: Sendable {
    private var routes: [Route] = []

    public init() {}

    /// Adds every route of `other`, each handler passed through `wrap` (to add what a group of routes shares).
    public mutating func add(_ other: Router, wrapping wrap: (@escaping Handler) -> Handler) {
        for route in other.routes {
            routes.append(Route(method: route.method, pattern: route.pattern, options: route.options, handler: wrap(route.handler)))
        }
    }

    /// Adds a route for `method` and `pattern`.
    public mutating func on(_ method: HTTPMethod, _ pattern: String, options: RouteOptions = .default, _ handler: @escaping Handler) {
        routes.append(Route(method: method, pattern: pattern, options: options, handler: handler))
    }

    public mutating func get(_ pattern: String, options: RouteOptions = .default, _ handler: @escaping Handler) {
        on(.get, pattern, options: options, handler)
    }

    public mutating func post(_ pattern: String, options: RouteOptions = .default, _ handler: @escaping Handler) {
        on(.post, pattern, options: options, handler)
    }

    public mutating func put(_ pattern: String, options: RouteOptions = .default, _ handler: @escaping Handler) {
        on(.put, pattern, options: options, handler)
    }

    public mutating func patch(_ pattern: String, options: RouteOptions = .default, _ handler: @escaping Handler) {
        on(.patch, pattern, options: options, handler)
    }

    public mutating func delete(_ pattern: String, options: RouteOptions = .default, _ handler: @escaping Handler) {
        on(.delete, pattern, options: options, handler)
    }

    /// Every route registered so far (used to check documentation against the routes).
    public var allRoutes: [Route] { routes }

    /// Freezes the routes into a responder.
    public func build() -> Responder { Responder(routes: routes) }
}

/// The frozen routing table: a tree of path segments, safe to share between threads.
public final class Responder: Sendable {
    /// What a lookup found.
    public enum Match: Sendable {
        case found(Route, parameters: [String: String])
        /// The path exists, but not for this method; the methods it allows.
        case methodNotAllowed(allowed: [HTTPMethod])
        case notFound
        /// A path segment had invalid percent-encoding, or decodes to a control character.
        case badPath
    }

    final class Node: @unchecked Sendable {
        // Safety: mutated only while `Responder.init` builds the tree, read-only afterwards.
        var literals: [String: Node] = [:]
        var parameter: (name: String, node: Node)?
        var catchAll: (name: String, routes: [HTTPMethod: Route])?
        var routes: [HTTPMethod: Route] = [:]
    }

    private let root: Node
    public let routes: [Route]
    /// Routes without parameters by their exact path ("/a/b"): one hash lookup for the common case.
    private let exact: [String: [HTTPMethod: Route]]

    init(routes: [Route]) {
        self.routes = routes
        root = Node()
        var exact: [String: [HTTPMethod: Route]] = [:]
        for route in routes where !route.pattern.contains(where: { $0 == ":" || $0 == "*" }) {
            let segments = route.pattern.split(separator: "/", omittingEmptySubsequences: true)
            exact["/" + segments.joined(separator: "/"), default: [:]][route.method] = route
        }
        self.exact = exact
        for route in routes {
            var node = root
            let segments = route.pattern.split(separator: "/", omittingEmptySubsequences: true)
            var finished = false
            for segment in segments {
                if segment.hasPrefix("*") {
                    var table = node.catchAll?.routes ?? [:]
                    table[route.method] = route
                    node.catchAll = (String(segment.dropFirst()), table)
                    finished = true
                    break
                } else if segment.hasPrefix(":") {
                    let name = String(segment.dropFirst())
                    if node.parameter == nil { node.parameter = (name, Node()) }
                    node = node.parameter!.node
                } else {
                    let key = String(segment)
                    if let next = node.literals[key] {
                        node = next
                    } else {
                        let next = Node()
                        node.literals[key] = next
                        node = next
                    }
                }
            }
            if !finished { node.routes[route.method] = route }
        }
    }

    /// Finds the route for `method` and the still-encoded `path`. HEAD falls back to GET.
    public func match(_ method: HTTPMethod, path: String) -> Match {
        // A path needing no decoding, naming a route without parameters: found with one lookup (the keys have no
        // empty segments, so "/a//b" or "/a/" still take the full walk below).
        if !path.utf8.contains(UInt8(ascii: "%")), let table = exact[path],
           let route = table[method] ?? (method == .head ? table[.get] : nil) {
            return .found(route, parameters: [:])
        }
        var segments: [String] = []
        for raw in path.split(separator: "/", omittingEmptySubsequences: true) {
            // A decoded control character (NUL truncates in C, CR/LF split logs) never names anything.
            guard let decoded = FormDecoding.decode(raw),
                  !decoded.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else { return .badPath }
            segments.append(decoded)
        }
        var parameters: [String: String] = [:]
        // A literal segment wins, unless it has no route for this method while a parameter branch does
        // (so a team whose slug is "teams" is still reachable by GET).
        if let table = find(root, segments[...], &parameters, method: method) {
            if let route = table[method] ?? (method == .head ? table[.get] : nil) {
                return .found(route, parameters: parameters)
            }
        }
        parameters = [:]
        guard let table = find(root, segments[...], &parameters, method: nil) else { return .notFound }
        var allowed = Array(table.keys)
        if allowed.contains(.get) && !allowed.contains(.head) { allowed.append(.head) }
        allowed.append(.options)
        return .methodNotAllowed(allowed: allowed.sorted { $0.rawValue < $1.rawValue })
    }

    /// The routes at the end of `segments`; with `method`, only a table that has that method (or GET for HEAD).
    private func find(_ node: Node, _ segments: ArraySlice<String>, _ parameters: inout [String: String],
                      method: HTTPMethod?) -> [HTTPMethod: Route]? {
        func accepts(_ table: [HTTPMethod: Route]) -> Bool {
            guard let method else { return !table.isEmpty }
            return table[method] != nil || (method == .head && table[.get] != nil)
        }
        guard let segment = segments.first else {
            return accepts(node.routes) ? node.routes : nil
        }
        let rest = segments.dropFirst()
        if let next = node.literals[segment], let found = find(next, rest, &parameters, method: method) { return found }
        if let (name, next) = node.parameter {
            parameters[name] = segment
            if let found = find(next, rest, &parameters, method: method) { return found }
            parameters[name] = nil
        }
        if let (name, table) = node.catchAll, accepts(table) {
            parameters[name] = segments.joined(separator: "/")
            return table
        }
        return nil
    }
}
