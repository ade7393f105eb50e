// swift-tools-version:6.1
import PackageDescription

let strictSwift: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "Tutela",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "tutela", targets: ["TutelaCLI"]),
        .executable(name: "tutela-bench", targets: ["TutelaBench"]),
        .executable(name: "tutela-fuzz", targets: ["TutelaFuzz"]),
        .library(name: "Tutela", targets: ["Tutela"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
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
            ],
            swiftSettings: strictSwift
        ),
        .executableTarget(
            name: "TutelaBench",
            dependencies: [
                "Tutela", "TutelaSQLite", "TutelaCrypto",
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: strictSwift
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
            swiftSettings: strictSwift
        ),
    ],
    swiftLanguageModes: [.v6]
)
