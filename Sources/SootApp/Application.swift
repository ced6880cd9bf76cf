import Foundation
import HTTPServer
import Logging
import Postgres

/// Soot: the routes, wired to the database. `makeServer` gives the HTTP server that serves them.
public final class Application: Sendable {
    public let configuration: AppConfiguration
    public let database: ConnectionPool
    public let logger: Logger
    public let router: Router

    public init(configuration: AppConfiguration, database: ConnectionPool, logger: Logger = Logger(label: "soot")) {
        self.configuration = configuration
        self.database = database
        self.logger = logger
        var router = Router()
        Application.addRoutes(to: &router, configuration: configuration, database: database, logger: logger)
        self.router = router
    }

    /// The HTTP server for these routes, with Soot's error pages and secret-redacting access log.
    public func makeServer(_ configuration: Configuration) -> Server {
        Server(configuration: configuration, responder: router.build(), errorResponder: ErrorPages.responder,
               redactPath: Redaction.path, logger: Logger(label: "soot.http"))
    }

    static func addRoutes(to router: inout Router, configuration: AppConfiguration, database: ConnectionPool, logger: Logger) {
        HealthRoutes(database: database).register(on: &router)
        let files = StaticFiles(root: configuration.publicDirectory)
        router.get("/static/*path", files.handler { request in
            AppError.notFound("There is no such file.").response(for: request)
        })
        router.get("/favicon.ico") { request in
            files.respond(to: request, relativePath: "favicon.svg") ?? AppError.notFound().response(for: request)
        }
    }
}

/// Hides secrets that travel in paths (per-project ingest URLs) before they reach the log.
public enum Redaction {
    public static let path: @Sendable (String) -> String = { path in
        guard path.contains("/ingest/") else { return path }
        var parts = path.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        if let index = parts.firstIndex(of: "ingest"), index + 1 < parts.count {
            parts[index + 1] = "[redacted]"
        }
        return parts.joined(separator: "/")
    }
}
