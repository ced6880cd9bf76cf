import Glibc

/// The HTTP/1.1 request parser: a pure state machine fed bytes (RFC 9112).
///
/// The caller keeps the bytes the parser has not consumed and presents them again, with whatever arrived since,
/// on the next call. `parse(_:)` returns what it found and how many bytes it consumed. One message is:
/// `.head`, then (after the caller sets `bodyLimit`) `.body` with the whole decoded body; then the next message.
/// With `streamsBody` set after `.head`, the body comes instead as `.bodyPart`s as it arrives, and `.body` carries
/// the last part (possibly empty) and ends the message.
public struct RequestParser: Sendable {
    /// Size limits the parser enforces while it reads.
    public struct Limits: Sendable {
        /// Longest request line (method, target and version): 414 past it. Default 8 KiB.
        public var maximumRequestLineBytes: Int
        /// Longest single header field line: 431 past it. Default 16 KiB.
        public var maximumHeaderFieldBytes: Int
        /// Largest header section, request line included: 431 past it. Default 64 KiB.
        public var maximumHeaderBytes: Int
        /// Most header field lines: 431 past it. Default 100.
        public var maximumHeaderCount: Int
        /// Longest chunk-size line with its extensions, and largest trailer section. Default 4 KiB.
        public var maximumChunkLineBytes: Int

        public init(
            maximumRequestLineBytes: Int = 8 * 1024,
            maximumHeaderFieldBytes: Int = 16 * 1024,
            maximumHeaderBytes: Int = 64 * 1024,
            maximumHeaderCount: Int = 100,
            maximumChunkLineBytes: Int = 4 * 1024
        ) {
            self.maximumRequestLineBytes = maximumRequestLineBytes
            self.maximumHeaderFieldBytes = maximumHeaderFieldBytes
            self.maximumHeaderBytes = maximumHeaderBytes
            self.maximumHeaderCount = maximumHeaderCount
            self.maximumChunkLineBytes = maximumChunkLineBytes
        }
    }

    /// What a call to `parse` found.
    public enum Event: Sendable {
        /// More bytes are needed.
        case needMore
        /// A complete request head. Set `bodyLimit`, then call `parse` again for the body.
        case head(RequestHead)
        /// The complete, decoded body of the current request (empty when it has none); with `streamsBody`, its last
        /// part.
        case body([UInt8])
        /// With `streamsBody`: decoded body bytes that arrived, more to come.
        case bodyPart([UInt8])
    }

    enum ChunkState: Sendable {
        case size(scanned: Int)
        case data(remaining: Int)
        case dataEnd
        case trailer(scanned: Int, lineStart: Int)
    }

    enum State: Sendable {
        case head(scanned: Int, lineStart: Int, lines: Int)
        case bodyPending(BodyFraming)
        case length(remaining: Int)
        case chunked(ChunkState)
    }

    public let limits: Limits
    /// The largest body accepted for the current request: 413 past it. Set it after `.head`.
    public var bodyLimit: Int = 2 * 1024 * 1024
    /// Deliver the current request's body in parts (`.bodyPart`) as it arrives instead of whole. Set it after
    /// `.head`; it resets for the next message.
    public var streamsBody = false
    private var state: State = .head(scanned: 0, lineStart: 0, lines: 0)
    private var body: [UInt8] = []
    /// Decoded body bytes of the current message so far (for `bodyLimit` when parts are handed out).
    private var bodyTotal = 0

    public init(limits: Limits = Limits()) { self.limits = limits }

    /// True while no byte of a next request has been consumed or scanned.
    public var isAtMessageStart: Bool {
        if case .head(let scanned, _, _) = state { return scanned == 0 }
        return false
    }

    /// True between `.head` and `.body`.
    public var isReadingBody: Bool {
        if case .head = state { return false }
        return true
    }

