import HTTPServer
import Logging

/// The access log at `info`: one line per response, in the same shape as every other log line
/// (`2026-12-07T19:28:22+0000 info soot.http: bytes=512 method=GET ms=0.210 path=/o/acme peer=10.0.0.7
/// request_id=3f09c2e1a7b4d05 status=200 caller=session [HTTPServer] request`; the response's `logFields` follow the
/// status), written straight into the buffered sink: no metadata dictionary, no string per field.
/// Paths are redacted (`Redaction.path`) before they are written.
struct AccessLog: Sendable {
    let sink: LogSink
    let enabled: Bool

    init(sink: LogSink = .standardError, level: Logger.Level) {
        self.sink = sink
        enabled = level <= .info
    }

    func write(_ response: CompletedResponse) {
        guard enabled else { return }
        if sink.writesJSON { return writeJSON(response) }
        let path = response.path.map(Redaction.path) ?? "-"
        sink.appendLine(reserve: 200 + path.utf8.count) { line in
            Self.text(response, path: path, into: &line)
        }
    }

    /// The text line after its timestamp, appended to `line`.
    static func text(_ response: CompletedResponse, path: String, into line: inout [UInt8]) {
        line.append(contentsOf: Self.prefix)
        Self.decimal(response.bytes, &line)
        line.append(contentsOf: Self.method)
        line.append(contentsOf: (response.method?.rawValue ?? "-").utf8)
        line.append(contentsOf: Self.milliseconds)
        // Milliseconds with three decimals, from microseconds, without Foundation.
        let micros = max(0, Int((response.seconds * 1_000_000).rounded()))
        Self.decimal(micros / 1000, &line)
        line.append(0x2E)
        let fraction = micros % 1000
        if fraction < 100 { line.append(0x30) }
        if fraction < 10 { line.append(0x30) }
        Self.decimal(fraction, &line)
        line.append(contentsOf: Self.pathKey)
        line.append(contentsOf: path.utf8)
        line.append(contentsOf: Self.peerKey)
        line.append(contentsOf: response.peer.utf8)
        line.append(contentsOf: Self.requestKey)
        line.append(contentsOf: response.requestID.utf8)
        line.append(contentsOf: Self.statusKey)
        Self.decimal(response.status, &line)
        for field in response.fields {
            line.append(0x20)
            line.append(contentsOf: field.name.utf8)
            line.append(0x3D)
            line.append(contentsOf: field.value.utf8)
        }
        line.append(contentsOf: Self.suffix)
    }

    /// The same fields as one JSON object, with the route pattern too.
    func writeJSON(_ response: CompletedResponse) {
        let micros = max(0, Int((response.seconds * 1_000_000).rounded()))
        var line = "{\"time\":\(JSONText.quote(sink.timestamp())),\"level\":\"info\",\"label\":\"soot.http\",\"message\":\"request\""
        line += ",\"method\":\(JSONText.quote(response.method?.rawValue ?? "-")),\"path\":\(JSONText.quote(response.path.map(Redaction.path) ?? "-"))"
        line += ",\"route\":\(JSONText.quote(response.route ?? "-")),\"status\":\(response.status),\"bytes\":\(response.bytes)"
        line += ",\"ms\":\(micros / 1000).\(String(repeating: "0", count: 3 - String(micros % 1000).count))\(micros % 1000)"
        line += ",\"peer\":\(JSONText.quote(response.peer)),\"request_id\":\(JSONText.quote(response.requestID))"
        for field in response.fields { line += ",\(JSONText.quote(field.name)):\(JSONText.quote(field.value))" }
        line += "}\n"
        sink.write(Array(line.utf8), urgent: false)
    }

    private static let prefix = Array(" info soot.http: bytes=".utf8)
    private static let method = Array(" method=".utf8)
    private static let milliseconds = Array(" ms=".utf8)
    private static let pathKey = Array(" path=".utf8)
    private static let peerKey = Array(" peer=".utf8)
    private static let requestKey = Array(" request_id=".utf8)
    private static let statusKey = Array(" status=".utf8)
    private static let suffix = Array(" [HTTPServer] request\n".utf8)

    /// Digits of a whole number (a String of up to 15 bytes is stored inline: no allocation).
    private static func decimal(_ value: Int, _ out: inout [UInt8]) {
        out.append(contentsOf: String(max(0, value)).utf8)
    }
}
