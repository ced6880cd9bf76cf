import CEventPoll
#if canImport(Glibc)
import Glibc
#endif

/// A bound, listening, non-blocking TCP socket. Owns its descriptor and closes it exactly once.
public final class ListeningSocket: @unchecked Sendable {
    // Safety: `descriptor` is written once at init and by `close()`, which the server calls once
    // from its lifecycle actor after the event loops stopped polling it.
    public private(set) var descriptor: Int32
    /// The port actually bound (useful with port 0).
    public let port: UInt16
    /// The address the socket is bound to, as text.
    public let host: String

    /// Binds `host:port` (IPv4 or IPv6 literal, or a name) with SO_REUSEADDR and listens.
    public init(host: String, port: UInt16, backlog: Int32 = 4096) throws(SocketError) {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host.isEmpty ? nil : host, String(port), &hints, &list)
        guard rc == 0, let first = list else {
            throw SocketError("getaddrinfo(\(host))", code: rc == EAI_SYSTEM ? errno : EINVAL)
        }
        defer { freeaddrinfo(list) }

        var lastError = SocketError("bind", code: EADDRNOTAVAIL)
        var candidate: UnsafeMutablePointer<addrinfo>? = first
        while let info = candidate {
            candidate = info.pointee.ai_next
            let fd = soot_socket_nonblocking(info.pointee.ai_family, info.pointee.ai_socktype, info.pointee.ai_protocol)
            if fd < 0 { lastError = .last("socket"); continue }
            SocketIO.setOption(fd, level: SOL_SOCKET, name: SO_REUSEADDR, value: 1)
            if Glibc.bind(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) != 0 {
                lastError = .last("bind(\(host):\(port))")
                SocketIO.close(fd)
                continue
            }
            if Glibc.listen(fd, backlog) != 0 {
                lastError = .last("listen")
                SocketIO.close(fd)
                continue
            }
            self.descriptor = fd
            self.host = host
            self.port = ListeningSocket.boundPort(fd) ?? port
            return
        }
        throw lastError
    }

    private static func boundPort(_ fd: Int32) -> UInt16? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let rc = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard rc == 0 else { return nil }
        switch Int32(storage.ss_family) {
        case AF_INET:
            return withUnsafePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin_port) }
            }
        case AF_INET6:
            return withUnsafePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin6_port) }
            }
        default:
            return nil
        }
    }

    /// Accepts one pending connection: its descriptor (non-blocking, close-on-exec) and peer address text.
    public func accept() -> (descriptor: Int32, peer: String)? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let fd = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                soot_accept_nonblocking(descriptor, $0, &length)
            }
        }
        if fd < 0 { return nil }
        return (fd, PeerAddress.describe(&storage))
    }

    /// Stops listening without giving up the descriptor: the kernel refuses new connections at once (RST) and
    /// resets those still queued, so clients and load balancers retry elsewhere instead of waiting. Safe while
    /// other threads still hold the descriptor in their epoll sets (the number is not reused until `close()`).
    public func stopListening() {
        if descriptor >= 0 { _ = Glibc.shutdown(descriptor, Int32(SHUT_RDWR)) }
    }

    /// Closes the listening descriptor (idempotent).
    public func close() {
        if descriptor >= 0 {
            SocketIO.close(descriptor)
            descriptor = -1
        }
    }

    deinit { close() }
}

/// Formats socket addresses as text for logs and rate limits.
public enum PeerAddress {
    /// The numeric address in `storage` (IPv4-mapped IPv6 shown as IPv4).
    public static func describe(_ storage: inout sockaddr_storage) -> String {
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        switch Int32(storage.ss_family) {
        case AF_INET:
            withUnsafePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { address in
                    var raw = address.pointee.sin_addr
                    _ = inet_ntop(AF_INET, &raw, &buffer, socklen_t(buffer.count))
                }
            }
        case AF_INET6:
            withUnsafePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { address in
                    var raw = address.pointee.sin6_addr
                    _ = inet_ntop(AF_INET6, &raw, &buffer, socklen_t(buffer.count))
                }
            }
        case AF_UNIX:
            return "unix"
        default:
            return "unknown"
        }
        let text = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        if text.hasPrefix("::ffff:"), text.contains(".") { return String(text.dropFirst(7)) }
        return text
    }
}
