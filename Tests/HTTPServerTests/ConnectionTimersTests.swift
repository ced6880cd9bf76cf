@testable import HTTPServer
import Testing

/// The connection's deadlines as a pure value, on a clock the test owns: no sleeping.
@Suite struct ConnectionTimersTests {
    static let second: UInt64 = 1_000_000_000

    static func timers() -> ConnectionTimers {
        var configuration = Configuration(port: 0)
        configuration.headerTimeout = 10
        configuration.bodyTimeout = 60
        configuration.idleTimeout = 60
        configuration.lingerTimeout = 2
        configuration.writeTimeout = 30
        configuration.bodyStallTimeout = 20
        return ConnectionTimers(limits: .init(configuration))
    }

    func due(_ timers: ConnectionTimers, at seconds: Double, head: Bool = false, body: Bool = false, paused: Bool = false,
             lingering: Bool = false, started: Bool = false) -> ConnectionTimers.Action {
        timers.due(now: UInt64(seconds * 1e9), waitingForHead: head, inBody: body, bodyPaused: paused, lingering: lingering,
                   requestStarted: started)
    }

    @Test func aHeadThatNeverCompletesIs408AndSilenceIsAQuietClose() {
        var timers = Self.timers()
        timers.arm(.header, now: 0)
        #expect(due(timers, at: 9.9, head: true, started: true) == .none)
        #expect(due(timers, at: 10, head: true, started: true) == .requestTimeout("The request took too long to arrive."))
        #expect(due(timers, at: 10, head: true, started: false) == .close)
    }

    @Test func idleKeepAliveConnectionsCloseQuietly() {
        var timers = Self.timers()
        timers.arm(.idle, now: 5 * Self.second)
        #expect(due(timers, at: 64, head: true) == .none)
        #expect(due(timers, at: 65, head: true) == .close)
        // A byte of the next request turns the idle wait into a header wait from then on.
        timers.arm(.header, now: 30 * Self.second)
        #expect(due(timers, at: 40, head: true, started: true) == .requestTimeout("The request took too long to arrive."))
    }

    @Test func aBodyMustKeepArrivingUnlessItsReaderIsBehind() {
        var timers = Self.timers()
        timers.arm(.body, now: 0)
        timers.bodyProgressed(now: 0)
        #expect(due(timers, at: 19, body: true) == .none)
        timers.bodyProgressed(now: 19 * Self.second)
        #expect(due(timers, at: 38, body: true) == .none)
        #expect(due(timers, at: 40, body: true) == .requestTimeout("The request body stopped arriving."))
        // Paused because the handler is behind: the peer is not at fault.
        #expect(due(timers, at: 45, body: true, paused: true) == .none)
        // The whole-body deadline still holds.
        timers.bodyProgressed(now: 59 * Self.second)
        #expect(due(timers, at: 60, body: true) == .requestTimeout("The request took too long to arrive."))
        // A streamed body has no whole-body deadline, only the stall.
        timers.arm(.none, now: 60 * Self.second)
        timers.bodyProgressed(now: 60 * Self.second)
        #expect(due(timers, at: 600, body: true, paused: true) == .none)
    }

    @Test func aReaderThatStopsReadingIsCutOffAndLingeringEnds() {
        var timers = Self.timers()
        timers.arm(.none, now: 0)
        timers.writeBlocked(now: 1 * Self.second)
        timers.writeBlocked(now: 20 * Self.second)  // still the first moment it blocked
        #expect(due(timers, at: 31) == .none)
        #expect(due(timers, at: 31.5) == .close)
        timers.writeProgressed()
        #expect(due(timers, at: 100) == .none)
        timers.arm(.linger, now: 100 * Self.second)
        #expect(due(timers, at: 101.9, lingering: true) == .none)
        #expect(due(timers, at: 102, lingering: true) == .close)
    }

    @Test func nothingIsDueWhileAHandlerRuns() {
        var timers = Self.timers()
        timers.arm(.none, now: 0)
        #expect(due(timers, at: 10_000) == .none)
    }
}
