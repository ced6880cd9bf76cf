import Foundation
import HTTPServer
import Postgres
@testable import SootStore
@testable import SootWeb
import Synchronization
import TestSupport
import Testing

/// The deployment the README describes, all real processes on loopback (issue 19, item 5): the test cluster as the
/// primary, a streaming replica of it, pgbouncer in transaction mode in front of the primary, two `soot serve`
/// instances (writers straight to the primary, pages on the replica) and nginx balancing them. The real codecarbon
/// client and a load generator post through nginx while one instance is killed with SIGKILL and started again.
@Suite(.serialized) struct TopologyTests {
    static let binary = TestDatabase.repositoryRoot.appendingPathComponent(".build/debug/soot").path

    struct Instance {
        let process: Shell.Child
        let port: UInt16
        let metricsPort: UInt16
    }

    static func start(port: UInt16, environment: [String: String]) throws -> Instance {
        let process = try Shell.start(binary, ["serve", "--port", "\(port)", "--metrics-listen", "127.0.0.1:0", "--grace-period", "1",
                                               "--public-dir", TestDatabase.repositoryRoot.appendingPathComponent("Public").path],
                                      environment: environment)
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline && process.isRunning {
            let output = process.output
            if let serving = output.range(of: "serving on http://127.0.0.1:"), let metrics = output.range(of: "Metrics on http://127.0.0.1:"),
               let port = UInt16(output[serving.upperBound...].prefix { $0.isNumber }),
               let metricsPort = UInt16(output[metrics.upperBound...].prefix { $0.isNumber }) {
                return Instance(process: process, port: port, metricsPort: metricsPort)
            }
            usleep(50_000)
        }
        throw ShellFailure("soot serve did not start: \(process.errors.suffix(2000))")
    }

    struct ShellFailure: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    /// nginx on a free port below the ephemeral range (another try on another port if it was taken), balancing the
    /// instances; returns its port.
    static func nginx(_ folder: URL, upstreams: [UInt16]) throws -> (Shell.Child, UInt16) {
        for _ in 0..<5 {
            let port = UInt16.random(in: 26_000...31_999)
            let process = try nginx(folder, upstreams: upstreams, port: port)
            let deadline = Date().addingTimeInterval(15)
            while Date() < deadline, process.isRunning, (try? RawConnection(port: port)) == nil { usleep(50_000) }
            if (try? RawConnection(port: port)) != nil { return (process, port) }
            process.signal(SIGQUIT)
            _ = process.wait(timeout: 10)
        }
        throw ShellFailure("nginx did not start")
    }