    /// Consumes what it can of `input` (the unconsumed bytes, oldest first).
    public mutating func parse(_ input: UnsafeRawBufferPointer) throws(ParseError) -> (event: Event, consumed: Int) {
        switch state {
        case .head(let scanned, let lineStart, let lines):
            return try parseHead(input, scanned: scanned, lineStart: lineStart, lines: lines)
        case .bodyPending(let framing):
            switch framing {
            case .none:
                state = .head(scanned: 0, lineStart: 0, lines: 0)
                streamsBody = false
                return (.body([]), 0)
            case .length(let length):
                if length > bodyLimit { throw ParseError(.contentTooLarge, "the body is larger than \(bodyLimit) bytes") }
                body = []
                bodyTotal = 0
                if !streamsBody { body.reserveCapacity(length) }
                state = .length(remaining: length)
                return try parseLength(input, remaining: length)
            case .chunked:
                body = []
                bodyTotal = 0
                state = .chunked(.size(scanned: 0))
                return try parseChunked(input, consumedSoFar: 0)
            }
        case .length(let remaining):
            return try parseLength(input, remaining: remaining)
        case .chunked:
            return try parseChunked(input, consumedSoFar: 0)
        }
    }

    // MARK: Head

    private mutating func parseHead(
        _ input: UnsafeRawBufferPointer, scanned: Int, lineStart: Int, lines: Int
    ) throws(ParseError) -> (event: Event, consumed: Int) {
        if input.isEmpty { return (.needMore, 0) }
        // RFC 9112 section 2.2: ignore empty lines received before the request line.
        var skip = 0
        if scanned == 0 {
            while skip + 1 < input.count, input[skip] == 0x0D, input[skip + 1] == 0x0A { skip += 2 }
            if skip > 0 {
                let (event, consumed) = try parseHead(
                    UnsafeRawBufferPointer(rebasing: input[skip...]), scanned: 0, lineStart: 0, lines: 0)
                return (event, consumed + skip)
            }
            if input.count == 1 && input[0] == 0x0D { return (.needMore, 0) }
        }
        var position = scanned
        var lineStart = lineStart
        var lines = lines
        let count = input.count
        while position < count {
            guard let newline = Self.find(0x0A, in: input, from: position) else {
                position = count
                break
            }
            // Limits first, at the byte where feeding one byte at a time would have crossed them, so the answer
            // never depends on how the bytes were split into reads.
            if lines == 0, newline > lineStart + limits.maximumRequestLineBytes + 1 {
                throw ParseError(.uriTooLong, "the request line is longer than \(limits.maximumRequestLineBytes) bytes")
            }
            if lines > 0, newline > lineStart + limits.maximumHeaderFieldBytes + 1 {
                throw ParseError(.headerFieldsTooLarge, "a header field is longer than \(limits.maximumHeaderFieldBytes) bytes")
            }
            if newline > limits.maximumHeaderBytes + 2 {
                throw ParseError(.headerFieldsTooLarge, "the header section is larger than \(limits.maximumHeaderBytes) bytes")
            }
            // Every line must end in CRLF; a bare LF is refused (RFC 9112 section 2.2 lets us).
            if newline == lineStart || input[newline - 1] != 0x0D {
                throw ParseError(.badRequest, "a line ends in a bare LF")
            }
            let lineLength = newline + 1 - lineStart
            if lines == 0 {
                if lineLength - 2 > limits.maximumRequestLineBytes {
                    throw ParseError(.uriTooLong, "the request line is longer than \(limits.maximumRequestLineBytes) bytes")
                }
            } else if lineLength == 2 {
                // The empty line: the header section is complete.
                let end = newline + 1
                let head = try Self.buildHead(UnsafeRawBufferPointer(rebasing: input[0..<end]))
                state = .bodyPending(head.framing)
                return (.head(head), end)
            } else if lineLength - 2 > limits.maximumHeaderFieldBytes {
                throw ParseError(.headerFieldsTooLarge, "a header field is longer than \(limits.maximumHeaderFieldBytes) bytes")
            }
            lines += 1
            if lines - 1 > limits.maximumHeaderCount {
                throw ParseError(.headerFieldsTooLarge, "more than \(limits.maximumHeaderCount) header fields")
            }
            lineStart = newline + 1
            position = newline + 1
            if position > limits.maximumHeaderBytes {
                throw ParseError(.headerFieldsTooLarge, "the header section is larger than \(limits.maximumHeaderBytes) bytes")
            }
        }
        // The current line is incomplete: check it against its limit now, so a huge line fails early.
        let partial = count - lineStart
        if lines == 0, partial > limits.maximumRequestLineBytes + 1 {
            throw ParseError(.uriTooLong, "the request line is longer than \(limits.maximumRequestLineBytes) bytes")
        }
        if lines > 0, partial > limits.maximumHeaderFieldBytes + 1 {
            throw ParseError(.headerFieldsTooLarge, "a header field is longer than \(limits.maximumHeaderFieldBytes) bytes")
        }
        if count > limits.maximumHeaderBytes + 2 {
            throw ParseError(.headerFieldsTooLarge, "the header section is larger than \(limits.maximumHeaderBytes) bytes")
        }
        state = .head(scanned: max(position, 1), lineStart: lineStart, lines: lines)
        return (.needMore, 0)
    }

