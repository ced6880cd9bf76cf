import Foundation
import HTTPServer

/// A response as read off the wire by `RawConnection`.
public struct RawResponse: Sendable {
    public let status: Int
    public let reason: String
    public let headers: [(name: String, value: String)]
    public let body: [UInt8]

    public func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    public func headers(_ name: String) -> [String] {
        headers.filter { $0.name.lowercased() == name.lowercased() }.map(\.value)
    }

    public var text: String { String(decoding: body, as: UTF8.self) }
}

/// A blocking TCP client that sends exact bytes and parses responses itself, for testing framing.
public final class RawConnection {
    public enum Failure: Error { case connect(Int32), timeout, closed(String), malformed(String) }

    public private(set) var fd: Int32
    private var buffer: [UInt8] = []
    public private(set) var peerClosed = false
    public private(set) var lastError: Int32 = 0

    public init(port: UInt16, host: String = "127.0.0.1") throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        inet_pton(AF_INET, host, &address.sin_addr)
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if rc != 0 {
            let code = errno
            Glibc.close(fd)
            fd = -1  // deinit runs for a class whose init throws after setting every property
            throw Failure.connect(code)
        }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    deinit { if fd >= 0 { Glibc.close(fd) } }

    /// Sends the text as UTF-8 bytes (write "\r\n" explicitly).
    public func send(_ text: String) throws { try send(Array(text.utf8)) }

    public func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { throw Failure.closed("send fd=\(fd) errno=\(errno)") }
            offset += n
        }
    }

    /// Half-closes the sending side.
    public func shutdownWrite() { Glibc.shutdown(fd, Int32(SHUT_WR)) }

    /// Reads more bytes into the buffer; false on EOF or timeout.
    private func fill(deadline: Date) throws -> Bool {
        let remaining = deadline.timeIntervalSinceNow
        if remaining <= 0 { throw Failure.timeout }
        var item = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let ready = poll(&item, 1, Int32(remaining * 1000) + 1)
        if ready == 0 { throw Failure.timeout }
        var chunk = [UInt8](repeating: 0, count: 65536)
        let n = chunk.withUnsafeMutableBytes { Glibc.recv(fd, $0.baseAddress, $0.count, 0) }
        if n <= 0 {
            lastError = n < 0 ? errno : 0
            peerClosed = true
            return false
        }
        buffer.append(contentsOf: chunk[0..<n])
        return true
    }

    private func takeLine(deadline: Date) throws -> String {
        while true {
            if let index = findCRLF() {
                let line = String(decoding: buffer[0..<index], as: UTF8.self)
                buffer.removeFirst(index + 2)
                return line
            }
            if try !fill(deadline: deadline) { throw Failure.closed("recv fd=\(fd) errno=\(lastError) buffered=\(buffer.count)") }
        }
    }

    private func findCRLF() -> Int? {
        guard buffer.count >= 2 else { return nil }
        for index in 0..<(buffer.count - 1) where buffer[index] == 13 && buffer[index + 1] == 10 { return index }
        return nil
    }

    private func take(_ count: Int, deadline: Date) throws -> [UInt8] {
        while buffer.count < count {
            if try !fill(deadline: deadline) { throw Failure.closed("recv fd=\(fd) errno=\(lastError) buffered=\(buffer.count)") }
        }
        let bytes = Array(buffer[0..<count])
        buffer.removeFirst(count)
        return bytes
    }

    /// Reads one response (skipping none: a 1xx interim response is returned as itself).
    public func readResponse(timeout: Double = 5, forHead: Bool = false) throws -> RawResponse {
        let deadline = Date().addingTimeInterval(timeout)
        let statusLine = try takeLine(deadline: deadline)
        let parts = statusLine.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), let status = Int(parts[1]) else {
            throw Failure.malformed(statusLine)
        }
        var headers: [(name: String, value: String)] = []
        while true {
            let line = try takeLine(deadline: deadline)
            if line.isEmpty { break }
            guard let colon = line.firstIndex(of: ":") else { throw Failure.malformed(line) }
            headers.append((String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
        }
        let response = { (body: [UInt8]) in
            RawResponse(status: status, reason: parts.count > 2 ? String(parts[2]) : "", headers: headers, body: body)
        }
        let lookup = { (name: String) in headers.first { $0.name.lowercased() == name }?.value }
        if forHead || status < 200 || status == 204 || status == 304 { return response([]) }
        if lookup("transfer-encoding")?.lowercased() == "chunked" {
            var body: [UInt8] = []
            while true {
                let sizeLine = try takeLine(deadline: deadline)
                guard let size = Int(sizeLine.split(separator: ";")[0], radix: 16) else { throw Failure.malformed(sizeLine) }
                if size == 0 {
                    while try !takeLine(deadline: deadline).isEmpty {}
                    return response(body)
                }
                body += try take(size, deadline: deadline)
                guard try takeLine(deadline: deadline).isEmpty else { throw Failure.malformed("chunk end") }
            }
        }
        if let length = lookup("content-length").flatMap({ Int($0) }) {
            return response(try take(length, deadline: deadline))
        }
        // Delimited by close.
        while try fill(deadline: deadline) {}
        let body = buffer
        buffer = []
        return response(body)
    }

    /// True when the server closes the connection within `timeout` (after any bytes it still sends).
    public func waitForClose(timeout: Double = 3) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        do {
            while try fill(deadline: deadline) {}
            return true
        } catch {
            return peerClosed
        }
    }

    /// Bytes received but not yet parsed.
    public var unreadBytes: [UInt8] { buffer }
}

/// Starts a `Server` on port 0 for the duration of `body`, then shuts it down.
public func withServer<T>(
    _ router: Router, configuration: Configuration = Configuration(port: 0),
    _ body: (Server) throws -> T
) throws -> T {
    TestLogging.quiet
    var configuration = configuration
    configuration.port = 0
    let server = Server(configuration: configuration, responder: router.build())
    try server.start()
    defer { server.shutdown(gracePeriod: 2) }
    return try body(server)
}
