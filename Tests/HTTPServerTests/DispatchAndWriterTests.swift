@testable import HTTPServer
import Testing

/// The connection's decisions and its bytes, without a socket: `Dispatch` (what a head or a whole request leads to)
/// and `ResponseWriter` (the bytes of a response).
@Suite struct DispatchTests {
    let responder: Responder = {
        var router = Router()
        router.get("/runs") { _ in .text("runs") }
        router.post("/upload", options: RouteOptions(maximumBodyBytes: 10)) { _ in .text("ok") }
        router.put("/stream", options: RouteOptions(streamsBody: true)) { _ in .text("ok") }
        return router.build()
    }()

    func head(_ method: HTTPMethod, _ path: String, form: TargetForm = .origin, framing: BodyFraming = .none,
              expectsContinue: Bool = false, unsupportedExpectation: Bool = false) -> RequestHead {
        RequestHead(method: method, target: path, targetForm: form, path: path, framing: framing,
                    expectsContinue: expectsContinue, hasUnsupportedExpectation: unsupportedExpectation)
    }

    func onHead(_ head: RequestHead, buffered: Bool = false) -> String {
        let match = Dispatch.match(head, in: responder)
        switch Dispatch.onHead(head, match: match, defaultBodyLimit: 1000, moreBytesBuffered: buffered) {
        case .refuse(let r):
            return "refuse \(r.status.code)\(r.keepIfNoBody ? " keep" : "")\(r.allow.map { " allow \($0.map(\.rawValue))" } ?? "")"
        case .streamBody(let route, _, let limit): return "stream \(route.pattern) \(limit)"
        case .readBody(let limit, let sendContinue): return "read \(limit)\(sendContinue ? " continue" : "")"
        case .noBody(let limit): return "none \(limit)"
        }
    }

    func request(_ head: RequestHead) -> String {
        switch Dispatch.request(head, match: Dispatch.match(head, in: responder)) {
        case .run(let route, _): return "run \(route.method) \(route.pattern)"
        case .options(let allow): return "options \(allow.map(\.rawValue))"
        case .refuse(let r): return "refuse \(r.status.code)\(r.allow.map { " allow \($0.map(\.rawValue))" } ?? "")"
        }
    }

    @Test func headsAreRefusedOrReadAsTheRulesSay() {
        // An unknown method on a path that exists: 405 with the path's methods (RFC 9110 15.5.6); elsewhere 501.
        #expect(onHead(head(HTTPMethod(rawValue: "BREW"), "/runs")) == "refuse 405 keep allow [\"GET\", \"HEAD\", \"OPTIONS\"]")
        #expect(onHead(head(HTTPMethod(rawValue: "BREW"), "/nowhere")) == "refuse 501 keep")
        #expect(onHead(head(.connect, "/runs", form: .authority)) == "refuse 501 keep")
        #expect(onHead(head(.post, "/upload", framing: .length(3), unsupportedExpectation: true)) == "refuse 417 keep")
        // The route's own body limit, refused from the announced length before a byte of the body.
        #expect(onHead(head(.post, "/upload", framing: .length(11))) == "refuse 413")
        #expect(onHead(head(.post, "/nowhere", framing: .length(11))) == "read 1000")
        #expect(onHead(head(.put, "/stream", framing: .chunked)) == "stream /stream 1000")
        #expect(onHead(head(.get, "/runs")) == "none 1000")
        // 100-continue only when the client is waiting for it, and never for a request that will be refused.
        #expect(onHead(head(.post, "/upload", framing: .length(5), expectsContinue: true)) == "read 10 continue")
        #expect(onHead(head(.post, "/upload", framing: .length(5), expectsContinue: true), buffered: true) == "read 10")
        #expect(onHead(head(.post, "/nowhere", framing: .length(5), expectsContinue: true)) == "refuse 404")
        #expect(onHead(head(.delete, "/upload", framing: .length(5), expectsContinue: true)) == "refuse 405 allow [\"OPTIONS\", \"POST\"]")
        #expect(onHead(head(.post, "/%zz", framing: .length(5), expectsContinue: true)) == "refuse 400")
    }

    @Test func wholeRequestsRunOrGetTheServersAnswer() {
        #expect(request(head(.get, "/runs")) == "run GET /runs")
        #expect(request(head(.options, "/runs")) == "options [\"GET\", \"HEAD\", \"OPTIONS\"]")
        #expect(request(head(.options, "*", form: .asterisk)) == "options [\"DELETE\", \"GET\", \"HEAD\", \"OPTIONS\", \"PATCH\", \"POST\", \"PUT\"]")
        #expect(request(head(.delete, "/runs")) == "refuse 405 allow [\"GET\", \"HEAD\", \"OPTIONS\"]")
        #expect(request(head(.get, "/nowhere")) == "refuse 404")
        #expect(request(head(.get, "/runs%00")) == "refuse 400")
    }
}