    @inline(__always)
    static func find(_ byte: UInt8, in input: UnsafeRawBufferPointer, from start: Int) -> Int? {
        guard start < input.count, let base = input.baseAddress else { return nil }
        guard let hit = memchr(base + start, Int32(byte), input.count - start) else { return nil }
        return UnsafeRawPointer(hit) - base
    }

    /// Builds the head from the complete header section (request line through the empty line).
    static func buildHead(_ section: UnsafeRawBufferPointer) throws(ParseError) -> RequestHead {
        var lineEnd = find(0x0A, in: section, from: 0)!
        let requestLine = UnsafeRawBufferPointer(rebasing: section[0..<(lineEnd - 1)])
        let (method, target, version) = try parseRequestLine(requestLine)

        var headers = HTTPHeaders(minimumCapacity: 12)
        var start = lineEnd + 1
        while start < section.count - 2 {
            lineEnd = find(0x0A, in: section, from: start)!
            let line = UnsafeRawBufferPointer(rebasing: section[start..<(lineEnd - 1)])
            headers.add(contentsOf: try parseField(line))
            start = lineEnd + 1
        }
        return try interpret(method: method, target: target, version: version, headers: headers)
    }

    static func parseRequestLine(_ line: UnsafeRawBufferPointer) throws(ParseError) -> (HTTPMethod, String, HTTPVersion) {
        guard let firstSpace = find(0x20, in: line, from: 0) else {
            throw ParseError(.badRequest, "the request line is malformed")
        }
        guard firstSpace > 0 else { throw ParseError(.badRequest, "the method is empty") }
        for index in 0..<firstSpace where !CharacterClass.isTokenByte(line[index]) {
            throw ParseError(.badRequest, "the method is not a token")
        }
        guard let secondSpace = find(0x20, in: line, from: firstSpace + 1), secondSpace > firstSpace + 1 else {
            throw ParseError(.badRequest, "the request target is missing or malformed")
        }
        for index in (firstSpace + 1)..<secondSpace {
            let byte = line[index]
            if byte <= 0x20 || byte >= 0x7F { throw ParseError(.badRequest, "the request target has a forbidden byte") }
        }
        let versionBytes = UnsafeRawBufferPointer(rebasing: line[(secondSpace + 1)...])
        let version = try parseVersion(versionBytes)
        let method = HTTPMethod(rawValue: String(decoding: UnsafeRawBufferPointer(rebasing: line[0..<firstSpace]), as: UTF8.self))
        let target = String(decoding: UnsafeRawBufferPointer(rebasing: line[(firstSpace + 1)..<secondSpace]), as: UTF8.self)
        return (method, target, version)
    }

