// swift-tools-version:6.1
// libFuzzer targets for misdirect-milter. Not part of the product: build and run them with
// scripts/fuzz, which passes -sanitize=fuzzer,address (see the README's "Fuzzing").
import PackageDescription

let risk = Target.Dependency.product(name: "MisdirectionRisk", package: "misdirect-milter")
let milter = Target.Dependency.product(name: "Milter", package: "misdirect-milter")

/// One entry per fuzz target: Sources/<name>/main.swift calls `fuzz { bytes in … }`, and
/// Corpus/<name>/ holds its seed inputs.
let fuzzTargets: [(name: String, dependencies: [Target.Dependency])] = [
    ("FuzzAddress", [risk]),
    ("FuzzHeader", [risk]),
    ("FuzzClassifier", [risk, milter]),
    ("FuzzMessageContext", [risk]),
    // Compiles the executable's configuration files (and the value types they use) through
    // symbolic links: see Sources/FuzzConfiguration/main.swift.
    ("FuzzConfiguration", [
        risk, milter, .product(name: "CorrespondentHistory", package: "misdirect-milter"),
        .product(name: "Logging", package: "swift-log"), .product(name: "Yams", package: "Yams"),
    ]),
]

let package = Package(
    name: "misdirect-milter-fuzz",
    dependencies: [
        .package(name: "misdirect-milter", path: ".."),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        // libFuzzer's driver entry point, declared for Swift.
        .target(name: "CFuzzer"),
        // fuzz { }, require(), and the fixtures the targets share.
        .target(name: "FuzzSupport", dependencies: ["CFuzzer", risk]),
    ] + fuzzTargets.map { .executableTarget(name: $0.name, dependencies: ["FuzzSupport"] + $0.dependencies) },
    swiftLanguageModes: [.v6]
)
