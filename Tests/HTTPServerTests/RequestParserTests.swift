@testable import HTTPServer
import Testing

/// `RequestParser.messages(in:)` over text: the messages, or the first error.
func parseAll(_ text: String, step: Int = Int.max, bodyLimit: Int = 1 << 20, limits: RequestParser.Limits = .init(),
              streaming: Bool = false) -> (messages: [(RequestHead, [UInt8])], error: ParseError?)
{
    let (messages, error) = RequestParser.messages(in: Array(text.utf8), step: step, limits: limits, bodyLimit: bodyLimit,
                                                   streaming: streaming)
    return (messages.map { ($0.head, $0.body) }, error)
}

/// The single status a request is refused with, or nil when it parses; checked whole and byte by byte.
func refusal(_ text: String, bodyLimit: Int = 1 << 20, limits: RequestParser.Limits = .init()) -> Int? {
    let whole = parseAll(text, bodyLimit: bodyLimit, limits: limits).error?.status.code
    let single = parseAll(text, step: 1, bodyLimit: bodyLimit, limits: limits).error?.status.code
    #expect(whole == single, "whole and byte-by-byte parsing disagree for \(text.debugDescription)")
    return whole
}

@Suite struct RequestParserTests {
    @Test(arguments: [1, 2, 3, 7, Int.max])
    func parsesTheSameWhateverTheSplit(step: Int) throws {
        let text = "POST /api/v1/runs?x=1&y=%20 HTTP/1.1\r\nHost: example.com:8080\r\nContent-Length: 5\r\nX-A:  spaced value \t\r\n\r\nhello"
            + "GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nabcde\r\n3\r\nfgh\r\n0\r\nTrailer-Field: x\r\n\r\n"
        let (messages, error) = parseAll(text, step: step)
        #expect(error == nil)
        try #require(messages.count == 2)
        let (head, body) = messages[0]
        #expect(head.method == .post)
        #expect(head.path == "/api/v1/runs")
        #expect(head.query == "x=1&y=%20")
        #expect(head.version == .http1_1)
        #expect(head.authority == "example.com:8080")
        #expect(head.headers["x-a"] == "spaced value")
        #expect(head.framing == .length(5))
        #expect(String(decoding: body, as: UTF8.self) == "hello")
        #expect(String(decoding: messages[1].1, as: UTF8.self) == "abcdefgh")
        #expect(messages[1].0.framing == .chunked)
    }

    @Test func ignoresEmptyLinesBeforeTheRequestLine() {
        let (messages, error) = parseAll("\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", step: 1)
        #expect(error == nil)
        #expect(messages.count == 1)
    }

    @Test func targetForms() throws {
        let absolute = parseAll("GET http://Example.org:81/p/q?z=1 HTTP/1.1\r\nHost: ignored\r\n\r\n")
        let head = try #require(absolute.messages.first?.0)
        #expect(head.targetForm == .absolute)
        #expect(head.path == "/p/q")
        #expect(head.query == "z=1")
        #expect(head.authority == "Example.org:81")
        let bare = try #require(parseAll("GET http://example.org HTTP/1.1\r\nHost: example.org\r\n\r\n").messages.first?.0)
        #expect(bare.path == "/")
        let asterisk = try #require(parseAll("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n").messages.first?.0)
        #expect(asterisk.targetForm == .asterisk)
        #expect(refusal("GET * HTTP/1.1\r\nHost: a\r\n\r\n") == 400)
        let connect = try #require(parseAll("CONNECT example.org:443 HTTP/1.1\r\nHost: example.org:443\r\n\r\n").messages.first?.0)
        #expect(connect.targetForm == .authority)
        #expect(refusal("GET example.org:443 HTTP/1.1\r\nHost: a\r\n\r\n") == 400)
        #expect(refusal("GET /a#frag HTTP/1.1\r\nHost: a\r\n\r\n") == 400)
        #expect(refusal("GET http://user@evil/ HTTP/1.1\r\nHost: a\r\n\r\n") == 400)
    }

    @Test func hostRules() {
        #expect(refusal("GET / HTTP/1.1\r\n\r\n") == 400)
        #expect(refusal("GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n") == 400)
        #expect(refusal("GET / HTTP/1.1\r\nHost: a b\r\n\r\n") == 400)
        #expect(refusal("GET / HTTP/1.1\r\nHost: a/b\r\n\r\n") == 400)
        #expect(refusal("GET / HTTP/1.1\r\nHost: a:80x\r\n\r\n") == 400)
        #expect(refusal("GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n") == nil)
        #expect(refusal("GET / HTTP/1.1\r\nHost: \r\n\r\n") == nil)
        #expect(refusal("GET / HTTP/1.0\r\n\r\n") == nil)
        #expect(refusal("GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n") == 400)
    }

