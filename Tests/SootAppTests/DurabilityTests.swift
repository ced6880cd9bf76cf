import Foundation
import HTTPServer
import Postgres
@testable import SootStore
@testable import SootWeb
import TestSupport
import Testing

/// PostgreSQL is killed (immediate shutdown, as a crash) in the middle of a stream of CodeCarbon posts, then
/// restarted. Every post that got a 201 must be in the database afterwards; posts while it is down get a quick
/// 503; posting works again once it is back. This test runs its own cluster, so it cannot disturb others.
@Suite struct DurabilityTests {
    @Test func everyAcknowledgedSampleSurvivesADatabaseCrash() throws {
        let folder = URL(fileURLWithPath: "/tmp/soot-crash-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        let cluster = try EmbeddedPostgres(folder: folder, database: "soot", user: "soot")
        try cluster.start()
        defer {
            cluster.kill()
            try? FileManager.default.removeItem(at: folder)
        }
        let connection = try DatabaseConnection(url: cluster.connectionURL)
        try Migrator(directory: TestDatabase.migrationsFolder).migrate(connection)
        connection.close()

        let pool = ConnectionPool(url: cluster.connectionURL, configuration: .init(maximumConnections: 8, acquireTimeout: 1))
        defer { pool.close() }
        let application = Application(configuration: AppConfiguration(), store: Store(database: pool))
        let server = application.makeServer(Configuration(port: 0))
        try server.start()
        defer {
            server.shutdown(gracePeriod: 2)
            application.shutdown()
        }
        let app = AppFixture(pool: pool, url: cluster.connectionURL, server: server, application: application)
        let agent = try Agent(app)
        let runID = try app.api("POST", "/runs", token: nil, json: runCreate(agent.experimentID), headers: agent.header).body["id"]!.stringValue!

        let log = PostLog()
        let stop = Date().addingTimeInterval(7)
        let done = DispatchGroup()
        for worker in 0..<4 {
            done.enter()
            Thread {
                var index = 0
                while Date() < stop {
                    index += 1
                    let energy = Double(worker * 100_000 + index) * 1e-6
                    let started = Date()
                    let answer = try? app.api("POST", "/emissions", token: nil, json: emission(runID, energy: energy, emissions: energy / 20),
                                              headers: agent.header)
                    log.add(status: answer?.status ?? -1, id: answer?.body.stringValue, energy: energy,
                            seconds: Date().timeIntervalSince(started))
                    usleep(2_000)
                }
                done.leave()
            }.start()
        }
        usleep(2_000_000)
        cluster.kill()
        usleep(2_000_000)
        try cluster.start()
        done.wait()

        let entries = log.entries
        let accepted = entries.filter { $0.status == 201 }
        let refused = entries.filter { $0.status == 503 }
        #expect(accepted.count > 20)
        #expect(!refused.isEmpty, "nothing was refused while PostgreSQL was down")
        let statuses = Set(entries.map(\.status))
        #expect(statuses.isSubset(of: [201, 503]), "statuses seen: \(statuses)")
        // A refusal is quick: well inside CodeCarbon's 2-second timeout.
        #expect(refused.allSatisfy { $0.seconds < 2 }, "slowest refusal \(refused.map(\.seconds).max() ?? 0)")
        // Writing works again after the restart.
        let lastAccepted = entries.lastIndex { $0.status == 201 } ?? -1
        let lastRefused = entries.lastIndex { $0.status == 503 } ?? Int.max
        #expect(lastAccepted > lastRefused || refused.isEmpty, "no post succeeded after the restart")

        let stored = Set(try pool.query("SELECT id FROM emission_samples WHERE run_id = \(UUID(uuidString: runID)!)").rows
            .map { try $0.decode("id", as: UUID.self).uuidString.lowercased() })
        let acknowledged = Set(accepted.compactMap(\.id))
        #expect(acknowledged.count == accepted.count)
        #expect(acknowledged.isSubset(of: stored), "\(acknowledged.subtracting(stored).count) acknowledged samples are missing")
        let sums = try sampleSums(pool, run: runID)
        let run = try pool.query("SELECT sample_count, energy_kwh FROM runs WHERE id = \(UUID(uuidString: runID)!)").first!
        #expect(try run.decode("sample_count", as: Int.self) == sums.count)
        #expect(close(try run.decode("energy_kwh", as: Double.self), sums.energy))
        print("durability: statuses \(statuses), \(accepted.count) accepted, \(refused.count) refused while down, \(stored.count) stored, slowest refusal \(String(format: "%.3f", refused.map(\.seconds).max() ?? 0)) s")
    }
}

final class PostLog: @unchecked Sendable {
    struct Entry { let status: Int; let id: String?; let energy: Double; let seconds: Double }
    // Safety: guarded by `lock`.
    private let lock = NSLock()
    private var storage: [Entry] = []

    func add(status: Int, id: String?, energy: Double, seconds: Double) {
        lock.lock()
        storage.append(Entry(status: status, id: id, energy: energy, seconds: seconds))
        lock.unlock()
    }

    var entries: [Entry] {
        lock.lock()
        defer { lock.unlock() }
        return storage
    }
}
