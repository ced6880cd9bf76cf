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

final class Results: @unchecked Sendable {
    // Safety: guarded by `lock`.
    private let lock = NSLock()
    private var storage: [[Int]] = []
    func append(_ value: [Int]) { lock.lock(); storage.append(value); lock.unlock() }
    var values: [[Int]] { lock.lock(); defer { lock.unlock() }; return storage }
}
