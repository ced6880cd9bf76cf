import COpenSSL
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A small blocking HTTP/1.1 client for webhook deliveries: one POST per connection (`Connection: close`), over TCP
/// or TLS (OpenSSL, the system's certificate authorities, the host name checked), with one deadline for the whole
/// exchange. It reads the status line and at most 64 KiB of the answer; nothing else is needed of a receiver.
public enum HTTPClient {
    public struct Failure: Error, CustomStringConvertible, Sendable {
        public let description: String
        init(_ description: String) { self.description = description }
    }

    public struct Answer: Sendable {
        public let status: Int
        /// The start of the body, for the delivery log.
        public let body: String
    }

    /// POSTs `body` to `url` (`http://` or `https://`); throws `Failure` for anything short of an HTTP answer.
    public static func post(_ url: String, headers: [(String, String)], body: [UInt8], timeout: Double) throws -> Answer {
        guard let parsed = URL(string: url), let scheme = parsed.scheme?.lowercased(), scheme == "http" || scheme == "https",
              let host = parsed.host, !host.isEmpty else { throw Failure("not an http or https URL") }
        let secure = scheme == "https"
        let port = parsed.port ?? (secure ? 443 : 80)
        var path = parsed.path.isEmpty ? "/" : parsed.path
        if let query = parsed.query { path += "?" + query }
        let deadline = Date().addingTimeInterval(timeout)
        let fd = try connect(host: host, port: port, deadline: deadline)
        defer { close(fd) }
        var request = "POST \(path) HTTP/1.1\r\nHost: \(host)\(parsed.port.map { ":\($0)" } ?? "")\r\nConnection: close\r\n"
        request += "Content-Length: \(body.count)\r\nUser-Agent: Soot\r\n"
        for (name, value) in headers where !name.contains("\r") && !name.contains("\n") && !value.contains("\r") && !value.contains("\n") {
            request += "\(name): \(value)\r\n"
        }
        request += "\r\n"
        let bytes = Array(request.utf8) + body
        var channel: Channel = secure ? try TLSChannel(fd: fd, host: host, deadline: deadline) : PlainChannel(fd: fd)
        try channel.writeAll(bytes, deadline: deadline)
        var answer: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16_384)
        while answer.count < 65_536 {
            let count = try channel.read(&buffer, deadline: deadline)
            if count == 0 { break }
            answer += buffer[0..<count]
            if answer.count > 12, let end = answer.firstRange(of: [13, 10, 13, 10]), answer.count >= end.upperBound { break }
        }
        channel.shutdown()
        let text = String(decoding: answer, as: UTF8.self)
        let statusLine = text.prefix { $0 != "\r" && $0 != "\n" }
        let parts = statusLine.split(separator: " ")
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), let status = Int(parts[1]), (100...599).contains(status) else {
            throw Failure(answer.isEmpty ? "the connection closed without an answer" : "not an HTTP answer")
        }
        let bodyStart = text.range(of: "\r\n\r\n").map { String(text[$0.upperBound...].prefix(300)) } ?? ""
        return Answer(status: status, body: bodyStart)
    }

    static func remaining(_ deadline: Date) throws -> Int32 {
        let left = deadline.timeIntervalSinceNow
        guard left > 0 else { throw Failure("timed out") }
        return Int32(min(left * 1000, 60_000).rounded(.up))
    }

    static func wait(_ fd: Int32, for events: Int16, deadline: Date) throws {
        var descriptor = pollfd(fd: fd, events: events, revents: 0)
        while true {
            let result = poll(&descriptor, 1, try remaining(deadline))
            if result > 0 { return }
            if result == 0 { throw Failure("timed out") }
            if errno != EINTR { throw Failure("poll failed (errno \(errno))") }
        }
    }

    /// A non-blocking TCP connection to the first address of `host` that answers before the deadline.
    static func connect(host: String, port: Int, deadline: Date) throws -> Int32 {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_family = AF_UNSPEC
        var list: UnsafeMutablePointer<addrinfo>?
        let resolved = getaddrinfo(host, String(port), &hints, &list)
        guard resolved == 0, let first = list else { throw Failure("cannot resolve \(host)") }
        defer { freeaddrinfo(list) }
        var failure = Failure("cannot connect to \(host):\(port)")
        var entry: UnsafeMutablePointer<addrinfo>? = first
        while let address = entry {
            defer { entry = address.pointee.ai_next }
            let fd = socket(address.pointee.ai_family, address.pointee.ai_socktype | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue),
                            address.pointee.ai_protocol)
            guard fd >= 0 else { continue }
            if Glibc.connect(fd, address.pointee.ai_addr, address.pointee.ai_addrlen) == 0 { return fd }
            guard errno == EINPROGRESS else { close(fd); continue }
            do {
                try wait(fd, for: Int16(POLLOUT), deadline: deadline)
                var error: Int32 = 0
                var length = socklen_t(MemoryLayout<Int32>.size)
                getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length)
                if error == 0 { return fd }
                failure = Failure("cannot connect to \(host):\(port) (\(String(cString: strerror(error))))")
            } catch let timeout as Failure {
                failure = timeout
            }
            close(fd)
        }
        throw failure
    }
}

