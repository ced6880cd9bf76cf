import Foundation
import HTTPServer
import Logging
import SootStore
import Synchronization

/// What exports and imports may hold, so that no caller (or twenty stalled clients) can starve pages and ingest.
///
/// - **Their own connections.** Reports and imports read and write through a pool of their own, capped at
///   `connections`, beside the main pool: a report held open by a client that stopped reading keeps one of these,
///   never one that a page, `/readyz` or `POST /emissions` needs. When all are busy the next report waits briefly,
///   then gets 503 with `Retry-After`.
/// - **A share per caller.** One person or token runs at most `perCaller` reports and imports at once; the next
///   gets 503 with `Retry-After` at once, whatever the pool has free.
///
/// A client that stops reading is cut off by the server's write timeout; the stream's producer then fails, which
/// ends its query and gives the connection back.
package final class ReportCapacity: Sendable {
    /// Limits, with their defaults.
    package struct Configuration: Sendable {
        /// PostgreSQL connections for reports and imports, outside the main pool. Default 4.
        package var connections = 4
        /// Reports and imports one caller may run at once. Default 2.
        package var perCaller = 2
        /// How long a report waits for one of the connections before its 503. Default 0.5 s.
        package var acquireTimeout = 0.5

        package init() {}
    }

    /// The store on the reports' own pool.
    let store: Store
    package let configuration: Configuration
    private let running = Mutex<[String: Int]>([:])
    /// Guards `slotsInUse`: one slot per connection of `pool`.
    private let slotsFree = NSCondition()
    // Safety: read and written only while `slotsFree` is locked.
    nonisolated(unsafe) private var slotsInUse = 0

    init(store: Store, configuration: Configuration, logger: Logger = Logger(label: "soot.reports")) {
        self.configuration = configuration
        self.store = store.separatePool(connections: configuration.connections, acquireTimeout: configuration.acquireTimeout, logger: logger)
    }

    /// One running report or import of a caller; its slot is given back by `release()` or when it is freed.
    final class Lease: Sendable {
        private let release: Mutex<(@Sendable () -> Void)?>
        init(_ release: @escaping @Sendable () -> Void) { self.release = Mutex(release) }
        func end() { release.withLock { $0.take() }?() }
        deinit { end() }
    }

    /// Who a report is counted against: the person, the project token, or (for anyone else) the address.
    static func key(_ caller: Caller, _ request: Request) -> String {
        switch caller.identity {
        case .user(let id): return "user:" + id.idText
        case .project(_, _, let tokenID): return "token:" + tokenID.idText
        case .anonymous: return "address:" + request.remoteAddress
        }
    }

    /// Takes a slot for `key` and one of the `connections` slots, so that whatever a report does next finds a
    /// connection free. Throws 503 (`Retry-After`) at once when the caller already runs `perCaller`, and after
    /// `acquireTimeout` when every connection is taken; nothing has been sent yet either way.
    func begin(_ key: String) throws -> Lease {
        let limit = configuration.perCaller
        let taken = running.withLock { running -> Bool in
            let count = running[key, default: 0]
            guard count < limit else { return false }
            running[key] = count + 1
            return true
        }
        guard taken else {
            var error = AppError(.serviceUnavailable, code: "busy",
                                 "You already have \(limit) exports or imports running; try again when one has finished.")
            error.retryAfter = 5
            error.reason = "reports_per_caller"
            throw error
        }
        let releaseCaller: @Sendable () -> Void = { [weak self] in
            self?.running.withLock { running in
                let left = running[key, default: 1] - 1
                running[key] = left > 0 ? left : nil
            }
        }
        let deadline = Date().addingTimeInterval(configuration.acquireTimeout)
        slotsFree.lock()
        while slotsInUse >= configuration.connections {
            if !slotsFree.wait(until: deadline) && Date() >= deadline { break }
        }
        let gotSlot = slotsInUse < configuration.connections
        if gotSlot { slotsInUse += 1 }
        slotsFree.unlock()
        guard gotSlot else {
            releaseCaller()
            var error = AppError(.serviceUnavailable, code: "busy", "Every export and import slot is in use; try again shortly.")
            error.retryAfter = 5
            error.reason = "reports_busy"
            throw error
        }
        return Lease { [weak self] in
            releaseCaller()
            guard let self else { return }
            self.slotsFree.lock()
            self.slotsInUse -= 1
            self.slotsFree.signal()
            self.slotsFree.unlock()
        }
    }

    /// Runs `handler` inside a slot of the caller: a streamed answer keeps the slot until its last byte (or its
    /// failure), any other answer gives it back at once.
    func limited(_ caller: Caller, _ request: Request, _ handler: () throws -> Response) throws -> Response {
        let lease = try begin(ReportCapacity.key(caller, request))
        var response = try handler()
        if case .stream(let producer) = response.body {
            response.body = .stream { writer in
                defer { lease.end() }
                try producer(writer)
            }
        } else {
            lease.end()
        }
        return response
    }

    /// Reports and imports running now, all callers together.
    package var runningCount: Int { running.withLock { $0.values.reduce(0, +) } }
}
