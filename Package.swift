// swift-tools-version:6.1
import PackageDescription

let strictSwift: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

// `TUTELA_CORE_ONLY=1` builds the vault and the command line without the server, its network
// dependencies and the benchmark that drives it: CI's AddressSanitizer stage uses it, since the
// memory-unsafe code (libsodium, secret memory, SQLite) is in the core, and NIO and BoringSSL
// under the sanitizer would double the stage's time. `tutela serve` then says it is not built in.
let coreOnly = Context.environment["TUTELA_CORE_ONLY"] == "1"

let serverPackages: [Package.Dependency] = [
    // The server (`tutela serve`). Hummingbird's swift-configuration trait is left off.
    .package(
        url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1",
        traits: ["FullFoundation"]),
    .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
    .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
    .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
    .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
    .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
    // The shared store for trusts and authorities (`tutela init --store postgres://…`).
    .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
]

let serverTargets: [Target] = [
    // The PostgreSQL store: the same store protocol over postgres-nio, for several servers.
    .target(
        name: "TutelaPostgres",
        dependencies: [
            "Tutela", "TutelaCrypto",
            .product(name: "PostgresNIO", package: "postgres-nio"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
        ],
        swiftSettings: strictSwift
    ),
    .testTarget(
        name: "TutelaPostgresTests",
        dependencies: [
            "TutelaPostgres", "Tutela", "TutelaCrypto", "TutelaTesting",
            .product(name: "PostgresNIO", package: "postgres-nio"),
            .product(name: "Logging", package: "swift-log"),
        ],
        swiftSettings: strictSwift
    ),
    // `tutela serve`: sessions, the HTTP API, its routes (thin, over the library's services).
    .target(
        name: "TutelaServer",
        dependencies: [
            "Tutela", "TutelaCrypto",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdCore", package: "hummingbird"),
            .product(name: "HummingbirdTLS", package: "hummingbird"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ],
        swiftSettings: strictSwift
    ),
    .executableTarget(
        name: "TutelaBench",
        dependencies: [
            "Tutela", "TutelaSQLite", "TutelaCrypto", "TutelaServer", "TutelaPostgres",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "GRDB", package: "GRDB.swift"),
        ],
        swiftSettings: strictSwift
    ),
    .testTarget(
        name: "TutelaServerTests",
        dependencies: [
            "TutelaServer", "Tutela", "TutelaCrypto", "TutelaTesting",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdTesting", package: "hummingbird"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
            .product(name: "Logging", package: "swift-log"),
        ],
        swiftSettings: strictSwift
    ),
]

let package = Package(
    name: "Tutela",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "tutela", targets: ["TutelaCLI"]),
        .executable(name: "tutela-fuzz", targets: ["TutelaFuzz"]),
        .library(name: "Tutela", targets: ["Tutela"]),
    ] + (coreOnly ? [] : [.executable(name: "tutela-bench", targets: ["TutelaBench"])]),
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ] + (coreOnly ? [] : serverPackages),
    targets: (coreOnly ? [] : serverTargets) + [
        // libsodium, reached only through TutelaCrypto.
        .systemLibrary(
            name: "CSodium",
            pkgConfig: "libsodium",
            providers: [.apt(["libsodium-dev"])]
        ),
        .target(
            name: "TutelaCrypto",
            dependencies: ["CSodium"],
            swiftSettings: strictSwift
        ),
        .target(
            name: "Tutela",
            dependencies: ["TutelaCrypto", .product(name: "Yams", package: "Yams")],
            swiftSettings: strictSwift
        ),
        .target(
            name: "TutelaSQLite",
            dependencies: [
                "Tutela", .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
            ],
            swiftSettings: strictSwift
        ),
        .executableTarget(
            name: "TutelaCLI",
            dependencies: [
                "Tutela", "TutelaSQLite", "TutelaCrypto",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
                + (coreOnly
                    ? []
                    : [
                        "TutelaServer", "TutelaPostgres",
                        .product(name: "Logging", package: "swift-log"),
                    ]),
            swiftSettings: strictSwift + (coreOnly ? [] : [.define("TUTELA_SERVER")])
        ),
        .executableTarget(
            name: "TutelaFuzz",
            dependencies: ["Tutela"],
            swiftSettings: strictSwift
        ),
        // Test support: the shared centre, a fault-injecting store, the store contract suite.
        .target(
            name: "TutelaTesting",
            dependencies: ["Tutela", "TutelaCrypto"],
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "TutelaCryptoTests",
            dependencies: ["TutelaCrypto"],
            resources: [.copy("Resources")],
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "TutelaTests",
            dependencies: ["Tutela", "TutelaCrypto", "TutelaTesting"],
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "TutelaSQLiteTests",
            dependencies: [
                "TutelaSQLite", "TutelaCrypto", "TutelaTesting",
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "TutelaCLITests",
            dependencies: ["TutelaCLI", .product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: strictSwift + (coreOnly ? [] : [.define("TUTELA_SERVER")])
        ),
    ],
    swiftLanguageModes: [.v6]
)