@Suite struct ResponseWriterTests {
    let writer = ResponseWriter(serverName: "test", defaultHeaders: [(name: "X-Frame-Options", value: "DENY"), (name: "Cache-Control", value: "no-store")])
    let date = Array("Mon, 07 Dec 2026 18:00:00 GMT".utf8)

    func bytes(_ response: Response, _ head: RequestHead?, keepAlive: Bool = true, streamed: Bool = false) -> String {
        var output: [UInt8] = Array("kept".utf8)
        let count = writer.append(response, head: head, keepAlive: keepAlive, streamed: streamed, date: date, to: &output)
        #expect(count == output.count - 4)
        return String(decoding: output.dropFirst(4), as: UTF8.self)
    }

    func head(_ method: HTTPMethod = .get, version: HTTPVersion = .http1_1) -> RequestHead {
        RequestHead(method: method, target: "/", path: "/", version: version)
    }

    @Test func framingDateAndConnectionAreTheServersOwn() {
        var response = Response.text("hello", status: .ok)
        response.headers.set("Content-Length", "999")
        response.headers.set("Connection", "keep-alive")
        response.headers.set("Date", "yesterday")
        response.headers.set("Cache-Control", "max-age=60")
        let text = bytes(response, head())
        #expect(text.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(text.hasSuffix("\r\nContent-Length: 5\r\n\r\nhello"))
        #expect(text.contains("\r\nDate: Mon, 07 Dec 2026 18:00:00 GMT\r\nServer: test\r\n"))
        // A default header fills in only where the handler set none.
        #expect(text.contains("Cache-Control: max-age=60\r\n") && !text.contains("no-store"))
        #expect(text.contains("X-Frame-Options: DENY\r\n"))
        #expect(!text.contains("999") && !text.contains("yesterday") && !text.contains("Connection"))
    }

    @Test func theRequestIdIsTheServersOwnHeader() {
        var response = Response.text("hello", status: .ok)
        response.headers.set("X-Request-Id", "forged")
        var output: [UInt8] = []
        writer.append(response, head: head(), keepAlive: true, streamed: false, date: date, requestID: "0123456789abcde", to: &output)
        let text = String(decoding: output, as: UTF8.self)
        #expect(text.contains("\r\nX-Request-Id: 0123456789abcde\r\n") && !text.contains("forged"))
    }

    @Test func requestIdsAreNewAndOnlyAcceptableOnesAreKept() {
        let ids = (0..<1000).map { _ in RequestID.next() }
        #expect(Set(ids).count == 1000)
        #expect(ids.allSatisfy { $0.utf8.count == 15 && $0.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) } })
        #expect(RequestID.isAcceptable("req-7f3a.b:c/d+e=f@g_h"))
        for bad in ["", "has space", "quote\"", String(repeating: "a", count: 129), "é", "a\u{7}"] { #expect(!RequestID.isAcceptable(bad)) }
    }

    @Test func closeKeepAliveHeadAndBodilessStatuses() {
        #expect(bytes(.text("x"), head(), keepAlive: false).contains("Connection: close\r\n"))
        #expect(bytes(.text("x"), head(version: .http1_0)).contains("Connection: keep-alive\r\n"))
        let headAnswer = bytes(.text("hello"), head(.head))
        #expect(headAnswer.hasSuffix("Content-Length: 5\r\n\r\n"))
        for status in [HTTPStatus.noContent, .notModified] {
            let text = bytes(Response(status: status, body: .bytes(Array("x".utf8))), head())
            #expect(!text.contains("Content-Length") && text.hasSuffix("\r\n\r\n"))
        }
        // With no request head (a parse error), nothing version-specific is added.
        #expect(bytes(.text("bad"), nil, keepAlive: false).hasSuffix("Connection: close\r\n\r\nbad"))
    }

    @Test func streamsAreChunkedOnHTTP11Only() {
        let stream = Response(status: .ok, body: .stream { _ in })
        let chunked = bytes(stream, head(), streamed: true)
        #expect(chunked.hasSuffix("Transfer-Encoding: chunked\r\n\r\n"))
        let plain = bytes(stream, head(version: .http1_0), keepAlive: false, streamed: true)
        #expect(!plain.contains("Transfer-Encoding") && !plain.contains("Content-Length") && plain.hasSuffix("Connection: close\r\n\r\n"))
        var output: [UInt8] = []
        ResponseWriter.appendChunk(Array(repeating: 0x61, count: 26), chunked: true, to: &output)
        ResponseWriter.appendChunk(Array("b".utf8), chunked: false, to: &output)
        #expect(String(decoding: output, as: UTF8.self) == "1a\r\n" + String(repeating: "a", count: 26) + "\r\nb")
    }
}
