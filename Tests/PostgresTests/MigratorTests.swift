import Foundation
import Postgres
import TestSupport
import Testing

@Suite struct MigratorTests {
    let first = Migrator.Migration(version: 1, name: "one", sql: "CREATE TABLE a (id int); INSERT INTO a VALUES (1);")
    let second = Migrator.Migration(version: 2, name: "two", sql: "CREATE TABLE b (id int)")

    @Test func appliesInOrderOnceAndRecordsChecksums() throws {
        try TestDatabase.withPool(migrated: false) { pool, _ in
            try pool.withConnection { connection in
                // Given out of order, applied in order.
                let applied = try Migrator(migrations: [second, first]).migrate(connection)
                #expect(applied == [1, 2])
                #expect(try Migrator(migrations: [first, second]).migrate(connection).isEmpty)
                let rows = try connection.query("SELECT version, name, length(checksum) AS l FROM schema_migrations ORDER BY version").rows
                #expect(try rows.map { try $0.decode("version", as: Int.self) } == [1, 2])
                #expect(try rows.map { try $0.decode("l", as: Int.self) } == [64, 64])
                #expect(try connection.query("SELECT count(*) AS n FROM a").first!.decode("n", as: Int.self) == 1)
            }
        }
    }

    @Test func refusesAMigrationEditedAfterItWasApplied() throws {
        try TestDatabase.withPool(migrated: false) { pool, _ in
            try pool.withConnection { connection in
                try Migrator(migrations: [first]).migrate(connection)
                let edited = Migrator.Migration(version: 1, name: "one", sql: first.sql + " -- edited")
                #expect {
                    try Migrator(migrations: [edited]).migrate(connection)
                } throws: { error in
                    (error as? DatabaseError)?.kind == .migration
                }
            }
        }
    }

    @Test func aFailingMigrationLeavesNothingHalfDone() throws {
        try TestDatabase.withPool(migrated: false) { pool, _ in
            try pool.withConnection { connection in
                let broken = Migrator.Migration(version: 3, name: "broken", sql: "CREATE TABLE c (id int); SELECT nonsense_fn();")
                #expect(throws: DatabaseError.self) { try Migrator(migrations: [first, broken]).migrate(connection) }
                let versions = try connection.query("SELECT version FROM schema_migrations").rows.map { try $0.decode("version", as: Int.self) }
                #expect(versions == [1])
                #expect(try connection.query("SELECT to_regclass('c') IS NULL AS gone").first!.decode("gone", as: Bool.self))
            }
        }
    }

    @Test func concurrentStartsApplyEachMigrationOnce() throws {
        try TestDatabase.withPool(migrated: false) { _, url in
            let slow = Migrator.Migration(version: 5, name: "slow", sql: "SELECT pg_sleep(0.3); CREATE TABLE slow (id int);")
            let results = Results()
            DispatchQueue.concurrentPerform(iterations: 4) { _ in
                do {
                    let connection = try DatabaseConnection(url: url)
                    let applied = try Migrator(migrations: [first, slow]).migrate(connection)
                    results.append(applied)
                    connection.close()
                } catch {
                    results.append([-1])
                }
            }
            let all = results.values
            #expect(all.count == 4)
            #expect(all.flatMap { $0 }.sorted() == [1, 5])
        }
    }

    @Test func theRepositoryMigrationsApplyToAnEmptyDatabase() throws {
        try TestDatabase.withPool(migrated: false) { pool, _ in
            try pool.withConnection { connection in
                let migrator = try Migrator(directory: TestDatabase.migrationsFolder)
                #expect(!migrator.migrations.isEmpty)
                let applied = try migrator.migrate(connection)
                #expect(applied == migrator.migrations.map(\.version))
                #expect(try connection.query("SELECT to_regclass('emission_samples') IS NOT NULL AS ok").first!.decode("ok", as: Bool.self))
            }
        }
    }
}

