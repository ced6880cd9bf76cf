/// What a connection waits for and until when, as a pure value: the connection tells it what happened and when
/// (monotonic nanoseconds, so tests pass their own clock and never sleep), and asks it what is due.
struct ConnectionTimers: Sendable, Equatable {
    /// The deadline in force.
    enum Kind: Sendable, Equatable {
        /// Between requests on a keep-alive connection: closed quietly when it passes.
        case idle
        /// A request head is awaited (from accept, or from a request's first byte): 408 or a quiet close.
        case header
        /// A request body is awaited: 408.
        case body
        /// After a final error response, reading and discarding until the peer closes: closed when it passes.
        case linger
        /// Nothing is awaited from the peer (a handler runs, or a body streams to its handler).
        case none
    }

    /// What the connection has to do now.
    enum Action: Sendable, Equatable {
        case none
        /// Close without a word (idle, nothing of a request received, lingering over, a reader that stopped reading).
        case close
        /// Answer 408 with this message, then close.
        case requestTimeout(String)
    }

    /// The timeouts, in nanoseconds, from the server's `Configuration`.
    struct Limits: Sendable, Equatable {
        var header: UInt64
        var body: UInt64
        var idle: UInt64
        var linger: UInt64
        var write: UInt64
        var bodyStall: UInt64

        init(_ configuration: Configuration) {
            func nanoseconds(_ seconds: Double) -> UInt64 { UInt64(max(0, seconds) * 1e9) }
            header = nanoseconds(configuration.headerTimeout)
            body = nanoseconds(configuration.bodyTimeout)
            idle = nanoseconds(configuration.idleTimeout)
            linger = nanoseconds(configuration.lingerTimeout)
            write = nanoseconds(configuration.writeTimeout)
            bodyStall = nanoseconds(configuration.bodyStallTimeout)
        }
    }

    let limits: Limits
    private(set) var kind = Kind.header
    private(set) var deadline: UInt64 = 0
    /// When output started waiting for the peer to read (0: it is not waiting).
    private(set) var writeStalledAt: UInt64 = 0
    /// When the current body last made progress: the stall timeout counts from here.
    private(set) var bodyProgressAt: UInt64 = 0

    init(limits: Limits) { self.limits = limits }

    /// Starts waiting for `kind` at `now`.
    mutating func arm(_ kind: Kind, now: UInt64) {
        self.kind = kind
        switch kind {
        case .idle: deadline = now &+ limits.idle
        case .header: deadline = now &+ limits.header
        case .body: deadline = now &+ limits.body
        case .linger: deadline = now &+ limits.linger
        case .none: deadline = 0
        }
    }

    /// Bytes of the body arrived (or its reader caught up).
    mutating func bodyProgressed(now: UInt64) { bodyProgressAt = now }

    /// Output could not all be written: the write timeout starts, unless it already runs.
    mutating func writeBlocked(now: UInt64) { if writeStalledAt == 0 { writeStalledAt = now } }

    /// Output moved.
    mutating func writeProgressed() { writeStalledAt = 0 }

    /// What is due at `now`. `inBody`: a body is awaited; `bodyPaused`: its reader is behind, so the peer is not read;
    /// `requestStarted`: some of a request has arrived (a 408 then tells the client why; otherwise a quiet close).
    func due(now: UInt64, waitingForHead: Bool, inBody: Bool, bodyPaused: Bool, lingering: Bool, requestStarted: Bool) -> Action {
        if writeStalledAt != 0, now &- writeStalledAt > limits.write { return .close }
        if inBody, !bodyPaused, now &- bodyProgressAt > limits.bodyStall { return .requestTimeout("The request body stopped arriving.") }
        guard deadline != 0, now >= deadline else { return .none }
        if lingering { return .close }
        if inBody { return .requestTimeout("The request took too long to arrive.") }
        if waitingForHead {
            if kind == .idle || !requestStarted { return .close }
            return .requestTimeout("The request took too long to arrive.")
        }
        return .none
    }
}