protocol Channel {
    mutating func writeAll(_ bytes: [UInt8], deadline: Date) throws
    mutating func read(_ buffer: inout [UInt8], deadline: Date) throws -> Int
    mutating func shutdown()
}

struct PlainChannel: Channel {
    let fd: Int32

    func writeAll(_ bytes: [UInt8], deadline: Date) throws {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL)) }
            if written > 0 { offset += written; continue }
            guard written < 0, errno == EAGAIN || errno == EINTR else { throw HTTPClient.Failure("the connection broke while sending") }
            try HTTPClient.wait(fd, for: Int16(POLLOUT), deadline: deadline)
        }
    }

    func read(_ buffer: inout [UInt8], deadline: Date) throws -> Int {
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count >= 0 { return count }
            guard errno == EAGAIN || errno == EINTR else { throw HTTPClient.Failure("the connection broke while reading") }
            try HTTPClient.wait(fd, for: Int16(POLLIN), deadline: deadline)
        }
    }

    func shutdown() {}
}

/// TLS over the connected socket: the system's CAs, the host name verified, TLS 1.2 at least.
final class TLSChannel: Channel {
    let fd: Int32
    let context: OpaquePointer
    let ssl: OpaquePointer

    init(fd: Int32, host: String, deadline: Date) throws {
        self.fd = fd
        guard let context = SSL_CTX_new(TLS_client_method()) else { throw HTTPClient.Failure("TLS is not available") }
        SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nil)
        SSL_CTX_set_default_verify_paths(context)
        SSL_CTX_ctrl(context, SSL_CTRL_SET_MIN_PROTO_VERSION, Int(TLS1_2_VERSION), nil)
        guard let ssl = SSL_new(context) else { SSL_CTX_free(context); throw HTTPClient.Failure("TLS is not available") }
        (self.context, self.ssl) = (context, ssl)
        SSL_set_fd(ssl, fd)
        _ = soot_ssl_set_server_name(ssl, host)
        SSL_set1_host(ssl, host)
        while true {
            let result = SSL_connect(ssl)
            if result == 1 { break }
            try step(result, deadline: deadline, what: "the TLS handshake with \(host) failed")
        }
    }

    deinit {
        SSL_free(ssl)
        SSL_CTX_free(context)
    }

    /// Waits when OpenSSL wants the socket, throws otherwise.
    func step(_ result: Int32, deadline: Date, what: String) throws {
        switch SSL_get_error(ssl, result) {
        case SSL_ERROR_WANT_READ: try HTTPClient.wait(fd, for: Int16(POLLIN), deadline: deadline)
        case SSL_ERROR_WANT_WRITE: try HTTPClient.wait(fd, for: Int16(POLLOUT), deadline: deadline)
        default:
            let verify = SSL_get_verify_result(ssl)
            let reason = verify != X509_V_OK ? String(cString: X509_verify_cert_error_string(verify)) : "error \(ERR_get_error())"
            ERR_clear_error()
            throw HTTPClient.Failure("\(what) (\(reason))")
        }
    }

    func writeAll(_ bytes: [UInt8], deadline: Date) throws {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { SSL_write(ssl, $0.baseAddress! + offset, Int32(bytes.count - offset)) }
            if written > 0 { offset += Int(written); continue }
            try step(written, deadline: deadline, what: "the connection broke while sending")
        }
    }

    func read(_ buffer: inout [UInt8], deadline: Date) throws -> Int {
        while true {
            let count = buffer.withUnsafeMutableBytes { SSL_read(ssl, $0.baseAddress, Int32($0.count)) }
            if count > 0 { return Int(count) }
            if SSL_get_error(ssl, count) == SSL_ERROR_ZERO_RETURN { return 0 }
            try step(count, deadline: deadline, what: "the connection broke while reading")
        }
    }

    func shutdown() { SSL_shutdown(ssl) }
}
