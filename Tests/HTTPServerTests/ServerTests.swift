import Foundation
import HTTPServer
import Synchronization
import TestSupport
import Testing

func testRouter() -> Router {
    var router = Router()
    router.get("/hello", options: .inline) { _ in .text("hello") }
    router.post("/echo") { request in
        var response = Response(status: .created, contentType: "application/octet-stream", bytes: request.body)
        response.headers.add("X-Body-Length", "\(request.body.count)")
        return response
    }
    router.post("/small", options: RouteOptions(maximumBodyBytes: 10)) { request in .text("\(request.body.count)") }
    router.get("/items/:id") { request in .text("item \(request.parameter("id") ?? "-")") }
    router.get("/cookies") { _ in
        var response = Response.text("two cookies")
        response.headers.add("Set-Cookie", "a=1; Path=/")
        response.headers.add("Set-Cookie", "b=2; Path=/; HttpOnly")
        return response
    }
    router.get("/own-header") { _ in
        var response = Response.text("mine")
        response.headers.set("x-frame-options", "SAMEORIGIN")
        return response
    }
    router.get("/bad-header") { _ in
        var response = Response.text("nope")
        response.headers.add("X-Injected", "a\r\nSet-Cookie: evil=1")
        return response
    }
    router.get("/slow") { request in
        let seconds = Double(request.query("s") ?? "0.5") ?? 0.5
        usleep(UInt32(seconds * 1_000_000))
        return .text("slept")
    }
    router.get("/stream") { request in
        let rows = Int(request.query("rows") ?? "1000") ?? 1000
        return Response(status: .ok, headers: ["Content-Type": "text/csv"], body: .stream({ writer in
            for index in 0..<rows { try writer.write("row,\(index)\n") }
        }))
    }
    router.post("/upload", options: RouteOptions(maximumBodyBytes: 64 << 20, streamsBody: true)) { request in
        guard let stream = request.bodyStream else { return .text("no stream", status: .internalServerError) }
        var count = 0, sum = 0, parts = 0
        let delay = UInt32(request.query("delay") ?? "0") ?? 0
        while let part = try stream.read() {
            parts += 1
            count += part.count
            for byte in part { sum = (sum &+ Int(byte)) & 0xFFFF_FFFF }
            if delay > 0 { usleep(delay) }
        }
        return .text("\(count) \(sum)")
    }
    router.post("/guarded", options: RouteOptions(maximumBodyBytes: 64 << 20, streamsBody: true)) { request in
        guard request.headers["X-Key"] == "ok" else { return .text("who are you?", status: .unauthorized) }
        return .text("\(try request.bodyStream?.readAll().count ?? -1)")
    }
    router.get("/throws") { _ in
        struct Secret: Error { let detail = "password=hunter2" }
        throw Secret()
    }
    return router
}

@Suite struct ServerTests {
    @Test func keepAliveAndDateOnEveryResponse() throws {
        try withServer(testRouter()) { server in
            let connection = try RawConnection(port: server.port)
            for _ in 0..<3 {
                try connection.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
                let response = try connection.readResponse()
                #expect(response.status == 200)
                #expect(response.text == "hello")
                #expect(response.header("Content-Length") == "5")
                let date = try #require(response.header("Date"))
                #expect(date.hasSuffix(" GMT") && date.count == 29)
                #expect(response.header("Connection") == nil)
            }
        }
    }

