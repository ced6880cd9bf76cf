import Glibc
import HTTPServer
import Logging
@testable import SootStore
@testable import SootWeb
import Testing

/// The access log goes through a buffer and a background flush instead of a write per line.
@Suite struct BufferedLogTests {
    /// A pipe whose read end the test drains.
    struct Pipe {
        let read: Int32, write: Int32
        init() {
            var ends: [Int32] = [0, 0]
            precondition(pipe(&ends) == 0)
            read = ends[0]; write = ends[1]
            _ = fcntl(read, F_SETFL, fcntl(read, F_GETFL) | O_NONBLOCK)
        }
        func drain() -> String {
            var all: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 65_536)
            while true {
                let count = buffer.withUnsafeMutableBytes { Glibc.read(read, $0.baseAddress, $0.count) }
                if count <= 0 { break }
                all += buffer[0..<count]
            }
            return String(decoding: all, as: UTF8.self)
        }
    }

    @Test func theAccessLineIsWrittenWithoutSwiftLogAndRedacted() throws {
        let pipe = Pipe()
        let sink = LogSink(descriptor: pipe.write, interval: 60)
        let log = AccessLog(sink: sink, level: .info)
        log.write(CompletedResponse(method: .post, path: "/ingest/soot_prj_abcdefghijklmnopqrstuvwxyz0123456789", peer: "10.0.0.7",
                                    route: "/ingest/:token", status: 201, bytes: 512, seconds: 0.00021, requestID: "0123456789abcde",
                                    fields: [(name: "caller", value: "project_token"), (name: "organization_id", value: "o-1")]))
        log.write(CompletedResponse(method: nil, path: nil, peer: "10.0.0.8", route: nil, status: 400, bytes: 0, seconds: 12.3456789))
        sink.flush()
        let lines = pipe.drain().split(separator: "\n").map(String.init)
        #expect(lines.count == 2)
        // The same shape as every other line: time, level, label, sorted key=value pairs, [source] message.
        #expect(lines[0].hasSuffix(" info soot.http: bytes=512 method=POST ms=0.210 path=/ingest/[redacted] peer=10.0.0.7 request_id=0123456789abcde status=201 caller=project_token organization_id=o-1 [HTTPServer] request"),
                "\(lines[0])")
        #expect(lines[1].hasSuffix(" info soot.http: bytes=0 method=- ms=12345.679 path=- peer=10.0.0.8 request_id= status=400 [HTTPServer] request"),
                "\(lines[1])")
        // At warning, nothing.
        AccessLog(sink: sink, level: .warning).write(CompletedResponse(method: .get, path: "/", peer: "p", route: nil, status: 200,
                                                                         bytes: 1, seconds: 0))
        sink.flush()
        #expect(pipe.drain().isEmpty)
    }

    @Test func jsonLinesAreOneObjectEachWithEveryField() throws {
        let pipe = Pipe()
        let sink = LogSink(descriptor: pipe.write, interval: 60)
        sink.setJSON(true)
        AccessLog(sink: sink, level: .info).write(CompletedResponse(method: .get, path: "/invitations/secret-part", peer: "10.0.0.9",
                                                                    route: "/invitations/:secret", status: 200, bytes: 42, seconds: 0.0015,
                                                                    requestID: "r-1", fields: [(name: "caller", value: "session")]))
        var logger = Logger(label: "soot.test") { BufferedLogHandler(label: $0, sink: sink) }
        logger.logLevel = .info
        logger.warning("a \"quoted\"\nmessage", metadata: ["sqlstate": "53100"])
        sink.flush()
        let lines = pipe.drain().split(separator: "\n").map(String.init)
        #expect(lines.count == 2)
        let access = try #require(JSONValue.parse(Array(lines[0].utf8)))
        #expect(access["message"] == "request" && access["level"] == "info" && access["label"] == "soot.http")
        #expect(access["method"] == "GET" && access["route"] == "/invitations/:secret" && access["status"] == 200 && access["bytes"] == 42)
        #expect(access["path"] == "/invitations/[redacted]" && access["peer"] == "10.0.0.9" && access["ms"] == 1.5)
        #expect(access["time"]?.stringValue?.isEmpty == false)
        #expect(access["request_id"] == "r-1" && access["caller"] == "session")
        let warning = try #require(JSONValue.parse(Array(lines[1].utf8)))
        #expect(warning["level"] == "warning" && warning["message"] == "a \"quoted\"\nmessage" && warning["sqlstate"] == "53100")
    }

    @Test func infoWaitsForTheFlushWarningsDoNotAndOrderIsKept() throws {
        let pipe = Pipe()
        let sink = LogSink(descriptor: pipe.write, interval: 0.2)
        var logger = Logger(label: "soot.test") { BufferedLogHandler(label: $0, sink: sink) }
        logger.logLevel = .debug
        logger.info("first", metadata: ["b": "2", "a": "1"])
        #expect(pipe.drain() == "", "an info line was written at once")
        logger.warning("second")
        let both = pipe.drain()
        let lines = both.split(separator: "\n")
        #expect(lines.count == 2)
        #expect(lines.first?.hasSuffix(" info soot.test: a=1 b=2 [SootAppTests] first") == true, "\(both)")
        #expect(lines.last?.hasSuffix(" warning soot.test: [SootAppTests] second") == true, "\(both)")
        logger.debug("third")
        usleep(600_000)  // the background flush
        #expect(pipe.drain().hasSuffix(" debug soot.test: [SootAppTests] third\n"))
        close(pipe.read); close(pipe.write)
    }

    @Test func theCallsMetadataOverridesTheLoggersAndBothAreWritten() throws {
        let pipe = Pipe()
        let sink = LogSink(descriptor: pipe.write, interval: 3600)
        var logger = Logger(label: "soot.test") { BufferedLogHandler(label: $0, sink: sink) }
        logger[metadataKey: "a"] = "logger"
        logger[metadataKey: "z"] = "kept"
        logger.error("message", metadata: ["a": "call", "m": "1"])
        #expect(pipe.drain().hasSuffix(" error soot.test: a=call m=1 z=kept [SootAppTests] message\n"))
        close(pipe.read); close(pipe.write)
    }

    @Test func aLogNobodyReadsDropsLinesInsteadOfBlocking() throws {
        let pipe = Pipe()
        let sink = LogSink(descriptor: pipe.write, interval: 3600)
        _ = fcntl(pipe.write, F_SETFL, fcntl(pipe.write, F_GETFL) | O_NONBLOCK)  // a full pipe refuses instead of blocking
        let line = Array(String(repeating: "x", count: 1023).utf8) + [0x0A]
        for _ in 0..<(LogSink.maximumPending / line.count + 200) { sink.write(line, urgent: false) }
        sink.flush()
        var text = pipe.drain()
        sink.flush()  // the rest, and the count of what was dropped
        text += pipe.drain()
        sink.flush()
        text += pipe.drain()
        #expect(text.contains("log lines dropped"), "no drop was reported")
        close(pipe.read); close(pipe.write)
    }
}