    static func nginx(_ folder: URL, upstreams: [UInt16], port: UInt16) throws -> Shell.Child {
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("logs"), withIntermediateDirectories: true)
        chmod(folder.path, 0o777)
        let servers = upstreams.map { "server 127.0.0.1:\($0) max_fails=1 fail_timeout=2s;" }.joined(separator: " ")
        let config = """
            worker_processes 1;
            pid \(folder.path)/nginx.pid;
            error_log \(folder.path)/logs/error.log crit;
            events { worker_connections 1024; }
            http {
              access_log off;
              client_body_temp_path \(folder.path)/body; proxy_temp_path \(folder.path)/proxy;
              fastcgi_temp_path \(folder.path)/fastcgi; uwsgi_temp_path \(folder.path)/uwsgi; scgi_temp_path \(folder.path)/scgi;
              upstream soot { \(servers) keepalive 16; }
              server {
                listen 127.0.0.1:\(port);
                location / {
                  proxy_pass http://soot;
                  proxy_http_version 1.1;
                  proxy_set_header Connection "";
                  proxy_set_header Host $host;
                  proxy_set_header X-Forwarded-For $remote_addr;
                  proxy_next_upstream error timeout;
                }
              }
            }
            """
        let file = folder.appendingPathComponent("nginx.conf")
        try config.write(to: file, atomically: true, encoding: .utf8)
        return try Shell.start("/usr/sbin/nginx", ["-p", folder.path, "-c", file.path, "-g", "daemon off;"])
    }

    /// One request through nginx; cookies kept in `jar`.
    static func send(_ port: UInt16, _ method: String, _ path: String, headers: [(String, String)] = [], body: [UInt8] = [],
                     jar: inout [String: String]) throws -> RawResponse {
        let connection = try RawConnection(port: port)
        var head = "\(method) \(path) HTTP/1.1\r\nHost: soot.test\r\nConnection: close\r\nContent-Length: \(body.count)\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        if !jar.isEmpty { head += "Cookie: " + jar.map { "\($0.key)=\($0.value)" }.joined(separator: "; ") + "\r\n" }
        try connection.send(Array((head + "\r\n").utf8) + body)
        let response = try connection.readResponse(timeout: 20)
        for (name, value) in response.cookies { jar[name] = value.isEmpty ? nil : value }
        return response
    }

    @Test func everyAcknowledgedSampleIsStoredOnceThroughTheWholeTopology() throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.binary), "build the soot executable first (swift build)")
        try #require(FileManager.default.isExecutableFile(atPath: "/usr/sbin/pgbouncer"), "install pgbouncer (make test-deps)")
        try #require(FileManager.default.isExecutableFile(atPath: "/usr/sbin/nginx"), "install nginx (make test-deps)")
        let venv = try CodeCarbonClient.venv.get()
        let replica = try ReplicaTests.Replica()
        defer { replica.remove() }
        let bouncer = try PgBouncerTests.Bouncer()
        defer { bouncer.stop() }
        let database = String(try TestDatabase.makeDatabase(migrated: false).split(separator: " ").first { $0.hasPrefix("dbname=") }!.dropFirst(7))
        let direct = TestDatabase.cluster.connectionURL(database: database)
        let environment = ["DATABASE_URL": bouncer.url(database: database), "SOOT_DATABASE_POOLING": "transaction",
                           "SOOT_INGEST_DATABASE_URL": direct, "DATABASE_READ_URL": replica.url(database: database),
                           "SOOT_REPLICA_MAX_LAG": "30", "LOG_LEVEL": "error"]
        let boot = try Shell.run(Self.binary, ["bootstrap", "--organization", "Acme", "--team", "ML", "--project", "Vision",
                                               "--email", "ops@acme.test"], environment: environment)
        try #require(boot.status == 0, "\(boot.errors)")
        let reset = try Shell.run(Self.binary, ["user", "reset-password", "--email", "ops@acme.test", "--password", "owner password 123"],
                                  environment: environment)
        try #require(reset.status == 0, "\(reset.errors)")
        let made = try #require(JSONValue.parse(Array(boot.output.utf8)))
        let token = try #require(made["project_token"]?.stringValue)
        let experiment = try #require(made["experiment_id"]?.stringValue)

        var first = try Self.start(port: 0, environment: environment)
        let second = try Self.start(port: 0, environment: environment)
        defer {
            for instance in [first, second] { instance.process.signal(); _ = instance.process.wait() }
        }
        let folder = URL(fileURLWithPath: "/tmp/soot-nginx-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        let (nginx, port) = try Self.nginx(folder, upstreams: [first.port, second.port])
        defer {
            nginx.signal(SIGQUIT)
            _ = nginx.wait(timeout: 10)
            try? FileManager.default.removeItem(at: folder)
        }

        // The real client, through nginx, for the whole test.
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("soot-topology-cc-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: output) }
        let client = try Shell.start(venv + "/bin/python", [TestDatabase.repositoryRoot.appendingPathComponent("Tests/CodeCarbon/track.py").path,
                                                            "http://127.0.0.1:\(port)", token, experiment, output.path])

        // The load generator: four agents posting samples through nginx, each acknowledged id recorded.
        let acknowledged = Mutex<[String]>([])
        let statuses = Mutex<[Int: Int]>([:])
        let stop = Atomic<Bool>(false)
        let group = DispatchGroup()
        for _ in 0..<4 {
            DispatchQueue.global().async(group: group) {
                var jar: [String: String] = [:]
                guard let created = try? Self.send(port, "POST", "/runs", headers: [("x-api-token", token), ("Content-Type", "application/json")],
                                                   body: runCreate(experiment).bytes, jar: &jar),
                      let runID = JSONValue.parse(created.body)?["id"]?.stringValue else { return }
                var index = 0
                while !stop.load(ordering: .relaxed) {
                    index += 1
                    let body = emission(runID, energy: 0.001, emissions: 0.0002,
                                        timestamp: Date()).bytes
                    let response = try? Self.send(port, "POST", "/emissions", headers: [("x-api-token", token), ("Content-Type", "application/json")],
                                                  body: body, jar: &jar)
                    let status = response?.status ?? -1
                    statuses.withLock { $0[status, default: 0] += 1 }
                    if status == 201, let id = response.flatMap({ JSONValue.parse($0.body)?.stringValue }) {
                        acknowledged.withLock { $0.append(id) }
                    }
                }
            }
        }
        // One instance dies mid-load (SIGKILL: no draining) and is started again on its port.
        Thread.sleep(forTimeInterval: 1.5)
        kill(first.process.pid, SIGKILL)
        _ = first.process.wait()
        Thread.sleep(forTimeInterval: 1)
        first = try Self.start(port: first.port, environment: environment)
        Thread.sleep(forTimeInterval: 2)
        stop.store(true, ordering: .relaxed)
        group.wait()
        #expect(client.wait(timeout: 120) == 0, "\(client.errors.suffix(2000))")

        // Every acknowledged sample is stored, once; the run totals are the sums of the samples.
        let ids = acknowledged.withLock { $0 }
        let counts = statuses.withLock { $0 }
        #expect(ids.count > 100, "statuses: \(counts)")
        #expect(Set(counts.keys).isSubset(of: [201, 502, 503, -1]), "statuses: \(counts)")
        let primary = try DatabaseConnection(url: direct)
        defer { primary.close() }
        let found = try primary.query("SELECT count(*) AS n FROM emission_samples WHERE id = ANY(\(ids.compactMap(UUID.init(uuidString:)))::uuid[])")
            .first!.decode("n", as: Int.self)
        #expect(found == ids.count && Set(ids).count == ids.count)
        let mismatched = try primary.query("""
            SELECT count(*) AS n FROM runs r
            WHERE r.sample_count <> (SELECT count(*) FROM emission_samples s WHERE s.run_id = r.id)
               OR abs(r.energy_kwh - coalesce((SELECT sum(energy_kwh) FROM emission_samples s WHERE s.run_id = r.id), 0)) > 1e-9
            """).first!.decode("n", as: Int.self)
        #expect(mismatched == 0)
        let report = JSONValue.parse(Array(client.output.split(separator: "\n").last.map(String.init)?.utf8 ?? "".utf8))
        let clientAccepted = (report?["posts"]?.arrayValue ?? []).filter { $0["status"] == 201 }.count
        let clientRun = report?["runs"]?.arrayValue.first?["id"]?.stringValue.flatMap(UUID.init(uuidString:))
        #expect(clientAccepted >= 1, "the codecarbon client: \(client.output.suffix(1000))")
        if let clientRun {
            let stored = try primary.query("SELECT count(*) AS n FROM emission_samples WHERE run_id = \(clientRun)").first!.decode("n", as: Int.self)
            #expect(stored >= clientAccepted)
        }

        // A person through nginx: pages read the replica, and the page after a form post shows the change.
        var jar: [String: String] = [:]
        let login = try Self.send(port, "GET", "/login", jar: &jar)
        let loginCSRF = try #require(Browser.csrf(in: login.text))
        func form(_ fields: [(String, String)]) -> [UInt8] {
            Array(fields.map { "\(FormDecoding.encode($0.0))=\(FormDecoding.encode($0.1))" }.joined(separator: "&").utf8)
        }
        let formType = [("Content-Type", "application/x-www-form-urlencoded")]
        let signedIn = try Self.send(port, "POST", "/login", headers: formType,
                                     body: form([("csrf_token", loginCSRF), ("email", "ops@acme.test"), ("password", "owner password 123")]), jar: &jar)
        #expect(signedIn.status == 303)
        let team = try Self.send(port, "GET", "/o/acme/ml", jar: &jar)
        #expect(team.status == 200)
        let csrf = try #require(Browser.csrf(in: team.text))
        let renamed = try Self.send(port, "POST", "/o/acme/ml/rename", headers: formType, body: form([("csrf_token", csrf), ("name", "Machine Learning")]),
                                    jar: &jar)
        #expect(renamed.status == 303 && jar["soot_lsn"] != nil)
        #expect(try Self.send(port, "GET", "/o/acme/ml", jar: &jar).text.contains("Machine Learning"))
        jar["soot_lsn"] = nil
        // Pages without a recent write read the replica once it has caught up (under load that can take a while).
        var replicaReads = 0.0
        var states: [String] = []
        let readDeadline = Date().addingTimeInterval(30)
        while replicaReads == 0 && Date() < readDeadline {
            #expect(try Self.send(port, "GET", "/o/acme", jar: &jar).status == 200)
            replicaReads = 0
            states = []
            for instance in [first, second] {
                let scrape = try RawConnection(port: instance.metricsPort)
                try scrape.send("GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                let text = try scrape.readResponse(timeout: 5).text
                replicaReads += text.split(separator: "\n").first { $0.hasPrefix("soot_db_reads_total{target=\"replica\"}") }
                    .flatMap { Double($0.split(separator: " ").last ?? "") } ?? 0
                states.append(text.split(separator: "\n").filter { $0.hasPrefix("soot_db_replica_") }.joined(separator: ", "))
            }
            if replicaReads == 0 { usleep(250_000) }
        }
        #expect(replicaReads > 0, "no page was read from the replica: \(states)")
        print("topology: \(ids.count) samples acknowledged through nginx (statuses \(counts)), all stored once; codecarbon \(clientAccepted) posts accepted; \(Int(replicaReads)) page reads on the replica")
    }
}
