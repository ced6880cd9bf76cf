import Foundation
import HTTPServer
import Postgres
import SootStore
import SootWeb
import TestSupport
import Testing

/// A running Soot on port 0 over a fresh database.
struct AppFixture {
    let pool: ConnectionPool
    let url: String
    let server: Server
    let application: Application

    var port: UInt16 { server.port }

    /// Sends one request on a new connection and reads the answer.
    @discardableResult
    func send(_ method: String, _ path: String, headers: [(String, String)] = [], body: [UInt8]? = nil) throws -> RawResponse {
        let connection = try RawConnection(port: port)
        var text = "\(method) \(path) HTTP/1.1\r\nHost: soot.test\r\nConnection: close\r\n"
        for (name, value) in headers { text += "\(name): \(value)\r\n" }
        if let body { text += "Content-Length: \(body.count)\r\n" }
        text += "\r\n"
        try connection.send(Array(text.utf8) + (body ?? []))
        return try connection.readResponse(timeout: 10, forHead: method == "HEAD")
    }

    /// A JSON request with a bearer token; returns the status and the parsed body.
    @discardableResult
    func api(_ method: String, _ path: String, token: String?, json: JSONValue? = nil,
             headers: [(String, String)] = []) throws -> (status: Int, body: JSONValue) {
        var all = headers
        if let token { all.append(("Authorization", "Bearer \(token)")) }
        if json != nil { all.append(("Content-Type", "application/json")) }
        let response = try send(method, path, headers: all, body: json?.bytes)
        return (response.status, JSONValue.parse(response.body) ?? .null)
    }
}

func withApp<T>(configure: (inout AppConfiguration) -> Void = { _ in }, http configureHTTP: (inout Configuration) -> Void = { _ in },
                _ body: (AppFixture) throws -> T) throws -> T {
    try TestDatabase.withPool { pool, url in
        var configuration = AppConfiguration(publicDirectory: TestDatabase.repositoryRoot.appendingPathComponent("Public"))
        configuration.sessionLifetime = 3600
        configure(&configuration)
        let application = Application(configuration: configuration, store: Store(database: pool))
        var http = Configuration(port: 0)
        http.workerThreads = 16
        configureHTTP(&http)
        let server = application.makeServer(http)
        try server.start()
        defer {
            server.shutdown(gracePeriod: 2)
            application.shutdown()
        }
        return try body(AppFixture(pool: pool, url: url, server: server, application: application))
    }
}