    static func parseVersion(_ bytes: UnsafeRawBufferPointer) throws(ParseError) -> HTTPVersion {
        // HTTP-version = "HTTP/" DIGIT "." DIGIT, case-sensitive (RFC 9112 section 2.3).
        guard bytes.count == 8,
              bytes[0] == 0x48, bytes[1] == 0x54, bytes[2] == 0x54, bytes[3] == 0x50, bytes[4] == 0x2F,
              CharacterClass.isDigit(bytes[5]), bytes[6] == 0x2E, CharacterClass.isDigit(bytes[7])
        else { throw ParseError(.badRequest, "the HTTP version is malformed") }
        guard bytes[5] == 0x31 else { throw ParseError(.httpVersionNotSupported, "only HTTP/1.x is supported") }
        return bytes[7] == 0x30 ? .http1_0 : .http1_1
    }

    static func parseField(_ line: UnsafeRawBufferPointer) throws(ParseError) -> (name: String, value: String) {
        guard let first = line.first else { throw ParseError(.badRequest, "an empty header line") }
        if first == 0x20 || first == 0x09 {
            throw ParseError(.badRequest, "obsolete line folding is not accepted")
        }
        guard let colon = find(0x3A, in: line, from: 0) else {
            throw ParseError(.badRequest, "a header line has no colon")
        }
        guard colon > 0 else { throw ParseError(.badRequest, "a header field name is empty") }
        for index in 0..<colon where !CharacterClass.isTokenByte(line[index]) {
            let byte = line[index]
            if byte == 0x20 || byte == 0x09 {
                throw ParseError(.badRequest, "whitespace between a header field name and the colon")
            }
            throw ParseError(.badRequest, "a header field name has a forbidden byte")
        }
        var start = colon + 1
        var end = line.count
        while start < end, line[start] == 0x20 || line[start] == 0x09 { start += 1 }
        while end > start, line[end - 1] == 0x20 || line[end - 1] == 0x09 { end -= 1 }
        for index in start..<end where !CharacterClass.isFieldValueByte(line[index]) {
            throw ParseError(.badRequest, "a header field value has a control byte")
        }
        return (
            String(decoding: UnsafeRawBufferPointer(rebasing: line[0..<colon]), as: UTF8.self),
            String(decoding: UnsafeRawBufferPointer(rebasing: line[start..<end]), as: UTF8.self)
        )
    }

    // MARK: Semantics of the head

