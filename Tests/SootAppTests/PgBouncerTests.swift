import Foundation
import HTTPServer
import Postgres
@testable import SootStore
@testable import SootWeb
import TestSupport
import Synchronization
import Testing

/// Soot through Debian's pgbouncer (1.18) in transaction mode (issue 19, item 1): the commands and the server with
/// `SOOT_DATABASE_POOLING=transaction`, on a fresh database, every statement unnamed.
@Suite(.serialized) struct PgBouncerTests {
    static let binary = TestDatabase.repositoryRoot.appendingPathComponent(".build/debug/soot").path

    /// A pgbouncer on a free port in front of the test cluster's socket, in transaction mode with a small pool, so
    /// that clients share server connections from one transaction to the next.
    struct Bouncer {
        let folder: URL
        let port: UInt16
        let process: Shell.Child

        init() throws {
            folder = URL(fileURLWithPath: "/tmp/soot-pgbouncer-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            chmod(folder.path, 0o777)
            let socket = TestDatabase.cluster.connectionURL.split(separator: " ").first { $0.hasPrefix("host=") }!.dropFirst(5)
            // A port below Linux's ephemeral range (32768 and up, where other tests' servers and clients get theirs);
            // another try on another port if it was taken after all.
            var attempt = 0
            while true {
                attempt += 1
                let port = UInt16.random(in: 20_000...25_999)
                let process = try Bouncer.start(folder: folder, port: port, socket: String(socket))
                let deadline = Date().addingTimeInterval(15)
                while Date() < deadline, process.isRunning, (try? RawConnection(port: port)) == nil { usleep(50_000) }
                if (try? RawConnection(port: port)) != nil {
                    (self.port, self.process) = (port, process)
                    return
                }
                Bouncer.kill(folder: folder, process)
                if attempt == 5 { throw TopologyTests.ShellFailure("pgbouncer did not start: \(process.errors.suffix(1000))") }
            }
        }

        static func start(folder: URL, port: UInt16, socket: String) throws -> Shell.Child {
            let config = """
                [databases]
                * = host=\(socket) user=soot
                [pgbouncer]
                listen_addr = 127.0.0.1
                listen_port = \(port)
                unix_socket_dir =
                auth_type = any
                pool_mode = transaction
                default_pool_size = 3
                max_client_conn = 500
                ignore_startup_parameters = extra_float_digits
                logfile = \(folder.path)/pgbouncer.log
                pidfile = \(folder.path)/pgbouncer.pid
                """
            let file = folder.appendingPathComponent("pgbouncer.ini")
            try config.write(to: file, atomically: true, encoding: .utf8)
            chmod(file.path, 0o644)
            let executable = "/usr/sbin/pgbouncer"
            // pgbouncer refuses to run as root: as root, it runs as the cluster's own account.
            return getuid() == 0
                ? try Shell.start("/usr/sbin/runuser", ["-u", "postgres", "--", executable, file.path])
                : try Shell.start(executable, [file.path])
        }

        /// Stops a pgbouncer (under runuser, pgbouncer itself is signalled: runuser does not pass signals on).
        static func kill(folder: URL, _ process: Shell.Child) {
            if let text = try? String(contentsOf: folder.appendingPathComponent("pgbouncer.pid"), encoding: .utf8),
               let pid = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)) {
                Glibc.kill(pid, SIGTERM)
            }
            process.signal(SIGTERM)
            _ = process.wait(timeout: 10)
            try? FileManager.default.removeItem(at: folder.appendingPathComponent("pgbouncer.pid"))
        }

        func url(database: String) -> String { "host=127.0.0.1 port=\(port) dbname=\(database) user=soot" }

