import CEventPoll
#if canImport(Glibc)
import Glibc
#endif

/// The outcome of a non-blocking read or write.
public enum IOResult: Sendable, Equatable {
    /// That many bytes moved (never zero for a read: see `.endOfFile`).
    case bytes(Int)
    /// The call would block: wait for readiness.
    case wouldBlock
    /// The peer closed its side (read returned 0).
    case endOfFile
    /// The call failed with this errno (ECONNRESET, EPIPE, ...).
    case failed(Int32)
}

/// Thin, checked wrappers over the socket calls the server makes on raw descriptors.
public enum SocketIO {
    /// Reads into `buffer`, retrying on EINTR.
    @inline(__always)
    public static func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer) -> IOResult {
        while true {
            let n = Glibc.read(fd, buffer.baseAddress, buffer.count)
            if n > 0 { return .bytes(n) }
            if n == 0 { return .endOfFile }
            let code = errno
            if code == EINTR { continue }
            if code == EAGAIN || code == EWOULDBLOCK { return .wouldBlock }
            return .failed(code)
        }
    }

    /// Sends `buffer` without raising SIGPIPE, retrying on EINTR.
    @inline(__always)
    public static func write(_ fd: Int32, _ buffer: UnsafeRawBufferPointer) -> IOResult {
        if buffer.isEmpty { return .bytes(0) }
        while true {
            let n = soot_send_nosignal(fd, buffer.baseAddress, buffer.count)
            if n >= 0 { return .bytes(n) }
            let code = errno
            if code == EINTR { continue }
            if code == EAGAIN || code == EWOULDBLOCK { return .wouldBlock }
            return .failed(code)
        }
    }

    /// Waits until `fd` is ready for `events` (POLLIN/POLLOUT) or `deadline` (monotonic ns) passes.
    /// Returns false on timeout or error (hang-up counts as ready: the next call reports it).
    public static func wait(_ fd: Int32, events: Int16, until deadline: UInt64) -> Bool {
        while true {
            let now = MonotonicClock.now()
            if now >= deadline { return false }
            let milliseconds = Int32(min(UInt64(Int32.max), (deadline - now) / 1_000_000 + 1))
            var item = pollfd(fd: fd, events: events, revents: 0)
            let rc = poll(&item, 1, milliseconds)
            if rc > 0 { return true }
            if rc == 0 { continue }
            if errno == EINTR { continue }
            return false
        }
    }

    /// Writes all of `bytes`, waiting for writability up to `deadline`. Used by worker threads that own a
    /// connection while they stream a response. Returns false if the peer went away or the deadline passed.
    public static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, deadline: UInt64) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let rest = UnsafeRawBufferPointer(rebasing: bytes[offset...])
            switch write(fd, rest) {
            case .bytes(let n): offset += n
            case .wouldBlock:
                if !wait(fd, events: Int16(POLLOUT), until: deadline) { return false }
            case .endOfFile, .failed: return false
            }
        }
        return true
    }

    /// Sets an integer socket option, returning the error if it fails.
    @discardableResult
    public static func setOption(_ fd: Int32, level: Int32, name: Int32, value: Int32) -> SocketError? {
        var value = value
        if setsockopt(fd, level, name, &value, socklen_t(MemoryLayout<Int32>.size)) != 0 {
            return SocketError.last("setsockopt(\(name))")
        }
        return nil
    }

    /// Disables Nagle's algorithm: responses leave at once instead of waiting for a delayed ACK.
    public static func setNoDelay(_ fd: Int32) {
        setOption(fd, level: Int32(IPPROTO_TCP), name: TCP_NODELAY, value: 1)
    }

    /// Closes a descriptor, ignoring EINTR (Linux always releases the descriptor).
    public static func close(_ fd: Int32) {
        _ = Glibc.close(fd)
    }

    /// Ignores SIGPIPE process-wide.
    public static func ignoreSIGPIPE() {
        soot_ignore_sigpipe()
    }

    /// Raises the soft open-file limit to the hard limit, so thousands of connections fit.
    @discardableResult
    public static func raiseOpenFileLimit() -> UInt64 {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 0 }
        if limit.rlim_cur < limit.rlim_max {
            limit.rlim_cur = limit.rlim_max
            _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
            _ = getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        }
        return UInt64(limit.rlim_cur)
    }
}