    @Test func http10ClosesUnlessAskedToKeepAlive() throws {
        try withServer(testRouter()) { server in
            let plain = try RawConnection(port: server.port)
            try plain.send("GET /hello HTTP/1.0\r\n\r\n")
            #expect(try plain.readResponse().header("Connection") == "close")
            #expect(plain.waitForClose())

            let kept = try RawConnection(port: server.port)
            try kept.send("GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            #expect(try kept.readResponse().header("Connection") == "keep-alive")
            try kept.send("GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            #expect(try kept.readResponse().status == 200)
        }
    }

    @Test func connectionCloseIsHonoured() throws {
        try withServer(testRouter()) { server in
            let connection = try RawConnection(port: server.port)
            try connection.send("GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            let response = try connection.readResponse()
            #expect(response.header("Connection") == "close")
            #expect(connection.waitForClose())
        }
    }

    @Test func pipelinedRequestsAreAnsweredInOrder() throws {
        try withServer(testRouter()) { server in
            let connection = try RawConnection(port: server.port)
            try connection.send(
                "GET /items/1 HTTP/1.1\r\nHost: x\r\n\r\n"
                    + "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
                    + "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"
                    + "GET /items/%C3%A9t%C3%A9 HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(try connection.readResponse().text == "item 1")
            let echo = try connection.readResponse()
            #expect(echo.status == 201)
            #expect(echo.text == "abc")
            #expect(try connection.readResponse().text == "hello")
            #expect(try connection.readResponse().text == "item été")
        }
    }

    @Test func expectContinue() throws {
        try withServer(testRouter()) { server in
            let connection = try RawConnection(port: server.port)
            try connection.send("POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n")
            let interim = try connection.readResponse()
            #expect(interim.status == 100)
            try connection.send("data")
            let final = try connection.readResponse()
            #expect(final.status == 201)
            #expect(final.text == "data")

            // Too large: the final status comes at once, without reading a body.
            let refused = try RawConnection(port: server.port)
            try refused.send("POST /small HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 100\r\n\r\n")
            #expect(try refused.readResponse().status == 413)
            #expect(refused.waitForClose())

            let odd = try RawConnection(port: server.port)
            try odd.send("GET /hello HTTP/1.1\r\nHost: x\r\nExpect: tea\r\n\r\n")
            #expect(try odd.readResponse().status == 417)
        }
    }

    @Test func headHasNoBodyButTheLength() throws {
        try withServer(testRouter()) { server in
            let connection = try RawConnection(port: server.port)
            try connection.send("HEAD /hello HTTP/1.1\r\nHost: x\r\n\r\nGET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
            let head = try connection.readResponse(forHead: true)
            #expect(head.status == 200)
            #expect(head.header("Content-Length") == "5")
            // The next response follows immediately: no body bytes were sent for HEAD.
            #expect(try connection.readResponse().text == "hello")
        }
    }

    @Test func methodNotAllowedNotFoundAndUnknownMethods() throws {
        try withServer(testRouter()) { server in
            let connection = try RawConnection(port: server.port)
            try connection.send("DELETE /hello HTTP/1.1\r\nHost: x\r\n\r\n")
            let notAllowed = try connection.readResponse()
            #expect(notAllowed.status == 405)
            #expect(notAllowed.header("Allow") == "GET, HEAD, OPTIONS")
            try connection.send("GET /nothing-here HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(try connection.readResponse().status == 404)
            // A method nobody knows on a path that exists: 405 with the path's methods, as for a known method.
            try connection.send("QUERY /hello HTTP/1.1\r\nHost: x\r\n\r\n")
            let unknownMethod = try connection.readResponse()
            #expect(unknownMethod.status == 405)
            #expect(unknownMethod.header("Allow") == "GET, HEAD, OPTIONS")
            try connection.send("BREW /nothing-here HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(try connection.readResponse().status == 501)
            try connection.send("OPTIONS /hello HTTP/1.1\r\nHost: x\r\n\r\n")
            let options = try connection.readResponse()
            #expect(options.status == 204)
            #expect(options.header("Allow") == "GET, HEAD, OPTIONS")
            try connection.send("OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(try connection.readResponse().status == 204)
            // Still in sync after all of that.
            try connection.send("GET //hello HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(try connection.readResponse().text == "hello")
        }
    }

    @Test func badRequestsAreAnsweredThenClosed() throws {
        try withServer(testRouter()) { server in
            for request in [
                "GET / HTTP/1.1\r\n\r\n",
                "GET /hello HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
                "GET /hello HTTP/1.1\r\nHost: x\r\nX: a\u{0}b\r\n\r\n",
                "GET /hello HTTP/2.0\r\nHost: x\r\n\r\n",
            ] {
                let connection = try RawConnection(port: server.port)
                try connection.send(request)
                let response = try connection.readResponse()
                #expect(response.status >= 400)
                #expect(response.header("Connection") == "close")
                #expect(connection.waitForClose())
            }
        }
    }

    @Test func controlCharactersInPathParametersAreRefused() throws {
        try withServer(testRouter()) { server in
            let connection = try RawConnection(port: server.port)
            for path in ["/items/a%00zzz", "/items/a%0Db", "/items/%7F", "/items/a%1Bb"] {
                try connection.send("GET \(path) HTTP/1.1\r\nHost: x\r\n\r\n")
                #expect(try connection.readResponse().status == 400, "\(path)")
            }
            try connection.send("GET /items/caf%C3%A9%20x HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(try connection.readResponse().text == "item café x")
        }
    }

    @Test func configuredHeadersGoOutOnEveryResponse() throws {
        var configuration = Configuration(port: 0)
        configuration.responseHeaders = [("X-Content-Type-Options", "nosniff"), ("X-Frame-Options", "DENY")]
        try withServer(testRouter(), configuration: configuration) { server in
            let connection = try RawConnection(port: server.port)
            for request in ["GET /hello", "GET /nothing-here", "DELETE /hello", "GET /stream?rows=2"] {
                try connection.send("\(request) HTTP/1.1\r\nHost: x\r\n\r\n")
                let response = try connection.readResponse()
                #expect(response.headers("X-Content-Type-Options") == ["nosniff"], "\(request)")
                #expect(response.header("X-Frame-Options") == "DENY", "\(request)")
            }
            // A handler's own value replaces the default rather than joining it.
            try connection.send("GET /own-header HTTP/1.1\r\nHost: x\r\n\r\n")
            let own = try connection.readResponse()
            #expect(own.headers("X-Frame-Options") == ["SAMEORIGIN"])
            #expect(own.header("X-Content-Type-Options") == "nosniff")
        }
        var invalid = Configuration(port: 0)
        invalid.responseHeaders = [("X-Bad", "a\r\nSet-Cookie: x=1")]
        let server = Server(configuration: invalid, responder: testRouter().build())
        #expect(throws: (any Error).self) { try server.start() }
    }

    @Test func aBodyThatStopsArrivingGets408() throws {
        var configuration = Configuration(port: 0)
        configuration.bodyTimeout = 30
        configuration.bodyStallTimeout = 0.6
        try withServer(testRouter(), configuration: configuration) { server in
            // Bytes keep coming, slowly but within the stall timeout: the request completes.
            let slow = try RawConnection(port: server.port)
            try slow.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\n")
            for byte in ["a", "b", "c", "d"] {
                usleep(300_000)
                try slow.send(byte)
            }
            #expect(try slow.readResponse().text == "abcd")
            // Bytes stop: 408 long before the whole-body timeout.
            let stalled = try RawConnection(port: server.port)
            let start = Date()
            try stalled.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc")
            #expect(try stalled.readResponse(timeout: 5).status == 408)
            #expect(Date().timeIntervalSince(start) < 5)
            #expect(stalled.waitForClose())
        }
    }

    @Test func streamedBodiesArriveWholeInOrderAndKeepTheConnection() throws {
        try withServer(testRouter()) { server in
            let bytes = (0..<(3 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
            let expected = bytes.reduce(0) { ($0 &+ Int($1)) & 0xFFFF_FFFF }
            let connection = try RawConnection(port: server.port)
            // Whole, with a slow reader (the connection pauses while it is behind), then chunked on the same connection.
            try connection.send(Array("POST /upload?delay=200 HTTP/1.1\r\nHost: x\r\nContent-Length: \(bytes.count)\r\n\r\n".utf8) + bytes)
            #expect(try connection.readResponse(timeout: 30).text == "\(bytes.count) \(expected)")
            var chunked = Array("POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n".utf8)
            for start in stride(from: 0, to: bytes.count, by: 100_000) {
                let piece = bytes[start..<min(bytes.count, start + 100_000)]
                chunked += Array(String(piece.count, radix: 16).utf8) + [13, 10] + piece + [13, 10]
            }
            chunked += Array("0\r\n\r\n".utf8)
            try connection.send(chunked)
            #expect(try connection.readResponse(timeout: 30).text == "\(bytes.count) \(expected)")
            try connection.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(try connection.readResponse().text == "hello")
            // No body at all.
            try connection.send("POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
            #expect(try connection.readResponse().text == "0 0")
        }
    }

    @Test func aStreamedBodyCanBeRefusedFromItsHeadWithoutBeingRead() throws {
        try withServer(testRouter()) { server in
            // 50 MB announced, a few bytes sent: the refusal comes at once and the connection closes.
            let refused = try RawConnection(port: server.port)
            try refused.send("POST /guarded HTTP/1.1\r\nHost: x\r\nContent-Length: 50000000\r\n\r\nabc")
            let answer = try refused.readResponse(timeout: 3)
            #expect(answer.status == 401)
            #expect(answer.header("Connection") == "close")
            #expect(refused.waitForClose())
            // With Expect: 100-continue the client is never asked for the body.
            let polite = try RawConnection(port: server.port)
            try polite.send("POST /guarded HTTP/1.1\r\nHost: x\r\nContent-Length: 50000000\r\nExpect: 100-continue\r\n\r\n")
            let head = try polite.readResponse(timeout: 3)
            #expect(head.status == 401)
            // Let in, the same route reads the body, after a 100 Continue.
            let welcome = try RawConnection(port: server.port)
            try welcome.send("POST /guarded HTTP/1.1\r\nHost: x\r\nX-Key: ok\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
            #expect(try welcome.readResponse(timeout: 3).status == 100)
            try welcome.send("hello")
            #expect(try welcome.readResponse(timeout: 3).text == "5")
            // Over the route's limit: 413 without reading it.
            let huge = try RawConnection(port: server.port)
            try huge.send("POST /guarded HTTP/1.1\r\nHost: x\r\nX-Key: ok\r\nContent-Length: 70000000\r\n\r\n")
            #expect(try huge.readResponse(timeout: 3).status == 413)
        }
    }

    @Test func bodiesOverTheRouteLimitGet413() throws {
        try withServer(testRouter()) { server in
            let connection = try RawConnection(port: server.port)
            try connection.send("POST /small HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\nhello world")
            #expect(try connection.readResponse().status == 413)
            #expect(connection.waitForClose())
            let chunked = try RawConnection(port: server.port)
            try chunked.send("POST /small HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n8\r\n12345678\r\n8\r\n12345678\r\n0\r\n\r\n")
            #expect(try chunked.readResponse().status == 413)
            let fine = try RawConnection(port: server.port)
            try fine.send("POST /small HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n")
            #expect(try fine.readResponse().text == "3")
        }
    }

    @Test func severalSetCookieHeadersAndNoHeaderInjection() throws {
        try withServer(testRouter()) { server in
            let connection = try RawConnection(port: server.port)
            try connection.send("GET /cookies HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(try connection.readResponse().headers("Set-Cookie") == ["a=1; Path=/", "b=2; Path=/; HttpOnly"])
            try connection.send("GET /bad-header HTTP/1.1\r\nHost: x\r\n\r\n")
            let refused = try connection.readResponse()
            #expect(refused.status == 500)
            #expect(refused.headers("Set-Cookie").isEmpty)
            try connection.send("GET /throws HTTP/1.1\r\nHost: x\r\n\r\n")
            let failed = try connection.readResponse()
            #expect(failed.status == 500)
            #expect(!failed.text.contains("hunter2"))
        }
    }

    @Test func streamsChunkedResponses() throws {
        try withServer(testRouter()) { server in
            let connection = try RawConnection(port: server.port)
            try connection.send("GET /stream?rows=50000 HTTP/1.1\r\nHost: x\r\n\r\n")
            let response = try connection.readResponse(timeout: 20)
            #expect(response.header("Transfer-Encoding") == "chunked")
            let lines = response.text.split(separator: "\n")
            #expect(lines.count == 50000)
            #expect(lines.last == "row,49999")
            // The connection is reusable afterwards.
            try connection.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(try connection.readResponse().text == "hello")
            // HTTP/1.0 gets the body delimited by close.
            let old = try RawConnection(port: server.port)
            try old.send("GET /stream?rows=10 HTTP/1.0\r\n\r\n")
            let oldResponse = try old.readResponse()
            #expect(oldResponse.header("Transfer-Encoding") == nil)
            #expect(oldResponse.text.split(separator: "\n").count == 10)
        }
    }

    @Test func slowHandlersDoNotBlockOthers() throws {
        var configuration = Configuration(port: 0)
        configuration.workerThreads = 4
        try withServer(testRouter(), configuration: configuration) { server in
            let slow = try RawConnection(port: server.port)
            try slow.send("GET /slow?s=1 HTTP/1.1\r\nHost: x\r\n\r\n")
            let start = Date()
            let fast = try RawConnection(port: server.port)
            try fast.send("GET /items/2 HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(try fast.readResponse().text == "item 2")
            #expect(Date().timeIntervalSince(start) < 0.5)
            #expect(try slow.readResponse().text == "slept")
        }
    }

    @Test func timeoutsCloseSlowAndIdleClients() throws {
        var configuration = Configuration(port: 0)
        configuration.headerTimeout = 0.5
        configuration.bodyTimeout = 0.5
        configuration.idleTimeout = 0.5
        try withServer(testRouter(), configuration: configuration) { server in
            // A header that trickles in gets 408.
            let trickle = try RawConnection(port: server.port)
            try trickle.send("GET /hello HTTP/1.1\r\nHo")
            let timedOut = try trickle.readResponse(timeout: 3)
            #expect(timedOut.status == 408)
            #expect(trickle.waitForClose())
            // A body that never completes gets 408.
            let body = try RawConnection(port: server.port)
            try body.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc")
            #expect(try body.readResponse(timeout: 3).status == 408)
            // An idle keep-alive connection is closed quietly.
            let idle = try RawConnection(port: server.port)
            try idle.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(try idle.readResponse().status == 200)
            #expect(idle.waitForClose(timeout: 3))
            #expect(idle.unreadBytes.isEmpty)
            // A connection that never sends anything is closed too.
            let silent = try RawConnection(port: server.port)
            #expect(silent.waitForClose(timeout: 3))
        }
    }

    @Test func aHundredSlowClientsDoNotStarveOthers() throws {
        var configuration = Configuration(port: 0)
        configuration.headerTimeout = 5
        try withServer(testRouter(), configuration: configuration) { server in
            var slowClients: [RawConnection] = []
            for _ in 0..<100 {
                let client = try RawConnection(port: server.port)
                try client.send("GET /hello HTTP/1.1\r\nHost: x\r\nX-Slow: ")
                slowClients.append(client)
            }
            for index in 0..<20 {
                let start = Date()
                let client = try RawConnection(port: server.port)
                try client.send("GET /items/\(index) HTTP/1.1\r\nHost: x\r\n\r\n")
                #expect(try client.readResponse().text == "item \(index)")
                #expect(Date().timeIntervalSince(start) < 0.5)
            }
            for client in slowClients { try client.send("a") }
            #expect(slowClients.count == 100)
        }
    }

    @Test func connectionLimitRefusesWith503() throws {
        var configuration = Configuration(port: 0)
        configuration.maximumConnections = 4
        try withServer(testRouter(), configuration: configuration) { server in
            var open: [RawConnection] = []
            for _ in 0..<4 {
                let client = try RawConnection(port: server.port)
                try client.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
                #expect(try client.readResponse().status == 200)
                open.append(client)
            }
            let extra = try RawConnection(port: server.port)
            #expect(try extra.readResponse().status == 503)
            open.removeAll()
            usleep(200_000)
            let later = try RawConnection(port: server.port)
            try later.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(try later.readResponse().status == 200)
        }
    }

    @Test func gracefulShutdownFinishesRequestsInFlight() throws {
        let server = Server(configuration: Configuration(port: 0), responder: testRouter().build())
        try server.start()
        let port = server.port
        let idle = try RawConnection(port: port)
        try idle.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(try idle.readResponse().status == 200)
        let busy = try RawConnection(port: port)
        try busy.send("GET /slow?s=0.5 HTTP/1.1\r\nHost: x\r\n\r\n")
        usleep(100_000)
        let stopped = Atomic<Bool>(false)
        let thread = Thread { server.shutdown(gracePeriod: 5); stopped.store(true, ordering: .releasing) }
        thread.start()
        // The idle connection is closed at once; the busy one gets its answer, marked close.
        #expect(idle.waitForClose(timeout: 2))
        // While the busy request drains, the port no longer listens: a new client is refused at once, so a load
        // balancer retries elsewhere, instead of waiting unread in the backlog until the grace period ends.
        usleep(50_000)
        #expect(throws: (any Error).self) { try RawConnection(port: port) }
        let response = try busy.readResponse(timeout: 3)
        #expect(response.text == "slept")
        #expect(response.header("Connection") == "close")
        let deadline = Date().addingTimeInterval(5)
        while !stopped.load(ordering: .acquiring) && Date() < deadline { usleep(10_000) }
        let didStop = stopped.load(ordering: .acquiring)
        #expect(didStop)
        #expect(throws: (any Error).self) { try RawConnection(port: port) }
    }
}
