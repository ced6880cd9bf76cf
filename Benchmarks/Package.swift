// swift-tools-version:6.0
// The benchmark peers live in their own package, so the product never depends on what it is measured against.
import PackageDescription

let package = Package(
    name: "SootBenchmarks",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
    ],
    targets: [
        .executableTarget(
            name: "HummingbirdPeer",
            dependencies: [.product(name: "Hummingbird", package: "hummingbird")],
            path: "Sources/HummingbirdPeer"
        ),
    ]
)
