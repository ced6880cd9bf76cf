import ArgumentParser
import Foundation
import Logging
import Postgres
import SootStore
import SootWeb

/// Opens the database for a one-shot command (migrated, embedded cluster started if needed), runs `body`,
/// and stops the cluster again if this command started it.
func withDatabase<T>(_ options: DatabaseOptions, _ body: (ConnectionPool) throws -> T) throws -> T {
    options.bootstrapLogging()
    let logger = Logger(label: "soot")
    let (url, cluster, use) = try options.open(logger: logger)
    defer { if let cluster, let use { cluster.release(use) } }
    _ = try options.migrate(url: url, logger: logger)
    let pool = ConnectionPool(url: url, configuration: .init(maximumConnections: 2, acquireTimeout: 10))
    defer { pool.close() }
    do {
        return try body(pool)
    } catch let error as AppError {
        throw ValidationError(error.message)
    }
}

/// Prints a JSON value on stdout (for scripts).
func printJSON(_ value: JSONValue) {
    print(value.serialized)
}

/// Prints what a set-up command made as JSON on stdout.
func printJSON(_ summary: Summary) {
    printJSON(.object(summary.mapValues { value in
        switch value {
        case .string(let text): .string(text)
        case .int(let number): .int(number)
        case .null: .null
        }
    }))
}
