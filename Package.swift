// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "misdirect-milter",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "misdirect-milter", targets: ["misdirect-milter"]),
        .library(name: "Milter", targets: ["Milter"]),
        .library(name: "MisdirectionRisk", targets: ["MisdirectionRisk"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        // The C surface only: libmilter's mfapi.h plus a shim for what Swift cannot call.
        .systemLibrary(
            name: "CMilter",
            path: "CMilter",
            providers: [.apt(["libmilter-dev"])]
        ),
        // Speaks the milter protocol through libmilter; knows nothing about misdirection.
        .target(
            name: "Milter",
            dependencies: ["CMilter"],
            // Export the sigwait that keeps libmilter's signal thread off SIGHUP
            // (Sources/Milter/Internals/SignalOwnership.swift) so libmilter binds to it.
            linkerSettings: [.unsafeFlags(["-Xlinker", "--export-dynamic-symbol=sigwait"])]
        ),
        // Pure logic: addresses, domains, look-alikes, scoring and policy. No I/O.
        .target(name: "MisdirectionRisk"),
        // Wiring: CLI, configuration, logging, signals.
        .executableTarget(
            name: "misdirect-milter",
            dependencies: [
                "Milter",
                "MisdirectionRisk",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        .testTarget(name: "MisdirectionRiskTests", dependencies: ["MisdirectionRisk"]),
        .testTarget(name: "MilterTests", dependencies: ["Milter"]),
        .testTarget(
            name: "MisdirectMilterTests",
            dependencies: ["misdirect-milter", "MisdirectionRisk"]
        ),
        // Runs the built binary inside a real Postfix on loopback. Needs root, postfix, swaks.
        .testTarget(name: "IntegrationTests"),
    ],
    swiftLanguageModes: [.v6]
)