    @Test func fieldSyntax() {
        #expect(refusal("GET / HTTP/1.1\r\nHost : a\r\n\r\n") == 400)
        #expect(refusal("GET / HTTP/1.1\r\nHost: a\r\nX-Folded: one\r\n two\r\n\r\n") == 400)
        #expect(refusal("GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n") == 400)
        #expect(refusal("GET / HTTP/1.1\r\nHost: a\r\nX: a\u{0}b\r\n\r\n") == 400)
        #expect(refusal("GET / HTTP/1.1\r\nHost: a\r\nX: a\u{7f}b\r\n\r\n") == 400)
        #expect(refusal("GET / HTTP/1.1\r\nHost: a\nX: b\r\n\r\n") == 400)
        #expect(refusal("GET / HTTP/1.1\nHost: a\n\n") == 400)
        #expect(refusal("GET / HTTP/1.1\r\nHost: a\r\n: novalue\r\n\r\n") == 400)
        #expect(refusal("GET / HTTP/1.1\r\nHost: a\r\nNo-Colon\r\n\r\n") == 400)
        #expect(refusal("GET / HTTP/1.1\r\nHost: a\r\nBad(Name): x\r\n\r\n") == 400)
        #expect(refusal("GET / HTTP/1.1\r\nHost: a\r\nX: caf\u{e9} ok\r\n\r\n") == nil)
    }

    @Test func requestLineSyntax() {
        #expect(refusal("GET  / HTTP/1.1\r\nHost: a\r\n\r\n") == 400)
        #expect(refusal("GET / HTTP/1.1 \r\nHost: a\r\n\r\n") == 400)
        #expect(refusal("GET /\u{1}x HTTP/1.1\r\nHost: a\r\n\r\n") == 400)
        #expect(refusal("G(T / HTTP/1.1\r\nHost: a\r\n\r\n") == 400)
        #expect(refusal("GET / http/1.1\r\nHost: a\r\n\r\n") == 400)
        #expect(refusal("GET / HTTP/11\r\nHost: a\r\n\r\n") == 400)
        #expect(refusal("GET / HTTP/1.1x\r\nHost: a\r\n\r\n") == 400)
        #expect(refusal("GET / HTTP/2.0\r\nHost: a\r\n\r\n") == 505)
        #expect(refusal("GET / HTTP/0.9\r\nHost: a\r\n\r\n") == 505)
        #expect(parseAll("GET / HTTP/1.2\r\nHost: a\r\n\r\n").messages.first?.0.version == .http1_1)
        #expect(parseAll("BREW /pot HTTP/1.1\r\nHost: a\r\n\r\n").messages.first?.0.method.isKnown == false)
    }

    @Test(arguments: [1, 2, 7, 64, Int.max])
    func bodiesInPartsAreTheWholeBodies(step: Int) {
        let text = "POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 300\r\n\r\n" + String(repeating: "x", count: 300)
            + "POST /b HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;e=1\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\nT: 1\r\n\r\n"
            + "GET /c HTTP/1.1\r\nHost: a\r\n\r\n"
        let whole = parseAll(text, step: step)
        let parts = parseAll(text, step: step, streaming: true)
        #expect(whole.error == nil && parts.error == nil)
        #expect(whole.messages.map(\.1) == parts.messages.map(\.1))
        #expect(parts.messages.map { String(decoding: $0.1, as: UTF8.self) } == [String(repeating: "x", count: 300), "hello world", ""])
        // The limit holds over the parts too.
        let limited = parseAll(text, step: step, bodyLimit: 299, streaming: true)
        #expect(limited.error?.status.code == 413)
        let chunkedLimit = parseAll("POST /b HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n5\r\nworld\r\n0\r\n\r\n",
                                    step: step, bodyLimit: 9, streaming: true)
        #expect(chunkedLimit.error?.status.code == 413)
    }

