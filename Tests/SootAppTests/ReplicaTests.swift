import Foundation
import HTTPServer
import Postgres
@testable import SootStore
@testable import SootWeb
import TestSupport
import Synchronization
import Testing

/// Dashboards on a real streaming replica (issue 19, item 2): made with `pg_basebackup` from the test cluster.
/// Pages read the replica when it is fresh; a person who has just written reads the primary until the replica has
/// replayed their write; a replica lagging past the bound, or down, sends every read to the primary.
@Suite(.serialized) struct ReplicaTests {
    /// A streaming replica of the test cluster in a folder of its own, on its own socket.
    struct Replica {
        let cluster: EmbeddedPostgres
        /// The replication slot that keeps the primary's WAL until the replica has it (other tests write a lot of WAL
        /// meanwhile: without it, a segment was removed before the copy had streamed it).
        let slot = "soot_test_\(getpid())_\(UInt32.random(in: 0...UInt32.max))"

        init() throws {
            let binaries = try #require(EmbeddedPostgres.findBinaries())
            let folder = URL(fileURLWithPath: "/tmp/soot-replica-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            let primary = TestDatabase.cluster
            // Beside initdb, or in the server's own folder when initdb is a link elsewhere.
            let candidates = [binaries.appendingPathComponent("pg_basebackup").path,
                              binaries.resolvingSymlinksInPath().appendingPathComponent("initdb").resolvingSymlinksInPath()
                                  .deletingLastPathComponent().appendingPathComponent("pg_basebackup").path,
                              "/usr/bin/pg_basebackup"]
            let program = try #require(candidates.first { FileManager.default.isExecutableFile(atPath: $0) })
            let arguments = ["-h", primary.socketFolder.path, "-U", primary.user, "-D", folder.appendingPathComponent("cluster").path,
                             "-R", "-X", "stream", "-c", "fast", "-C", "-S", slot]
            let slot = self.slot
            // One copy at a time (two tests make replicas, and each copy's checkpoint recycled WAL the other still
            // needed), tried again if the primary's WAL moved on under it.
            var backup: Shell.Outcome?
            try Replica.copying.withLock { _ in
                for _ in 0..<3 where backup?.status != 0 {
                    try? FileManager.default.removeItem(at: folder.appendingPathComponent("cluster"))
                    // A failed copy may have made the slot already (-C): the next one makes it again.
                    if backup != nil, let connection = try? DatabaseConnection(url: primary.connectionURL(database: "postgres")) {
                        _ = try? connection.query("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = \(slot)")
                        connection.close()
                    }
                    if let account = primary.runAs {
                        // As root the clusters run as an unprivileged account: the copy is made as that account.
                        _ = try Shell.run("/bin/chown", [account, folder.path])
                        backup = try Shell.run("/usr/sbin/runuser", ["-u", account, "--", program] + arguments)
                    } else {
                        backup = try Shell.run(program, arguments)
                    }
                }
            }
            try #require(backup?.status == 0, "pg_basebackup: \(backup?.output ?? "") \(backup?.errors ?? "")")
            cluster = try EmbeddedPostgres(folder: folder, database: "postgres", user: primary.user)
            try cluster.start()
        }

        static let copying = Mutex(())

        func url(database: String) -> String { cluster.connectionURL(database: database) }

        func remove() {
            cluster.kill()
            try? FileManager.default.removeItem(at: cluster.folder)
            if let primary = try? DatabaseConnection(url: TestDatabase.cluster.connectionURL(database: "postgres")) {
                _ = try? primary.query("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = \(slot)")
                primary.close()
            }
        }
    }

