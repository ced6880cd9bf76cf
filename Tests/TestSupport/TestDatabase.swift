import Foundation
import Postgres

/// One throwaway PostgreSQL cluster per test process, started with Soot's own embedded launcher, and a fresh
/// database per test cloned from a migrated template.
public enum TestDatabase {
    /// The repository root (found from this file's path).
    public static let repositoryRoot: URL = {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }()

    public static var migrationsFolder: URL { repositoryRoot.appendingPathComponent("Migrations") }

    nonisolated(unsafe) private static var folderForCleanup: String?

    /// The cluster, started on first use and stopped when the test process exits.
    public static let cluster: EmbeddedPostgres = {
        TestLogging.quiet
        let folder = URL(fileURLWithPath: "/tmp/soot-test-\(getpid())")
        try? FileManager.default.removeItem(at: folder)
        do {
            let cluster = try EmbeddedPostgres(folder: folder, database: "postgres", user: "soot")
            try cluster.start()
            folderForCleanup = folder.path
            atexit {
                if let path = TestDatabase.folderForCleanup {
                    let cluster = try? EmbeddedPostgres(folder: URL(fileURLWithPath: path), database: "postgres", user: "soot")
                    cluster?.kill()
                    try? FileManager.default.removeItem(atPath: path)
                }
            }
            return cluster
        } catch {
            fatalError("could not start the test PostgreSQL cluster: \(error)")
        }
    }()

    /// A migrated template database, made once per process.
    static let template: String = {
        let name = "soot_template"
        do {
            try cluster.createDatabase(name)
            let connection = try DatabaseConnection(url: cluster.connectionURL(database: name))
            try Migrator(directory: migrationsFolder).migrate(connection)
            connection.close()
        } catch {
            fatalError("could not migrate the template database: \(error)")
        }
        return name
    }()

    /// A new empty-but-migrated database; returns its connection string.
    public static func makeDatabase(migrated: Bool = true) throws -> String {
        let name = "t_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        var attempts = 0
        while true {
            do {
                try cluster.createDatabase(name, template: migrated ? template : nil)
                break
            } catch let error as DatabaseError where error.sqlState == "55006" && attempts < 20 {
                attempts += 1
                usleep(50_000)
            }
        }
        return cluster.connectionURL(database: name)
    }

    /// Runs `body` with a pool on a fresh database, closing the pool afterwards.
    public static func withPool<T>(migrated: Bool = true, _ body: (ConnectionPool, String) throws -> T) throws -> T {
        let url = try makeDatabase(migrated: migrated)
        let pool = ConnectionPool(url: url)
        defer { pool.close() }
        return try body(pool, url)
    }
}

import Logging

/// Keeps test output readable: only warnings and worse are logged (set SOOT_TEST_LOG_LEVEL=info to see more).
public enum TestLogging {
    public static let quiet: Void = {
        let level = Logger.Level(rawValue: ProcessInfo.processInfo.environment["SOOT_TEST_LOG_LEVEL"] ?? "warning") ?? .warning
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }()
}
