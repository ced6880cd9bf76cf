/// Turns responses into HTTP/1.1 bytes, as a pure value: the status line, the handler's headers (less the framing,
/// `Connection` and `Date`, which are the server's own), the date, `Server`, the configured default headers, the
/// framing, and the body. It appends to a buffer and never touches a socket, so tests read its bytes directly.
struct ResponseWriter: Sendable {
    /// `Server: <name>\r\n`, or nothing.
    let serverLine: [UInt8]
    /// The configured default headers: each name and its whole line, added when the handler set no header of that name.
    let defaultHeaders: [(name: String, line: [UInt8])]

    init(serverName: String?, defaultHeaders: [(name: String, value: String)]) {
        serverLine = Array((serverName.map { "Server: \($0)\r\n" } ?? "").utf8)
        self.defaultHeaders = defaultHeaders.map { ($0.name, Array("\($0.name): \($0.value)\r\n".utf8)) }
    }

    static let continueLine = Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)
    static let lastChunk = Array("0\r\n\r\n".utf8)

    /// Appends `response` for a request with `head` (nil: no request was parsed) and returns the bytes appended.
    /// `keepAlive` false adds `Connection: close`; `streamed` writes the head only (a `.stream` body follows in
    /// chunks, or until the close for HTTP/1.0). A HEAD request and a 1xx/204/304 status get no body.
    /// The response's headers must be valid (`HeaderValidation`); the connection checks that before.
    @discardableResult
    func append(_ response: Response, head: RequestHead?, keepAlive: Bool, streamed: Bool, date: [UInt8],
                requestID: String = "", to output: inout [UInt8]) -> Int {
        let status = response.status
        let start = output.count
        output.append(contentsOf: "HTTP/1.1 ".utf8)
        Self.appendDecimal(status.code, to: &output)
        output.append(0x20)
        output.append(contentsOf: status.reason.utf8)
        output.append(0x0D); output.append(0x0A)
        for (name, value) in response.headers {
            // Framing and the date are the server's own (below).
            switch name.utf8.count {
            case 14: if name.equalsIgnoringASCIICase("Content-Length") { continue }
            case 17: if name.equalsIgnoringASCIICase("Transfer-Encoding") { continue }
            case 10: if name.equalsIgnoringASCIICase("Connection") { continue }
            case 4: if name.equalsIgnoringASCIICase("Date") { continue }
            case 12: if !requestID.isEmpty && name.equalsIgnoringASCIICase("X-Request-Id") { continue }
            default: break
            }
            output.append(contentsOf: name.utf8)
            output.append(0x3A); output.append(0x20)
            output.append(contentsOf: value.utf8)
            output.append(0x0D); output.append(0x0A)
        }
        output.append(contentsOf: "Date: ".utf8)
        output.append(contentsOf: date)
        output.append(0x0D); output.append(0x0A)
        output.append(contentsOf: serverLine)
        if !requestID.isEmpty {
            output.append(contentsOf: "X-Request-Id: ".utf8)
            output.append(contentsOf: requestID.utf8)
            output.append(0x0D); output.append(0x0A)
        }
        for (name, line) in defaultHeaders where !response.headers.contains(name) {
            output.append(contentsOf: line)
        }
        var body: [UInt8] = []
        if !status.forbidsBody {
            switch response.body {
            case .bytes(let bytes):
                output.append(contentsOf: "Content-Length: ".utf8)
                Self.appendDecimal(bytes.count, to: &output)
                output.append(0x0D); output.append(0x0A)
                body = bytes
            case .stream:
                if head?.version == .http1_1 {
                    output.append(contentsOf: "Transfer-Encoding: chunked\r\n".utf8)
                }
            case .deferred:
                // Never written: a deferred response is replaced by what its promise delivers.
                output.append(contentsOf: "Content-Length: 0\r\n".utf8)
            }
        }
        if !keepAlive {
            output.append(contentsOf: "Connection: close\r\n".utf8)
        } else if head?.version == .http1_0 {
            output.append(contentsOf: "Connection: keep-alive\r\n".utf8)
        }
        output.append(0x0D); output.append(0x0A)
        if head?.method != .head && !status.forbidsBody && !streamed {
            output.append(contentsOf: body)
        }
        return output.count - start
    }

    /// One piece of a streamed body: a chunk for chunked framing, the bytes as they are otherwise.
    static func appendChunk(_ bytes: [UInt8], chunked: Bool, to output: inout [UInt8]) {
        guard chunked else { return output.append(contentsOf: bytes) }
        output.append(contentsOf: String(bytes.count, radix: 16).utf8)
        output.append(0x0D); output.append(0x0A)
        output.append(contentsOf: bytes)
        output.append(0x0D); output.append(0x0A)
    }

    /// The decimal digits of a non-negative `value`, without making a String.
    static func appendDecimal(_ value: Int, to output: inout [UInt8]) {
        precondition(value >= 0)
        var divisor = 1
        while divisor <= value / 10 { divisor *= 10 }
        var rest = value
        while divisor > 0 {
            output.append(0x30 + UInt8(rest / divisor))
            rest %= divisor
            divisor /= 10
        }
    }
}

/// Refuses header names that are not tokens and values with CR, LF, NUL or other control bytes.
enum HeaderValidation {
    static func isValid(_ headers: HTTPHeaders) -> Bool {
        for (name, value) in headers {
            var name = name, value = value
            if name.isEmpty || !name.withUTF8({ $0.allSatisfy(CharacterClass.isTokenByte) }) { return false }
            if !value.withUTF8({ $0.allSatisfy(CharacterClass.isFieldValueByte) }) { return false }
        }
        return true
    }
}
