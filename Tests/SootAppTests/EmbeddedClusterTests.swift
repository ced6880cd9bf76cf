import Foundation
import Postgres
@testable import SootStore
@testable import SootWeb
import TestSupport
import Testing

/// The embedded PostgreSQL as `soot` itself runs it (the real binary, its own data folder): shared by several
/// processes without one stopping another's database, and started again when it dies (issue 15, items 6 and 7).
@Suite(.serialized) struct EmbeddedClusterTests {
    static let binary = TestDatabase.repositoryRoot.appendingPathComponent(".build/debug/soot").path

    struct Folder {
        let url = URL(fileURLWithPath: "/tmp/soot-ec-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        var environment: [String: String] { ["SOOT_DATA_DIR": url.path, "LOG_LEVEL": "info", "DATABASE_URL": "",
                                             "SOOT_MIGRATIONS_DIR": TestDatabase.migrationsFolder.path] }
        var cluster: EmbeddedPostgres { try! EmbeddedPostgres(folder: url, database: "soot", user: "soot") }
        func remove() {
            cluster.kill()
            try? FileManager.default.removeItem(at: url)
        }
    }

    /// Starts `soot serve` and waits until it says where it serves; nil port when it exited instead.
    static func serve(_ folder: Folder, port: UInt16 = 0, _ extra: [String] = []) throws -> (Shell.Child, UInt16?) {
        let child = try Shell.start(binary, ["serve", "--port", "\(port)", "--grace-period", "2",
                                             "--public-dir", TestDatabase.repositoryRoot.appendingPathComponent("Public").path] + extra,
                                    environment: folder.environment)
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            if let range = child.output.range(of: "serving on http://127.0.0.1:") {
                let digits = child.output[range.upperBound...].prefix { $0.isNumber }
                return (child, UInt16(digits))
            }
            if !child.isRunning { return (child, nil) }
            usleep(50_000)
        }
        return (child, nil)
    }

    static func status(_ port: UInt16, _ path: String) -> Int {
        guard let connection = try? RawConnection(port: port) else { return -1 }
        try? connection.send("GET \(path) HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        return (try? connection.readResponse(timeout: 3).status) ?? -1
    }

    /// Item 6: a second `soot serve` on the same folder that exits on "address already in use", or that runs on
    /// another port and is then stopped, stopped the cluster the first was using. Only the last user stops it.
    @Test func anotherInstanceLeavesTheDatabaseOfTheFirstAlone() throws {
        let folder = Folder()
        defer { folder.remove() }
        let (first, firstPort) = try Self.serve(folder)
        let port = try #require(firstPort, "the first serve did not start: \(first.errors)")
        #expect(Self.status(port, "/readyz") == 200)

        let (clash, clashPort) = try Self.serve(folder, port: port)
        #expect(clashPort == nil)
        #expect(clash.wait() != 0)
        #expect(folder.cluster.isRunning())
        #expect(Self.status(port, "/readyz") == 200)

        let (second, secondPort) = try Self.serve(folder)
        #expect(secondPort != nil)
        second.signal()
        #expect(second.wait() == 0)
        #expect(second.errors.contains("another process uses it") || second.output.contains("another process uses it"))
        #expect(folder.cluster.isRunning())
        #expect(Self.status(port, "/readyz") == 200)
        // A command beside the server does not stop it either.
        let user = try Shell.run(Self.binary, ["user", "list"], environment: folder.environment)
        #expect(user.status == 0, "\(user.errors)")
        #expect(Self.status(port, "/readyz") == 200)

        // The last one out stops it.
        first.signal()
        #expect(first.wait() == 0)
        #expect(!folder.cluster.isRunning())
    }

    /// Item 6: two `soot migrate` on a fresh folder raced on initdb, and the loser exited 64 with a usage banner.
    @Test func twoCommandsOnAFreshFolderTakeTurns() throws {
        let folder = Folder()
        defer { folder.remove() }
        let children = try (0..<2).map { _ in try Shell.start(Self.binary, ["migrate"], environment: folder.environment) }
        for child in children {
            #expect(child.wait(timeout: 120) == 0, "\(child.errors)")
        }
        #expect(!folder.cluster.isRunning())
    }

    /// Item 7: after the postmaster died, Soot answered 503 for good. Now it starts the cluster again and serves
    /// by itself; posts during the outage get quick 503s, and 201s come back without help.
    @Test func theClusterIsStartedAgainAfterItsPostmasterIsKilledUnderLoad() throws {
        let folder = Folder()
        defer { folder.remove() }
        let boot = try Shell.run(Self.binary, ["bootstrap", "--organization", "O", "--team", "T", "--project", "P", "--email", "ops@example.com"],
                                 environment: folder.environment)
        #expect(boot.status == 0, "\(boot.errors)")
        let made = try #require(JSONValue.parse(Array(boot.output.utf8)))
        let token = try #require(made["project_token"]?.stringValue)
        let experiment = try #require(made["experiment_id"]?.stringValue)
        let (server, serverPort) = try Self.serve(folder, ["--metrics-listen", "127.0.0.1:0"])
        let port = try #require(serverPort, "serve did not start: \(server.errors)")
        let metricsPort = try #require(server.output.range(of: "Metrics on http://127.0.0.1:").map {
            UInt16(server.output[$0.upperBound...].prefix { $0.isNumber })
        } ?? nil, "\(server.output)")
        func post(_ path: String, _ body: JSONValue) -> (Int, JSONValue) {
            guard let connection = try? RawConnection(port: port) else { return (-1, .null) }
            let bytes = body.bytes
            let head = "POST \(path) HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nx-api-token: \(token)\r\nContent-Length: \(bytes.count)\r\n\r\n"
            try? connection.send(Array(head.utf8) + bytes)
            guard let response = try? connection.readResponse(timeout: 5) else { return (-1, .null) }
            return (response.status, JSONValue.parse(response.body) ?? .null)
        }
        let run = post("/runs", ["timestamp": "2026-11-03T10:00:00+00:00", "experiment_id": .string(experiment)])
        #expect(run.0 == 201)
        let runID = run.1["id"] ?? .null
        var statuses: [Int] = []
        var index = 0
        func emission() -> Int {
            index += 1
            return post("/emissions", ["timestamp": .string("2026-11-03T10:00:\(String(format: "%02d", index % 60))+00:00"), "run_id": runID,
                                       "duration": 1, "emissions_sum": 0.0001, "emissions_rate": 0.0001, "cpu_power": 10, "gpu_power": 0,
                                       "ram_power": 3, "cpu_energy": 0.0001, "gpu_energy": 0, "ram_energy": 0.00001, "energy_consumed": 0.00011]).0
        }
        for _ in 0..<20 { statuses.append(emission()) }
        #expect(statuses.allSatisfy { $0 == 201 })
        let postmaster = try #require(folder.cluster.postmasterPID())
        kill(postmaster, SIGKILL)
        // Under load through the outage, until 201s come back by themselves.
        var afterKill: [Int] = []
        let deadline = Date().addingTimeInterval(45)
        var recovered = false
        while Date() < deadline {
            let status = emission()
            afterKill.append(status)
            if status == 201 && afterKill.contains(503) { recovered = true; break }
            if status == 201 && afterKill.count > 200 { recovered = true; break }
            usleep(20_000)
        }
        #expect(recovered, "statuses after the kill: \(Set(afterKill))")
        #expect(Set(afterKill).isSubset(of: [201, 503]), "\(Set(afterKill))")
        #expect(Self.status(port, "/readyz") == 200)
        #expect(folder.cluster.isRunning())
        #expect(folder.cluster.postmasterPID() != postmaster)
        // The metrics tell the operator what happened: one restart, and why the 503s were answered.
        // (The supervisor counts the restart once `pg_ctl start` has returned, which can be after the first 201.)
        var metrics = ""
        let scrapeDeadline = Date().addingTimeInterval(15)
        while Date() < scrapeDeadline {
            let scrape = try RawConnection(port: metricsPort)
            try scrape.send("GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            metrics = try scrape.readResponse(timeout: 5).text
            if metrics.contains("soot_postgres_restarts_total 1\n") { break }
            usleep(200_000)
        }
        #expect(metrics.contains("soot_postgres_restarts_total 1\n"), "\(metrics)")
        if afterKill.contains(503) {
            #expect(metrics.contains("soot_http_unavailable_total{reason=\"database_unavailable\"}")
                    || metrics.contains("soot_http_unavailable_total{reason=\"pool_timeout\"}"), "\(metrics)")
        }
        #expect(metrics.contains("soot_db_connections_dropped_total") && metrics.contains("soot_db_connects_total{result=\"failed\"}"))
        server.signal()
        #expect(server.wait() == 0)
        let log = server.errors + server.output
        #expect(log.contains("embedded PostgreSQL is down") && log.contains("embedded PostgreSQL is back"))
    }

    /// Item 7: a stale postmaster.pid whose number belongs to a live process that is not PostgreSQL gets a clear
    /// message with what to do, not "reusing it" and then "Connection refused".
    @Test func aStalePidFileOfAnotherProgramIsExplained() throws {
        let folder = Folder()
        defer { folder.remove() }
        let migrate = try Shell.run(Self.binary, ["migrate"], environment: folder.environment)
        #expect(migrate.status == 0, "\(migrate.errors)")
        #expect(!folder.cluster.isRunning())
        let sleeper = try Shell.start("/bin/sleep", ["30"])
        try "\(sleeper.pid)\n\(folder.url.path)/cluster\n".write(to: folder.cluster.pidFile, atomically: true, encoding: .utf8)
        let again = try Shell.run(Self.binary, ["migrate"], environment: folder.environment)
        #expect(again.status == 1)
        #expect(again.errors.contains("which is not PostgreSQL") && again.errors.contains("remove"), "\(again.errors)")
        #expect(!again.errors.contains("USAGE"))
        sleeper.signal(SIGKILL)
    }
}
