import Foundation
import HTTPServer
import TestSupport
import Testing

@Suite struct StaticFilesTests {
    func withFiles<T>(_ body: (Server, URL) throws -> T) throws -> T {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("soot-static-\(UUID().uuidString)")
        let publicFolder = root.appendingPathComponent("public")
        try FileManager.default.createDirectory(at: publicFolder.appendingPathComponent("css"), withIntermediateDirectories: true)
        try "body { color: black }".write(to: publicFolder.appendingPathComponent("css/site.css"), atomically: true, encoding: .utf8)
        try "secret".write(to: root.appendingPathComponent("secret.txt"), atomically: true, encoding: .utf8)
        try "hidden".write(to: publicFolder.appendingPathComponent(".env"), atomically: true, encoding: .utf8)
        try FileManager.default.createSymbolicLink(at: publicFolder.appendingPathComponent("escape.txt"),
                                                   withDestinationURL: root.appendingPathComponent("secret.txt"))
        defer { try? FileManager.default.removeItem(at: root) }
        let files = StaticFiles(root: publicFolder)
        var router = Router()
        router.get("/static/*path", files.handler { _ in .text("missing", status: .notFound) })
        return try withServer(router) { try body($0, publicFolder) }
    }

    @Test func servesFilesWithCachingHeadersAnd304() throws {
        try withFiles { server, _ in
            let connection = try RawConnection(port: server.port)
            try connection.send("GET /static/css/site.css HTTP/1.1\r\nHost: x\r\n\r\n")
            let first = try connection.readResponse()
            #expect(first.status == 200)
            #expect(first.text == "body { color: black }")
            #expect(first.header("Content-Type") == "text/css; charset=utf-8")
            #expect(first.header("Cache-Control")?.contains("max-age") == true)
            let etag = try #require(first.header("ETag"))
            let modified = try #require(first.header("Last-Modified"))
            try connection.send("GET /static/css/site.css HTTP/1.1\r\nHost: x\r\nIf-None-Match: \(etag)\r\n\r\n")
            let notModified = try connection.readResponse()
            #expect(notModified.status == 304)
            #expect(notModified.body.isEmpty)
            try connection.send("GET /static/css/site.css HTTP/1.1\r\nHost: x\r\nIf-Modified-Since: \(modified)\r\n\r\n")
            #expect(try connection.readResponse().status == 304)
            try connection.send("GET /static/css/site.css HTTP/1.1\r\nHost: x\r\nIf-None-Match: \"other\"\r\n\r\n")
            #expect(try connection.readResponse().status == 200)
        }
    }

    @Test(arguments: ["/static/../secret.txt", "/static/%2e%2e/secret.txt", "/static/css/..%2f..%2fsecret.txt",
                      "/static/.env", "/static/escape.txt", "/static/css", "/static/nothing.css", "/static/%00"])
    func refusesTraversalHiddenFilesAndLinksOut(_ path: String) throws {
        try withFiles { server, _ in
            let connection = try RawConnection(port: server.port)
            try connection.send("GET \(path) HTTP/1.1\r\nHost: x\r\n\r\n")
            let response = try connection.readResponse()
            #expect(response.status == 404 || response.status == 400, "\(path): \(response.status)")
            #expect(!response.text.contains("secret") && !response.text.contains("hidden"))
        }
    }
}