    @Test func contentLengthRules() {
        for bad in ["+5", "-1", "0x10", "5 5", "5,6", "", "abc", "99999999999999999999999"] {
            #expect(refusal("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: \(bad)\r\n\r\nhello") == 400, "\(bad)")
        }
        #expect(refusal("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!") == 400)
        // Repeated or listed, even with equal values: refused, as llhttp does (no smuggling through a proxy that
        // reads the field differently).
        #expect(refusal("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello") == 400)
        #expect(refusal("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\nhello") == 400)
        #expect(refusal("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5,5\r\n\r\nhello") == 400)
        let single = parseAll("POST / HTTP/1.1\r\nHost: a\r\nContent-Length:  5 \r\n\r\nhello")
        #expect(single.error == nil)
        #expect(single.messages.first.map { String(decoding: $0.1, as: UTF8.self) } == "hello")
        #expect(refusal("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello", bodyLimit: 4) == 413)
    }

    @Test func transferEncodingRules() {
        let te = "POST / HTTP/1.1\r\nHost: a\r\n"
        #expect(refusal(te + "Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n") == 400)
        #expect(refusal(te + "Transfer-Encoding: chunked, gzip\r\n\r\n") == 400)
        #expect(refusal(te + "Transfer-Encoding: gzip\r\n\r\n") == 400)
        #expect(refusal(te + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n") == 400)
        #expect(refusal(te + "Transfer-Encoding: chunked, chunked\r\n\r\n") == 400)
        #expect(refusal(te + "Transfer-Encoding: foo, chunked\r\n\r\n0\r\n\r\n") == 501)
        #expect(refusal(te + "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n") == 501)
        #expect(refusal("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n") == 400)
        #expect(refusal(te + "Transfer-Encoding: Chunked\r\n\r\n0\r\n\r\n") == nil)
    }

    @Test func chunkedBodies() {
        let te = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
        #expect(refusal(te + "zz\r\nab\r\n0\r\n\r\n") == 400)
        #expect(refusal(te + "2\r\nabc\r\n0\r\n\r\n") == 400)
        #expect(refusal(te + "2\nab\r\n0\r\n\r\n") == 400)
        #expect(refusal(te + "2 x\r\nab\r\n0\r\n\r\n") == 400)
        #expect(refusal(te + "fffffffffffffffff\r\n") == 413)
        #expect(refusal(te + "10\r\n0123456789abcdef\r\n0\r\n\r\n", bodyLimit: 8) == 413)
        #expect(refusal(te + "2\r\nab\r\n0\r\nBad Trailer: x\r\n\r\n") == 400)
        // Chunk extensions as llhttp's strict mode takes them: `;name[=token|quoted-string]`, no whitespace.
        for bad in ["A ;x", "A; x", "A;x =1", "A;x= 1", "A;", "A;=1", "A;x=", "A;x=\"open", "A;x=a b", "A;x=\"a\u{1}\"", "A\t", "A;x=\"\\\u{1}\""] {
            #expect(refusal(te + bad + "\r\n0123456789\r\n0\r\n\r\n") == 400, "\(bad.debugDescription)")
        }
        let ok = parseAll(te + "A;name=\"quoted;value \\\"q\\\"\";flag;n=tok\r\n0123456789\r\n0;last\r\nX-Sum: 1\r\n\r\n", step: 1)
        #expect(ok.error == nil)
        #expect(ok.messages.first.map { String(decoding: $0.1, as: UTF8.self) } == "0123456789")
    }

    @Test func limits() {
        let limits = RequestParser.Limits(maximumRequestLineBytes: 64, maximumHeaderFieldBytes: 64,
                                          maximumHeaderBytes: 256, maximumHeaderCount: 5)
        #expect(refusal("GET /\(String(repeating: "a", count: 100)) HTTP/1.1\r\nHost: a\r\n\r\n", limits: limits) == 414)
        #expect(refusal("GET / HTTP/1.1\r\nHost: a\r\nX: \(String(repeating: "b", count: 100))\r\n\r\n", limits: limits) == 431)
        let many = (0..<6).map { "X-\($0): 1\r\n" }.joined()
        #expect(refusal("GET / HTTP/1.1\r\nHost: a\r\n\(many)\r\n", limits: limits) == 431)
        let big = (0..<5).map { "X-\($0): \(String(repeating: "c", count: 50))\r\n" }.joined()
        #expect(refusal("GET / HTTP/1.1\r\n\(big)\r\n", limits: limits) == 431)
        // A request line that never ends fails as soon as it passes the limit.
        #expect(parseAll("GET /" + String(repeating: "a", count: 200), limits: limits).error?.status.code == 414)
    }