    static func interpret(
        method: HTTPMethod, target: String, version: HTTPVersion, headers: HTTPHeaders
    ) throws(ParseError) -> RequestHead {
        // The fields framing and routing depend on, gathered in one pass (each name compared only with the
        // names of its length).
        var host: String?
        var hostCount = 0
        var transferEncodings: [String] = []
        var contentLengths: [String] = []
        var connections: [String] = []
        var expects: [String] = []
        for (name, value) in headers.fields {
            switch name.utf8.count {
            case 4:
                if name.equalsIgnoringASCIICase("Host") {
                    hostCount += 1
                    if host == nil { host = value }
                }
            case 6: if name.equalsIgnoringASCIICase("Expect") { expects.append(value) }
            case 10: if name.equalsIgnoringASCIICase("Connection") { connections.append(value) }
            case 14: if name.equalsIgnoringASCIICase("Content-Length") { contentLengths.append(value) }
            case 17: if name.equalsIgnoringASCIICase("Transfer-Encoding") { transferEncodings.append(value) }
            default: break
            }
        }

        // Host: exactly one in HTTP/1.1, at most one in 1.0, valid syntax (RFC 9112 section 3.2).
        if hostCount > 1 { throw ParseError(.badRequest, "more than one Host header field") }
        if version == .http1_1 && host == nil { throw ParseError(.badRequest, "the Host header field is missing") }
        if let host, !CharacterClass.isValidHost(host) {
            throw ParseError(.badRequest, "the Host header field is invalid")
        }

        // Target forms (RFC 9112 section 3.2).
        var form = TargetForm.origin
        var path = "/"
        var query: String?
        var authority = host
        if target.utf8.first == 0x2F {
            (path, query) = splitPathAndQuery(Substring(target))
        } else if target == "*" {
            guard method == .options else { throw ParseError(.badRequest, "the asterisk target is only for OPTIONS") }
            form = .asterisk
        } else if method == .connect {
            guard CharacterClass.isValidHost(target), target.contains(":") else {
                throw ParseError(.badRequest, "CONNECT needs an authority-form target")
            }
            form = .authority
            authority = target
        } else if let rest = absoluteRemainder(target) {
            form = .absolute
            let authorityEnd: Substring.Index = rest.firstIndex { (c: Character) in c == "/" || c == "?" || c == "#" } ?? rest.endIndex
            let targetAuthority = String(rest[..<authorityEnd])
            if targetAuthority.contains("@") || !CharacterClass.isValidHost(targetAuthority) || targetAuthority.isEmpty {
                throw ParseError(.badRequest, "the absolute-form target has an invalid authority")
            }
            authority = targetAuthority
            let remainder = rest[authorityEnd...]
            if remainder.first == "#" { throw ParseError(.badRequest, "a fragment in the request target") }
            if remainder.isEmpty {
                path = "/"
            } else if remainder.first == "?" {
                (path, query) = ("/", String(remainder.dropFirst()))
            } else {
                (path, query) = splitPathAndQuery(remainder)
            }
        } else {
            throw ParseError(.badRequest, "the request target is not in a valid form")
        }
        if target.utf8.contains(UInt8(ascii: "#")) { throw ParseError(.badRequest, "a fragment in the request target") }

        // Framing (RFC 9112 section 6).
        var framing = BodyFraming.none
        if !transferEncodings.isEmpty {
            if version == .http1_0 {
                throw ParseError(.badRequest, "Transfer-Encoding in an HTTP/1.0 request")
            }
            if !contentLengths.isEmpty {
                throw ParseError(.badRequest, "both Transfer-Encoding and Content-Length")
            }
            let codings = HTTPHeaders.tokens(of: transferEncodings)
            guard let last = codings.last else { throw ParseError(.badRequest, "an empty Transfer-Encoding") }
            if codings.filter({ $0 == "chunked" }).count > 1 {
                throw ParseError(.badRequest, "chunked is applied more than once")
            }
            if last != "chunked" {
                // Without chunked last the length cannot be known (RFC 9112 section 6.3, rule 4): 400, close.
                throw ParseError(.badRequest, "chunked is not the final transfer coding")
            }
            // chunked is last; any coding before it would have to be decoded, which we do not do.
            if codings.count > 1 { throw ParseError(.notImplemented, "the transfer coding is not supported") }
            framing = .chunked
        } else if !contentLengths.isEmpty {
            // Exactly one field with one number. RFC 9110 section 8.6 lets a recipient accept a list of equal
            // values, but strict parsers (llhttp) refuse it and a proxy in front may have read it differently:
            // refusing closes the door to request smuggling between the two.
            if contentLengths.count > 1 { throw ParseError(.badRequest, "Content-Length is given more than once") }
            guard let length = parseContentLength(contentLengths[0].trimmingOWS()) else {
                throw ParseError(.badRequest, "Content-Length is not a single valid number")
            }
            if length > 0 { framing = .length(length) }
        }

        // Connection and Expect.
        let connection = HTTPHeaders.tokens(of: connections)
        let keepAlive: Bool
        if connection.contains("close") {
            keepAlive = false
        } else if version == .http1_0 {
            keepAlive = connection.contains("keep-alive")
        } else {
            keepAlive = true
        }
        let expectations = HTTPHeaders.tokens(of: expects)
        let expectsContinue = version == .http1_1 && expectations == ["100-continue"]
        let unsupportedExpectation = !expectations.isEmpty && expectations != ["100-continue"]

        return RequestHead(
            method: method, target: target, targetForm: form, path: path, query: query, version: version,
            headers: headers, authority: authority, framing: framing, keepAlive: keepAlive,
            expectsContinue: expectsContinue, hasUnsupportedExpectation: unsupportedExpectation)
    }

