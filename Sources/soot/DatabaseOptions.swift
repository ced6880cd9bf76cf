import ArgumentParser
import Foundation
import Logging
import SootStore
import SootWeb
import Postgres

/// Where the database is: `--database-url` / `DATABASE_URL`, or the embedded cluster in the data folder.
struct DatabaseOptions: ParsableArguments {
    @Option(name: .customLong("database-url"), help: ArgumentHelp(
        "PostgreSQL connection URL or libpq string (env DATABASE_URL). Without it Soot starts its own embedded cluster.",
        valueName: "url"))
    var databaseURL: String?

    @Option(name: .customLong("data-dir"), help: ArgumentHelp(
        "Folder for the embedded PostgreSQL cluster (env SOOT_DATA_DIR; default ~/.local/share/soot, /var/lib/soot as root).",
        valueName: "path"))
    var dataDirectory: String?

    @Option(name: .customLong("migrations-dir"), help: ArgumentHelp(
        "Folder of NNNN_name.sql migrations (env SOOT_MIGRATIONS_DIR; default: the Migrations folder found beside Soot).",
        valueName: "path"))
    var migrationsDirectory: String?

    @Option(name: .customLong("database-pooling"), help: ArgumentHelp(
        "session (default), or transaction when DATABASE_URL is a pooler in transaction mode such as pgbouncer's pool_mode = transaction: statements are sent unnamed and nothing outlives a transaction (env SOOT_DATABASE_POOLING).",
        valueName: "session|transaction"))
    var databasePooling: String?

    @Option(name: .customLong("log-level"), help: ArgumentHelp(
        "trace, debug, info, notice, warning, error or critical (env LOG_LEVEL; default info).", valueName: "level"))
    var logLevel: String?

    static var environment: [String: String] { ProcessInfo.processInfo.environment }

    var resolvedLogLevel: Logger.Level {
        Logger.Level(rawValue: (logLevel ?? Self.environment["LOG_LEVEL"] ?? "info").lowercased()) ?? .info
    }

    var resolvedDataDirectory: URL {
        if let path = dataDirectory ?? Self.environment["SOOT_DATA_DIR"], !path.isEmpty {
            return URL(fileURLWithPath: path).standardizedFileURL
        }
        if getuid() == 0 { return URL(fileURLWithPath: "/var/lib/soot") }
        if let xdg = Self.environment["XDG_DATA_HOME"], !xdg.isEmpty {
            return URL(fileURLWithPath: xdg).appendingPathComponent("soot")
        }
        return FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".local/share/soot")
    }

    func resolvedMigrationsDirectory() throws -> URL {
        if let path = migrationsDirectory ?? Self.environment["SOOT_MIGRATIONS_DIR"], !path.isEmpty {
            return URL(fileURLWithPath: path)
        }
        if let found = ResourceLocator.find("Migrations") { return found }
        throw ValidationError("No Migrations folder found; pass --migrations-dir or set SOOT_MIGRATIONS_DIR.")
    }

    func bootstrapLogging() {
        let level = resolvedLogLevel
        // SOOT_LOG_FORMAT=json (or `soot serve --log-format json`): one JSON object per line.
        LogSink.standardError.setJSON(Self.environment["SOOT_LOG_FORMAT"]?.lowercased() == "json")
        LoggingSystem.bootstrap { label in
            var handler = BufferedLogHandler(label: label)
            handler.logLevel = level
            return handler
        }
    }

    /// Opens the database: the URL given, or the embedded cluster (started if needed) with this process recorded
    /// as one of its users. Give `use` back with `cluster.release(use)`: the cluster is stopped only when no other
    /// Soot process uses it.
    func open(logger: Logger) throws -> (url: String, cluster: EmbeddedPostgres?, use: EmbeddedPostgres.Use?) {
        let pooling = (databasePooling ?? Self.environment["SOOT_DATABASE_POOLING"] ?? "session").lowercased()
        guard let mode = DatabasePooling(rawValue: pooling) else {
            throw ValidationError("--database-pooling must be session or transaction.")
        }
        DatabasePooling.mode = mode
        if let url = databaseURL ?? Self.environment["DATABASE_URL"], !url.isEmpty {
            return (url, nil, nil)
        }
        do {
            let cluster = try EmbeddedPostgres(folder: resolvedDataDirectory, database: "soot", user: "soot", logger: logger)
            let use = try cluster.acquire()
            return (cluster.connectionURL, cluster, use)
        } catch let failure as EmbeddedPostgres.Failure {
            throw CommandFailure(failure.description)
        } catch {
            throw CommandFailure("\(error)")
        }
    }

    /// Applies the migrations on a dedicated connection.
    func migrate(url: String, logger: Logger) throws -> [Int] {
        let connection = try DatabaseConnection(url: url)
        defer { connection.close() }
        return try Migrator(directory: try resolvedMigrationsDirectory(), logger: logger).migrate(connection)
    }
}

/// A command that failed for a reason that is not its arguments: printed as `Error: ...`, exit status 1, no usage.
struct CommandFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Finds folders shipped beside Soot (Migrations, Public): the working directory, then up from the executable
/// (a `.build/<config>/soot` inside a clone), then `../share/soot` (an installed layout).
enum ResourceLocator {
    static func find(_ name: String) -> URL? {
        let fileManager = FileManager.default
        var candidates = [URL(fileURLWithPath: fileManager.currentDirectoryPath).appendingPathComponent(name)]
        let executable = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        var directory = executable
        for _ in 0..<5 {
            candidates.append(directory.appendingPathComponent(name))
            directory = directory.deletingLastPathComponent()
        }
        candidates.append(executable.appendingPathComponent("../share/soot/\(name)").standardizedFileURL)
        var isDirectory: ObjCBool = false
        return candidates.first { fileManager.fileExists(atPath: $0.path, isDirectory: &isDirectory) && isDirectory.boolValue }
    }
}