        func stop() {
            Bouncer.kill(folder: folder, process)
            try? FileManager.default.removeItem(at: folder)
        }
    }

    /// The name of a new, empty (unmigrated) database of the test cluster.
    func emptyDatabase() throws -> String {
        let url = try TestDatabase.makeDatabase(migrated: false)
        return String(url.split(separator: " ").first { $0.hasPrefix("dbname=") }!.dropFirst(7))
    }

    @Test func bootstrapServeIngestAndExportThroughTransactionPooling() throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.binary), "build the soot executable first (swift build)")
        try #require(FileManager.default.isExecutableFile(atPath: "/usr/sbin/pgbouncer"), "install pgbouncer (make test-deps)")
        let bouncer = try Bouncer()
        defer { bouncer.stop() }
        let database = try emptyDatabase()
        let environment = ["DATABASE_URL": bouncer.url(database: database), "LOG_LEVEL": "error", "SOOT_DATABASE_POOLING": "transaction"]

        // Migrations and bootstrap on a fresh database, through the pooler.
        let boot = try Shell.run(Self.binary, ["bootstrap", "--organization", "Acme", "--team", "ML", "--project", "Vision",
                                               "--email", "ops@acme.test"], environment: environment)
        #expect(boot.status == 0, "\(boot.errors)")
        let made = try #require(JSONValue.parse(Array(boot.output.utf8)))
        let token = try #require(made["project_token"]?.stringValue)
        let personal = try #require(made["personal_token"]?.stringValue)
        let experiment = try #require(made["experiment_id"]?.stringValue)
        let organization = try #require(made["organization_id"]?.stringValue)

        let server = try Shell.start(Self.binary, ["serve", "--port", "0", "--metrics-listen", "off", "--database-connections", "6",
                                                   "--public-dir", TestDatabase.repositoryRoot.appendingPathComponent("Public").path],
                                     environment: environment)
        defer { server.signal(); _ = server.wait() }
        var port: UInt16?
        let deadline = Date().addingTimeInterval(60)
        while port == nil && Date() < deadline && server.isRunning {
            if let range = server.output.range(of: "serving on http://127.0.0.1:") { port = UInt16(server.output[range.upperBound...].prefix { $0.isNumber }) }
            usleep(50_000)
        }
        let served = try #require(port, "\(server.errors)")
        @Sendable func send(_ method: String, _ path: String, _ headers: [(String, String)], _ body: JSONValue? = nil) throws -> RawResponse {
            let connection = try RawConnection(port: served)
            let bytes = body?.bytes ?? []
            var head = "\(method) \(path) HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: \(bytes.count)\r\n"
            if body != nil { head += "Content-Type: application/json\r\n" }
            for (name, value) in headers { head += "\(name): \(value)\r\n" }
            try connection.send(Array((head + "\r\n").utf8) + bytes)
            return try connection.readResponse(timeout: 15)
        }
        // Four agents, 25 samples each, posted from four threads at once: the group commit's writers and the pool's
        // connections share the pooler's three server connections.
        let runs = try (0..<4).map { _ -> String in
            let created = try send("POST", "/runs", [("x-api-token", token)], runCreate(experiment))
            #expect(created.status == 201, "\(created.text)")
            return try #require(JSONValue.parse(created.body)?["id"]?.stringValue)
        }
        let statuses = Mutex<[Int]>([])
        DispatchQueue.concurrentPerform(iterations: runs.count) { index in
            for sample in 0..<25 {
                let status = (try? send("POST", "/emissions", [("x-api-token", token)],
                                        emission(runs[index], energy: 0.001, emissions: 0.0002,
                                                 timestamp: Date().addingTimeInterval(Double(sample - 30))))).map(\.status) ?? -1
                statuses.withLock { $0.append(status) }
            }
        }
        #expect(statuses.withLock { $0 }.allSatisfy { $0 == 201 }, "\(Set(statuses.withLock { $0 }))")
        // Everything acknowledged is stored once, and the run totals are the samples' sums.
        let direct = try DatabaseConnection(url: TestDatabase.cluster.connectionURL(database: database))
        defer { direct.close() }
        let stored = try #require(try direct.query("""
            SELECT (SELECT count(*) FROM emission_samples) AS samples, (SELECT sum(sample_count) FROM runs)::bigint AS counted,
                   (SELECT sum(energy_kwh) FROM emission_samples) AS energy, (SELECT sum(energy_kwh) FROM runs) AS totals
            """).first)
        #expect(try stored.decode("samples", as: Int.self) == 100 && (try stored.decode("counted", as: Int.self)) == 100)
        let energy: Double = try stored.decode("energy"), totals: Double = try stored.decode("totals")
        #expect(abs(energy - 0.1) < 1e-9 && abs(totals - 0.1) < 1e-9)
        // Reads, management and a streamed export (COPY with its binds as transaction-local settings).
        let auth = [("Authorization", "Bearer \(personal)")]
        #expect(try send("GET", "/api/v1/organizations/\(organization)/teams", auth).status == 200)
        let team = try send("POST", "/api/v1/organizations/\(organization)/teams", auth, ["name": "Speech"])
        #expect(team.status == 201, "\(team.text)")
        let export = try send("GET", "/api/v1/reports/runs.csv?organization=\(organization)&range=all", auth)
        #expect(export.status == 200 && export.text.split(whereSeparator: \.isNewline).count == 5, "\(export.text)")
        let audit = try send("GET", "/api/v1/organizations/\(organization)/audit?kind=team", auth)
        #expect(JSONValue.parse(audit.body)?["pagination"]?["total"] == 1)
    }

    /// The group-commit writers straight to PostgreSQL (`SOOT_INGEST_DATABASE_URL`), keeping their prepared
    /// statements, while everything else goes through the pooler.
    @Test func theWritersMayConnectStraightToPostgreSQL() throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.binary), "build the soot executable first (swift build)")
        try #require(FileManager.default.isExecutableFile(atPath: "/usr/sbin/pgbouncer"), "install pgbouncer (make test-deps)")
        let bouncer = try Bouncer()
        defer { bouncer.stop() }
        let database = try emptyDatabase()
        let direct = TestDatabase.cluster.connectionURL(database: database)
        let environment = ["DATABASE_URL": bouncer.url(database: database), "LOG_LEVEL": "error", "SOOT_DATABASE_POOLING": "transaction",
                           "SOOT_INGEST_DATABASE_URL": direct]
        let boot = try Shell.run(Self.binary, ["bootstrap", "--organization", "Acme", "--team", "ML", "--project", "Vision",
                                               "--email", "ops@acme.test"], environment: environment)
        #expect(boot.status == 0, "\(boot.errors)")
        let made = try #require(JSONValue.parse(Array(boot.output.utf8)))
        let token = try #require(made["project_token"]?.stringValue)
        let server = try Shell.start(Self.binary, ["serve", "--port", "0", "--metrics-listen", "off"], environment: environment)
        defer { server.signal(); _ = server.wait() }
        var port: UInt16?
        let deadline = Date().addingTimeInterval(60)
        while port == nil && Date() < deadline && server.isRunning {
            if let range = server.output.range(of: "serving on http://127.0.0.1:") { port = UInt16(server.output[range.upperBound...].prefix { $0.isNumber }) }
            usleep(50_000)
        }
        let served = try #require(port, "\(server.errors)")
        func post(_ path: String, _ body: JSONValue) throws -> RawResponse {
            let connection = try RawConnection(port: served)
            let bytes = body.bytes
            try connection.send(Array("POST \(path) HTTP/1.1\r\nHost: x\r\nConnection: close\r\nx-api-token: \(token)\r\nContent-Type: application/json\r\nContent-Length: \(bytes.count)\r\n\r\n".utf8) + bytes)
            return try connection.readResponse(timeout: 15)
        }
        let run = try post("/runs", runCreate(try #require(made["experiment_id"]?.stringValue)))
        let runID = try #require(JSONValue.parse(run.body)?["id"]?.stringValue)
        for index in 0..<10 {
            #expect(try post("/emissions", emission(runID, energy: 0.001, emissions: 0.0002, timestamp: Date().addingTimeInterval(Double(index - 20)))).status == 201)
        }
        let connection = try DatabaseConnection(url: direct)
        defer { connection.close() }
        #expect(try connection.query("SELECT sample_count FROM runs").first?.decode("sample_count", as: Int.self) == 10)
    }

    /// Without the setting, the same bootstrap through the same pooler fails on named statements (what the issue
    /// reported), so the test above exercises what it claims to.
    @Test func namedStatementsDoNotSurviveTransactionPooling() throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.binary), "build the soot executable first (swift build)")
        try #require(FileManager.default.isExecutableFile(atPath: "/usr/sbin/pgbouncer"), "install pgbouncer (make test-deps)")
        let bouncer = try Bouncer()
        defer { bouncer.stop() }
        let database = try emptyDatabase()
        let boot = try Shell.run(Self.binary, ["bootstrap", "--organization", "Acme", "--team", "ML", "--project", "Vision", "--email", "ops@acme.test"],
                                 environment: ["DATABASE_URL": bouncer.url(database: database), "LOG_LEVEL": "error"])
        #expect(boot.status != 0)
        #expect(boot.errors.contains("prepared statement") || boot.output.contains("prepared statement"), "\(boot.output) \(boot.errors)")
    }
}