    /// For `http://` or `https://` targets (scheme case-insensitive), what follows the `://`.
    static func absoluteRemainder(_ target: String) -> Substring? {
        for scheme in ["http://", "https://"] where target.utf8.count > scheme.utf8.count {
            if target.prefix(scheme.count).lowercasedASCII() == scheme {
                return target.dropFirst(scheme.count)
            }
        }
        return nil
    }

    static func splitPathAndQuery(_ text: Substring) -> (String, String?) {
        if let mark = text.utf8.firstIndex(of: UInt8(ascii: "?")) {
            return (String(text[..<mark]), String(text[text.utf8.index(after: mark)...]))
        }
        return (String(text), nil)
    }

    /// 1*DIGIT without overflow; nil for anything else (signs, spaces inside, hex, empty).
    static func parseContentLength(_ text: String) -> Int? {
        guard !text.isEmpty, text.utf8.count <= 18 else { return nil }
        var value = 0
        for byte in text.utf8 {
            guard CharacterClass.isDigit(byte) else { return nil }
            value = value * 10 + Int(byte - 0x30)
        }
        return value
    }

    // MARK: Body

    private mutating func parseLength(_ input: UnsafeRawBufferPointer, remaining: Int) throws(ParseError) -> (event: Event, consumed: Int) {
        let take = min(remaining, input.count)
        if take > 0 { body.append(contentsOf: UnsafeRawBufferPointer(rebasing: input[0..<take])) }
        let left = remaining - take
        if left == 0 {
            return (finishBody(), take)
        }
        state = .length(remaining: left)
        return (takePart(), take)
    }

    private mutating func parseChunked(_ input: UnsafeRawBufferPointer, consumedSoFar: Int) throws(ParseError) -> (event: Event, consumed: Int) {
        var offset = consumedSoFar
        while case .chunked(let chunk) = state {
            switch chunk {
            case .size(let scanned):
                guard let newline = Self.find(0x0A, in: input, from: offset + scanned) else {
                    let pending = input.count - offset
                    if pending > limits.maximumChunkLineBytes {
                        throw ParseError(.badRequest, "a chunk-size line is too long")
                    }
                    state = .chunked(.size(scanned: pending))
                    return (takePart(), offset)
                }
                guard newline > offset, input[newline - 1] == 0x0D else {
                    throw ParseError(.badRequest, "a chunk-size line ends in a bare LF")
                }
                let line = UnsafeRawBufferPointer(rebasing: input[offset..<(newline - 1)])
                let size = try Self.parseChunkSize(line)
                offset = newline + 1
                if size == 0 {
                    state = .chunked(.trailer(scanned: 0, lineStart: 0))
                } else {
                    if bodyTotal + body.count + size > bodyLimit {
                        throw ParseError(.contentTooLarge, "the body is larger than \(bodyLimit) bytes")
                    }
                    state = .chunked(.data(remaining: size))
                }
            case .data(let remaining):
                let take = min(remaining, input.count - offset)
                if take > 0 {
                    body.append(contentsOf: UnsafeRawBufferPointer(rebasing: input[offset..<(offset + take)]))
                    offset += take
                }
                if take == remaining {
                    state = .chunked(.dataEnd)
                } else {
                    state = .chunked(.data(remaining: remaining - take))
                    return (takePart(), offset)
                }
            case .dataEnd:
                if input.count - offset < 2 {
                    if input.count - offset == 1, input[offset] != 0x0D {
                        throw ParseError(.badRequest, "chunk data is not followed by CRLF")
                    }
                    return (takePart(), offset)
                }
                guard input[offset] == 0x0D, input[offset + 1] == 0x0A else {
                    throw ParseError(.badRequest, "chunk data is not followed by CRLF")
                }
                offset += 2
                state = .chunked(.size(scanned: 0))
            case .trailer(let scanned, let lineStart):
                // Trailer fields are parsed for validity and discarded (RFC 9112 section 7.1.2).
                var position = offset + scanned
                var currentLineStart = offset + lineStart
                while true {
                    guard let newline = Self.find(0x0A, in: input, from: position) else {
                        if input.count - offset > limits.maximumChunkLineBytes {
                            throw ParseError(.badRequest, "the trailer section is too large")
                        }
                        state = .chunked(.trailer(scanned: input.count - offset, lineStart: currentLineStart - offset))
                        return (takePart(), offset)
                    }
                    guard newline > currentLineStart, input[newline - 1] == 0x0D else {
                        throw ParseError(.badRequest, "a trailer line ends in a bare LF")
                    }
                    if newline - 1 == currentLineStart {
                        offset = newline + 1
                        return (finishBody(), offset)
                    }
                    _ = try Self.parseField(UnsafeRawBufferPointer(rebasing: input[currentLineStart..<(newline - 1)]))
                    if newline + 1 - offset > limits.maximumChunkLineBytes {
                        throw ParseError(.badRequest, "the trailer section is too large")
                    }
                    currentLineStart = newline + 1
                    position = newline + 1
                }
            }
        }
        return (takePart(), offset)
    }