extension MigratorTests {
    /// After migration 0007, the value rules of runs and samples are domains, not table CHECK constraints (which
    /// PostgreSQL would re-read and check in every ingest statement, see the migration), and they still hold: a
    /// negative energy is refused by the table, each rule by its domain, and NULL passes as before.
    @Test func runAndSampleRulesAreDomains() throws {
        try TestDatabase.withPool(migrated: true) { pool, _ in
            let checks = try pool.query("""
                SELECT count(*) AS n FROM pg_constraint WHERE contype = 'c' AND conrelid IN ('runs'::regclass, 'emission_samples'::regclass)
                """).first!
            #expect(try checks.decode("n", as: Int.self) == 0)
            var domains: [String: String] = [:]
            for row in try pool.query("""
                SELECT table_name || '.' || column_name AS name, domain_name FROM information_schema.columns
                WHERE table_name IN ('runs', 'emission_samples') AND domain_name IS NOT NULL
                """).rows {
                domains[try row.decode("name")] = try row.decode("domain_name")
            }
            #expect(domains.count == 31)
            #expect(domains["runs.country_iso_code"] == "soot_text_3" && domains["runs.gpu_model"] == "soot_text_1000")
            #expect(domains["runs.source"] == "soot_run_source" && domains["runs.latitude"] == "soot_latitude")
            #expect(domains["emission_samples.energy_kwh"] == "soot_nonnegative" && domains["emission_samples.client_key"] == "soot_text_200")

            // The table refuses a negative energy, with the rule's name; nothing is written.
            let insert = { (energy: Double) in
                try pool.query("""
                    INSERT INTO emission_samples (id, organization_id, run_id, "timestamp", duration_seconds, emissions_kg, energy_kwh)
                    VALUES (gen_random_uuid(), gen_random_uuid(), gen_random_uuid(), now(), 1, 0, \(energy))
                    """)
            }
            let refused = #expect(throws: DatabaseError.self) { try insert(-0.5) }
            #expect(refused?.sqlState == "23514")
            #expect(refused?.constraint == "soot_nonnegative_check")
            #expect(try pool.query("SELECT count(*) AS n FROM emission_samples").first!.decode("n", as: Int.self) == 0)
            try insert(0.5)
            #expect(try pool.query("SELECT count(*) AS n FROM emission_samples").first!.decode("n", as: Int.self) == 1)

            // Each rule, at and past its limit; NULL passes.
            let cases: [(String, String, Bool)] = [
                ("0", "soot_nonnegative", true), ("-1e-300", "soot_nonnegative", false), ("0", "soot_count", true), ("-1", "soot_count", false),
                ("180", "soot_longitude", true), ("-180.5", "soot_longitude", false), ("-90", "soot_latitude", true), ("90.1", "soot_latitude", false),
                ("NaN", "soot_nonnegative", true), ("NaN", "soot_latitude", false),
                ("FRA", "soot_text_3", true), ("FRAN", "soot_text_3", false),
                (String(repeating: "\u{E9}", count: 100), "soot_text_100", true), (String(repeating: "a", count: 101), "soot_text_100", false),
                (String(repeating: "a", count: 200), "soot_text_200", true), (String(repeating: "a", count: 201), "soot_text_200", false),
                (String(repeating: "a", count: 500), "soot_text_500", true), (String(repeating: "a", count: 501), "soot_text_500", false),
                (String(repeating: "a", count: 1000), "soot_text_1000", true), (String(repeating: "a", count: 1001), "soot_text_1000", false),
                ("demo", "soot_run_source", true), ("agent", "soot_run_source", false),
            ]
            for (value, domain, allowed) in cases {
                let query = SQLQuery(unsafeSQL: "SELECT $1::\(domain) IS NOT NULL AS ok", binds: [value])
                if allowed {
                    #expect(try pool.query(query).first!.decode("ok", as: Bool.self), "\(value) as \(domain)")
                } else {
                    let error = #expect(throws: DatabaseError.self, "\(value) as \(domain)") { try pool.query(query) }
                    #expect(error?.sqlState == "23514")
                }
                let null = SQLQuery(unsafeSQL: "SELECT $1::\(domain) IS NULL AS ok", binds: [nil])
                #expect(try pool.query(null).first!.decode("ok", as: Bool.self))
            }
        }
    }
}

final class Results: @unchecked Sendable {
    // Safety: guarded by `lock`.
    private let lock = NSLock()
    private var storage: [[Int]] = []
    func append(_ value: [Int]) { lock.lock(); storage.append(value); lock.unlock() }
    var values: [[Int]] { lock.lock(); defer { lock.unlock() }; return storage }
}
