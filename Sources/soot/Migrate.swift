import ArgumentParser
import Logging

/// `soot migrate`: apply pending migrations and exit.
struct Migrate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Apply pending database migrations, then exit.",
        discussion: "Safe to run while other Soot instances start: an advisory lock makes them take turns.")

    @OptionGroup var database: DatabaseOptions

    func run() throws {
        database.bootstrapLogging()
        let logger = Logger(label: "soot.migrate")
        let (url, cluster, use) = try database.open(logger: logger)
        defer { if let cluster, let use { cluster.release(use) } }
        let applied = try database.migrate(url: url, logger: logger)
        print(applied.isEmpty ? "The database is up to date." : "Applied migrations: \(applied.map(String.init).joined(separator: ", ")).")
    }
}