    /// The end of the message's body: the whole body, or with `streamsBody` what is left of it.
    private mutating func finishBody() -> Event {
        state = .head(scanned: 0, lineStart: 0, lines: 0)
        let result = body
        body = []
        bodyTotal = 0
        streamsBody = false
        return .body(result)
    }

    /// With `streamsBody`, the decoded bytes gathered so far as a part (when there are any); otherwise more is
    /// needed.
    private mutating func takePart() -> Event {
        guard streamsBody, !body.isEmpty else { return .needMore }
        let part = body
        bodyTotal += part.count
        body = []
        return .bodyPart(part)
    }

    /// chunk-size [ chunk-ext ]: hex digits, then optional `;name[=value]` extensions, checked and ignored.
    static func parseChunkSize(_ line: UnsafeRawBufferPointer) throws(ParseError) -> Int {
        var size = 0
        var digits = 0
        var index = 0
        while index < line.count, let digit = CharacterClass.hexValue(line[index]) {
            digits += 1
            if digits > 15 { throw ParseError(.contentTooLarge, "a chunk size is too large") }
            size = size << 4 | Int(digit)
            index += 1
        }
        if digits == 0 { throw ParseError(.badRequest, "a chunk size is not hexadecimal") }
        // What follows: chunk-ext = *( ";" ext-name [ "=" ext-val ] ), names tokens, values tokens or
        // quoted-strings (RFC 9112 section 7.1.1). Like llhttp in strict mode, no whitespace anywhere.
        var rest = index
        while rest < line.count {
            guard line[rest] == 0x3B else { throw ParseError(.badRequest, "a chunk size has trailing garbage") }
            rest += 1
            let nameStart = rest
            while rest < line.count, CharacterClass.isTokenByte(line[rest]) { rest += 1 }
            if rest == nameStart { throw ParseError(.badRequest, "a chunk extension has no name") }
            guard rest < line.count, line[rest] == 0x3D else { continue }
            rest += 1
            if rest < line.count, line[rest] == 0x22 {
                rest += 1
                var closed = false
                while rest < line.count {
                    let byte = line[rest]
                    if byte == 0x22 { closed = true; rest += 1; break }
                    if byte == 0x5C {
                        rest += 1
                        guard rest < line.count, CharacterClass.isFieldValueByte(line[rest]) else {
                            throw ParseError(.badRequest, "a chunk extension has an invalid quoted pair")
                        }
                    } else if !CharacterClass.isFieldValueByte(byte) {
                        throw ParseError(.badRequest, "a chunk extension has a control byte")
                    }
                    rest += 1
                }
                if !closed { throw ParseError(.badRequest, "a chunk extension has an unterminated quoted string") }
            } else {
                let valueStart = rest
                while rest < line.count, CharacterClass.isTokenByte(line[rest]) { rest += 1 }
                if rest == valueStart { throw ParseError(.badRequest, "a chunk extension has an empty value") }
            }
        }
        return size
    }
}

