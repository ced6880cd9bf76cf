import Foundation
import Logging

/// Applies `NNNN_name.sql` files in order, each in its own transaction, recording version, name and a SHA-256
/// checksum in `schema_migrations`. A session-level advisory lock makes concurrent starts wait for each other;
/// a migration edited after it was applied is an error.
public struct Migrator: Sendable {
    /// One migration file.
    public struct Migration: Sendable, Equatable {
        public let version: Int
        public let name: String
        public let sql: String

        public init(version: Int, name: String, sql: String) {
            self.version = version
            self.name = name
            self.sql = sql
        }
    }

    /// Arbitrary constant key for the migrations' advisory lock ("soot" in ASCII).
    public static let lockKey: Int64 = 0x736F_6F74

    public let migrations: [Migration]
    private let logger: Logger

    public init(migrations: [Migration], logger: Logger = Logger(label: "postgres.migrate")) {
        self.migrations = migrations.sorted { $0.version < $1.version }
        self.logger = logger
    }

    /// Reads `NNNN_name.sql` files from `directory`.
    public init(directory: URL, logger: Logger = Logger(label: "postgres.migrate")) throws {
        let files: [String]
        do {
            files = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        } catch {
            throw DatabaseError(.migration, message: "cannot read the migrations folder \(directory.path)")
        }
        var migrations: [Migration] = []
        for file in files where file.hasSuffix(".sql") {
            let stem = file.dropLast(4)
            guard let underscore = stem.firstIndex(of: "_"), let version = Int(stem[..<underscore]) else {
                throw DatabaseError(.migration, message: "migration file \(file) is not named NNNN_name.sql")
            }
            if migrations.contains(where: { $0.version == version }) {
                throw DatabaseError(.migration, message: "two migrations have version \(version)")
            }
            let sql = try String(contentsOf: directory.appendingPathComponent(file), encoding: .utf8)
            migrations.append(Migration(version: version, name: String(stem[stem.index(after: underscore)...]), sql: sql))
        }
        self.init(migrations: migrations, logger: logger)
    }

    /// Applies what is missing; returns the versions applied now.
    @discardableResult
    ///
    /// Instances starting together take turns through a transaction-level advisory lock, taken again in each
    /// migration's transaction (so it works through a transaction-mode pooler too, where a session lock could be
    /// taken on one server connection and released on another): whoever gets it second finds the migration applied.
    public func migrate(_ connection: DatabaseConnection) throws -> [Int] {
        try connection.transaction { connection in
            try connection.query("SELECT pg_advisory_xact_lock(\(Migrator.lockKey))")
            try connection.execute("""
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    version integer PRIMARY KEY,
                    name text NOT NULL,
                    checksum text NOT NULL,
                    applied_at timestamptz NOT NULL DEFAULT now()
                )
                """)
        }
        var applied: [Int: (name: String, checksum: String)] = [:]
        for row in try connection.query("SELECT version, name, checksum FROM schema_migrations").rows {
            applied[try row.decode("version")] = (try row.decode("name"), try row.decode("checksum"))
        }
        var done: [Int] = []
        for migration in migrations {
            let checksum: String = try connection.query(
                "SELECT encode(sha256(convert_to(\(migration.sql), 'UTF8')), 'hex') AS sum"
            ).first!.decode("sum")
            func check(_ existing: String) throws {
                if existing != checksum {
                    throw DatabaseError(.migration, message:
                        "migration \(migration.version)_\(migration.name) was changed after it was applied; add a new migration instead")
                }
            }
            if let existing = applied[migration.version] {
                try check(existing.checksum)
                continue
            }
            let appliedHere = try connection.transaction { connection -> Bool in
                try connection.query("SELECT pg_advisory_xact_lock(\(Migrator.lockKey))")
                // Another instance may have applied it while this one waited for the lock.
                if let row = try connection.query("SELECT checksum FROM schema_migrations WHERE version = \(migration.version)").first {
                    try check(try row.decode("checksum"))
                    return false
                }
                try connection.execute(migration.sql)
                try connection.query("""
                    INSERT INTO schema_migrations (version, name, checksum) VALUES (\(migration.version), \(migration.name), \(checksum))
                    """)
                return true
            }
            guard appliedHere else { continue }
            logger.info("migration applied", metadata: ["version": "\(migration.version)", "name": "\(migration.name)"])
            done.append(migration.version)
        }
        return done
    }
}