    @Test func pagesReadTheReplicaWhenItIsFreshAndYourOwnWritesAlways() throws {
        let replica = try Replica()
        defer { replica.remove() }
        try TestDatabase.withPool { pool, url in
            let database = String(url.split(separator: " ").first { $0.hasPrefix("dbname=") }!.dropFirst(7))
            var configuration = AppConfiguration(publicDirectory: TestDatabase.repositoryRoot.appendingPathComponent("Public"))
            configuration.readURL = replica.url(database: database)
            configuration.replicaMaximumLag = 3
            let application = Application(configuration: configuration, store: Store(database: pool))
            let server = application.makeServer(Configuration(port: 0))
            try server.start()
            defer {
                server.shutdown(gracePeriod: 2)
                application.shutdown()
            }
            let app = AppFixture(pool: pool, url: url, server: server, application: application)
            let watcher = try #require(application.store.replica)
            let agent = try Agent(app)
            try pool.query("UPDATE users SET must_change_password = false")
            _ = try pool.transaction { try Accounts.resetPassword($0, email: Agent.email("Acme"), password: "owner password 123") }
            // The replica catches up with the bootstrap.
            func waitFresh() {
                let deadline = Date().addingTimeInterval(60)  // generous: under the whole suite's load on two cores, replay can lag
                while Date() < deadline {
                    let status = watcher.status
                    if status.up && status.lag == 0 { return }
                    usleep(50_000)
                }
            }
            waitFresh()
            #expect(watcher.status.up)
            #expect(String(decoding: try app.send("GET", "/readyz").body, as: UTF8.self).contains(#""replica":"ok""#))

            var browser = Browser(app: app)
            #expect(try browser.logIn(email: Agent.email("Acme"), password: "owner password 123").status == 303)
            // Signing in wrote (a session): the cookie holds the primary's position until the replica has it.
            #expect(browser.cookies["soot_lsn"] != nil)
            Thread.sleep(forTimeInterval: 0.5)
            waitFresh()
            let before = watcher.status.readsOnReplica
            #expect(try browser.get("/o/acme").status == 200)
            #expect(watcher.status.readsOnReplica > before, "the organization page was not read from the replica")

            // The replica stops replaying; a rename goes to the primary.
            let standby = try DatabaseConnection(url: replica.url(database: database))
            defer { standby.close() }
            try standby.query("SELECT pg_wal_replay_pause()")
            let teamPage = try browser.get("/o/acme/ml")
            let csrf = try #require(Browser.csrf(in: teamPage.text))
            let renamed = try browser.post("/o/acme/ml/rename", form: [("csrf_token", csrf), ("name", "Machine Learning")])
            #expect(renamed.status == 303)
            let position = try #require(renamed.header("Soot-LSN"))
            #expect(browser.cookies["soot_lsn"] == position)
            // Read-your-writes: the person who renamed it sees the new name (the primary: the replica lacks it).
            let own = try browser.get("/o/acme/ml")
            #expect(own.status == 200 && own.text.contains("Machine Learning"))
            // Anyone else, within the lag bound, reads the replica: still the old name there.
            var other = browser
            other.cookies["soot_lsn"] = nil
            let stale = try other.get("/o/acme")
            #expect(stale.text.contains(">ML<") && !stale.text.contains("Machine Learning"), "expected the replica's stale page")
            // Past the bound (3 s), every read goes to the primary.
            Thread.sleep(forTimeInterval: 3.5)
            #expect(watcher.status.lag > 3)
            #expect(try other.get("/o/acme").text.contains("Machine Learning"))
            #expect(String(decoding: try app.send("GET", "/readyz").body, as: UTF8.self).contains(#""replica":"lagging""#))

            // Replaying again, the replica serves everyone, the writer too once it has their write.
            try standby.query("SELECT pg_wal_replay_resume()")
            waitFresh()
            let onReplica = watcher.status.readsOnReplica
            #expect(try browser.get("/o/acme").text.contains("Machine Learning"))
            #expect(watcher.status.readsOnReplica == onReplica + 1)

            let exposition = application.metrics.registry.render()
            #expect(exposition.contains("soot_db_replica_up 1\n") && exposition.contains("soot_db_reads_total{target=\"replica\"}"))
            #expect(exposition.contains("soot_db_replica_lag_seconds "))
            // An export reads the replica too.
            let export = try other.get("/api/v1/reports/runs.csv?organization=\(agent.organizationID)&range=all")
            #expect(export.status == 200, "\(export.text)")
            #expect(watcher.status.readsOnReplica == onReplica + 2)

            // The replica goes away: reads go to the primary, and the server stays ready.
            replica.cluster.kill()
            let deadline = Date().addingTimeInterval(10)
            while watcher.status.up && Date() < deadline { usleep(50_000) }
            #expect(!watcher.status.up)
            let ready = try app.send("GET", "/readyz")
            #expect(ready.status == 200 && ready.text.contains(#""replica":"down""#))
            #expect(try browser.get("/o/acme").status == 200)
        }
    }

    @Test func walPositionsReadAndWriteAsPostgreSQLDoes() {
        #expect(ReadReplica.parse("16/B374D848") == 0x16_B374_D848)
        #expect(ReadReplica.format(0x16_B374_D848) == "16/B374D848")
        #expect(ReadReplica.parse("0/0") == 0)
        for bad in ["", "16", "16/", "/1", "x/1", "123456789/1", "1/2/3"] { #expect(ReadReplica.parse(bad) == nil) }
    }
}