    @Test func connectionAndExpectation() throws {
        let close = try #require(parseAll("GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, Close\r\n\r\n").messages.first?.0)
        #expect(!close.keepAlive)
        let old = try #require(parseAll("GET / HTTP/1.0\r\n\r\n").messages.first?.0)
        #expect(!old.keepAlive)
        let oldKeep = try #require(parseAll("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").messages.first?.0)
        #expect(oldKeep.keepAlive)
        let expect = try #require(parseAll("POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\nContent-Length: 1\r\n\r\nx").messages.first?.0)
        #expect(expect.expectsContinue)
        let odd = try #require(parseAll("GET / HTTP/1.1\r\nHost: a\r\nExpect: teapot\r\n\r\n").messages.first?.0)
        #expect(odd.hasUnsupportedExpectation)
    }
}

/// The byte-level helpers that replaced String work on the hot path.
@Suite struct HotPathHelperTests {
    @Test(arguments: [0, 7, 9, 10, 99, 100, 200, 404, 65_536, 1_234_567_890, Int(Int64.max)])
    func decimalDigitsMatchSwiftsDescription(_ value: Int) {
        var out: [UInt8] = [0x41]
        ResponseWriter.appendDecimal(value, to: &out)
        #expect(out == [0x41] + Array(String(value).utf8))
    }

    @Test func hostsWithEverySubDelimiterAndNothingElse() {
        for byte in UInt8(0x21)...UInt8(0x7E) {
            let host = "a" + String(UnicodeScalar(byte)) + "b"
            let unreserved = (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x30 && byte <= 0x39)
                || "-._~".utf8.contains(byte)
            let allowed = unreserved || "!$&'()*+,;=".utf8.contains(byte) || byte == 0x25 || byte == 0x3A
            let expected = byte == 0x3A ? false : allowed  // "a:b" has a port that is not digits
            #expect(CharacterClass.isValidHost(host) == expected, "\(host)")
        }
        #expect(CharacterClass.isValidHost("example.com:8080"))
        #expect(!CharacterClass.isValidHost("example.com:808080"))
    }

    @Test func caseInsensitiveNamesAndTrimmingOnEveryStringKind() {
        #expect("Content-Length".equalsIgnoringASCIICase("cONTENT-lENGTH"))
        #expect("Content-Length".equalsIgnoringASCIICase("content-length"[...]))
        #expect(!"Content-Length".equalsIgnoringASCIICase("Content-Lengtx"))
        #expect(!"Host".equalsIgnoringASCIICase("Hos"))
        #expect(!"a[".equalsIgnoringASCIICase("a{"))  // 0x5B and 0x7B differ by 0x20 but are not letters
        #expect(!"@".equalsIgnoringASCIICase("`"))
        #expect("ÉX".equalsIgnoringASCIICase("ÉX") && !"ÉX".equalsIgnoringASCIICase("éx"))
        #expect(" \ta b\t ".trimmingOWS() == "a b")
        #expect("a b".trimmingOWS() == "a b")
        #expect("x a b \t"[...].dropFirst().trimmingOWS() == "a b")
        #expect("  ".trimmingOWS() == "" && "".trimmingOWS() == "")
        #expect(" a".trimmingOWS() == "a" && "a\t".trimmingOWS() == "a")
    }

    @Test func framingFieldsAreFoundWhateverTheirCase() throws {
        let head = try #require(parseAll("POST / HTTP/1.1\r\nhOST: a\r\nCONTENT-length: 5\r\nconnection: CLOSE\r\n\r\nhello").messages.first)
        #expect(String(decoding: head.1, as: UTF8.self) == "hello")
        #expect(!head.0.keepAlive)
        #expect(head.0.authority == "a")
        #expect(refusal("GET / HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n") == 400)
        #expect(refusal("POST / HTTP/1.1\r\nHost: a\r\ncontent-length: 5\r\nTRANSFER-ENCODING: chunked\r\n\r\n") == 400)
        #expect(refusal("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5,\r\n\r\nhello") == 400)
    }

    @Test func pathAndQuerySplitAtTheFirstQuestionMark() {
        #expect(RequestParser.splitPathAndQuery("/a/b?x=1?y") == ("/a/b", "x=1?y"))
        #expect(RequestParser.splitPathAndQuery("/é?q=ü") == ("/é", "q=ü"))
        #expect(RequestParser.splitPathAndQuery("/plain") == ("/plain", nil))
        #expect(RequestParser.splitPathAndQuery("/?") == ("/", ""))
    }
}
