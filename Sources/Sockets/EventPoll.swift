import CEventPoll
#if canImport(Glibc)
import Glibc
#endif

/// An epoll instance. Owns its descriptor; the event loop that created it is its only user.
public final class EventPoll {
    /// What a descriptor became ready for.
    public struct Readiness: Sendable {
        public let token: UInt64
        public let readable: Bool
        public let writable: Bool
        /// The peer hung up or an error is pending.
        public let hangUp: Bool
    }

    public static let input = soot_epollin()
    public static let output = soot_epollout()
    public static let edgeTriggered = soot_epollet()
    public static let peerClosed = soot_epollrdhup()
    public static let exclusive = soot_epollexclusive()

    public let descriptor: Int32
    private var events: [epoll_event]

    public init(capacity: Int = 512) throws(SocketError) {
        let fd = epoll_create1(Int32(EPOLL_CLOEXEC))
        if fd < 0 { throw .last("epoll_create1") }
        descriptor = fd
        events = [epoll_event](repeating: epoll_event(), count: capacity)
    }

    deinit { SocketIO.close(descriptor) }

    /// Starts watching `fd` for `interest`, reporting `token` when it is ready.
    public func add(_ fd: Int32, interest: UInt32, token: UInt64) throws(SocketError) {
        var event = epoll_event(events: interest, data: epoll_data_t(u64: token))
        if epoll_ctl(descriptor, EPOLL_CTL_ADD, fd, &event) != 0 { throw .last("epoll_ctl(ADD)") }
    }

    /// Changes what `fd` is watched for.
    public func modify(_ fd: Int32, interest: UInt32, token: UInt64) throws(SocketError) {
        var event = epoll_event(events: interest, data: epoll_data_t(u64: token))
        if epoll_ctl(descriptor, EPOLL_CTL_MOD, fd, &event) != 0 { throw .last("epoll_ctl(MOD)") }
    }

    /// Stops watching `fd` (closing a descriptor also removes it).
    public func remove(_ fd: Int32) {
        var event = epoll_event()
        _ = epoll_ctl(descriptor, EPOLL_CTL_DEL, fd, &event)
    }

    /// Waits up to `timeoutMilliseconds` (-1: forever) and calls `body` for each ready descriptor.
    public func wait(timeoutMilliseconds: Int32, _ body: (Readiness) -> Void) throws(SocketError) {
        let count = events.withUnsafeMutableBufferPointer {
            epoll_wait(descriptor, $0.baseAddress, Int32($0.count), timeoutMilliseconds)
        }
        if count < 0 {
            if errno == EINTR { return }
            throw .last("epoll_wait")
        }
        let hangUpMask = soot_epollhup() | soot_epollerr()
        for index in 0..<Int(count) {
            let event = events[index]
            let flags = event.events
            body(Readiness(
                token: event.data.u64,
                readable: flags & (EventPoll.input | EventPoll.peerClosed | hangUpMask) != 0,
                writable: flags & EventPoll.output != 0,
                hangUp: flags & hangUpMask != 0))
        }
    }
}

/// An eventfd used to wake an event loop from another thread.
public final class WakeSignal: Sendable {
    public let descriptor: Int32

    public init() throws(SocketError) {
        let fd = eventfd(0, Int32(EFD_NONBLOCK) | Int32(EFD_CLOEXEC))
        if fd < 0 { throw .last("eventfd") }
        descriptor = fd
    }

    deinit { SocketIO.close(descriptor) }

    /// Wakes the loop watching this signal (safe from any thread).
    public func signal() {
        var one: UInt64 = 1
        _ = Glibc.write(descriptor, &one, 8)
    }

    /// Clears pending wake-ups (called by the loop).
    public func drain() {
        var value: UInt64 = 0
        _ = Glibc.read(descriptor, &value, 8)
    }
}