/// Byte classes from RFC 9110's grammar.
enum CharacterClass {
    /// tchar: "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA
    static let tokenTable: [Bool] = {
        var table = [Bool](repeating: false, count: 256)
        for byte in UInt8(ascii: "0")...UInt8(ascii: "9") { table[Int(byte)] = true }
        for byte in UInt8(ascii: "a")...UInt8(ascii: "z") { table[Int(byte)] = true }
        for byte in UInt8(ascii: "A")...UInt8(ascii: "Z") { table[Int(byte)] = true }
        for byte in "!#$%&'*+-.^_`|~".utf8 { table[Int(byte)] = true }
        return table
    }()

    @inline(__always) static func isTokenByte(_ byte: UInt8) -> Bool { tokenTable[Int(byte)] }
    @inline(__always) static func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }

    /// field-vchar / SP / HTAB, with obs-text; never CR, LF, NUL or another control byte.
    @inline(__always) static func isFieldValueByte(_ byte: UInt8) -> Bool {
        byte == 0x09 || (byte >= 0x20 && byte != 0x7F)
    }

    static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 0x30...0x39: return byte - 0x30
        case 0x41...0x46: return byte - 0x41 + 10
        case 0x61...0x66: return byte - 0x61 + 10
        default: return nil
        }
    }

    /// sub-delims (RFC 3986 section 2.2): ! $ & ' ( ) * + , ; =
    static func isSubDelimiter(_ byte: UInt8) -> Bool {
        switch byte {
        case 0x21, 0x24, 0x26, 0x27, 0x28, 0x29, 0x2A, 0x2B, 0x2C, 0x3B, 0x3D: return true
        default: return false
        }
    }

    /// uri-host [ ":" port ] (RFC 9110 section 7.2): reg-name, IPv4 or an IP-literal in brackets.
    static func isValidHost(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        var index = 0
        if bytes.first == 0x5B {  // "[" IP-literal "]"
            guard let close = bytes.firstIndex(of: 0x5D) else { return false }
            for byte in bytes[1..<close] {
                let ok = isDigit(byte) || hexValue(byte) != nil || byte == 0x3A || byte == 0x2E
                    || (byte >= 0x61 && byte <= 0x7A) || byte == 0x76 || byte == 0x56
                if !ok { return false }
            }
            if close == 1 { return false }
            index = close + 1
        } else {
            while index < bytes.count, bytes[index] != 0x3A {
                let byte = bytes[index]
                let unreserved = (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x41 && byte <= 0x5A) || isDigit(byte)
                    || byte == 0x2D || byte == 0x2E || byte == 0x5F || byte == 0x7E
                if !(unreserved || isSubDelimiter(byte) || byte == 0x25) { return false }
                index += 1
            }
        }
        if index == bytes.count { return true }
        guard bytes[index] == 0x3A else { return false }
        let port = bytes[(index + 1)...]
        return port.count <= 5 && port.allSatisfy(isDigit)
    }
}

extension HTTPHeaders {
    mutating func add(contentsOf field: (name: String, value: String)) { add(field.name, field.value) }
}
