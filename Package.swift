// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "Soot",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "soot", targets: ["soot"]),
        .library(name: "HTTPServer", targets: ["HTTPServer"]),
        .library(name: "SootStore", targets: ["SootStore"]),
        .library(name: "SootWeb", targets: ["SootWeb"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        // C shims: header-only system modules.
        .systemLibrary(name: "CEventPoll", path: "Sources/CEventPoll"),
        .systemLibrary(
            name: "CLibPQ", path: "Sources/CLibPQ", pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"])]),
        .systemLibrary(
            name: "COpenSSL", path: "Sources/COpenSSL", pkgConfig: "openssl",
            providers: [.apt(["libssl-dev"])]),

        // Sockets, the event loop and deadlines; no HTTP.
        .target(name: "Sockets", dependencies: ["CEventPoll"]),
        // HTTP/1.1: parser state machine, connections, router, static files. Knows nothing of Soot.
        .target(
            name: "HTTPServer",
            dependencies: ["Sockets", "CEventPoll", .product(name: "Logging", package: "swift-log")]),
        // PostgreSQL through libpq: connections, pool, binds, migrations, the embedded cluster.
        .target(
            name: "Postgres",
            dependencies: ["CLibPQ", .product(name: "Logging", package: "swift-log")]),
        // The domain: levels, totals, equivalents, plausibility. No I/O.
        .target(name: "Emissions"),

        .target(name: "HTTPClient", dependencies: ["COpenSSL"]),
        // Counters, gauges and histograms, and their Prometheus / OpenMetrics text. No I/O.
        .target(name: "Metrics"),
        // Typed records, access rules, every query, the sample writer, imports and report streams. No HTTP.
        .target(
            name: "SootStore",
            dependencies: ["Postgres", "Emissions", "Metrics", "COpenSSL", .product(name: "Logging", package: "swift-log")]),
        // Requests to store calls to views: the JSON API, CodeCarbon's API, pages, reports. No SQL: no Postgres.
        .target(
            name: "SootWeb",
            dependencies: ["HTTPServer", "HTTPClient", "SootStore", "Emissions", "Metrics", .product(name: "Logging", package: "swift-log")],
            // Only what SootWeb imports is visible to it, not what those modules import (Postgres's extensions).
            swiftSettings: [.enableUpcomingFeature("MemberImportVisibility")]),
        .executableTarget(
            name: "soot",
            dependencies: [
                "SootWeb", "SootStore", "Postgres", "HTTPServer",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]),

        // Shared test fixtures: the throwaway cluster, an HTTP client on raw sockets.
        .target(
            name: "TestSupport",
            dependencies: ["Postgres", "Sockets", "HTTPServer", .product(name: "Logging", package: "swift-log")],
            path: "Tests/TestSupport"),
        .testTarget(name: "HTTPServerTests", dependencies: ["HTTPServer", "Sockets", "TestSupport"]),
        .testTarget(name: "PostgresTests", dependencies: ["Postgres", "TestSupport"]),
        .testTarget(name: "EmissionsTests", dependencies: ["Emissions", "Metrics"]),
        .testTarget(
            name: "SootAppTests",
            dependencies: ["SootWeb", "SootStore", "Postgres", "HTTPServer", "Emissions", "Metrics", "TestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
