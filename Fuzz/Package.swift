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
    // The configuration loader, from the library the executable is built on.
    ("FuzzConfiguration", [risk, milter, .product(name: "MisdirectMilterKit", package: "misdirect-milter")]),
]

let package = Package(
    name: "misdirect-milter-fuzz",
    dependencies: [
        .package(name: "misdirect-milter", path: ".."),
    ],
    targets: [
        // libFuzzer's driver entry point, declared for Swift.
        .target(name: "CFuzzer"),
        // fuzz { }, require(), and the fixtures the targets share.
        .target(name: "FuzzSupport", dependencies: ["CFuzzer", risk]),
    ] + fuzzTargets.map { .executableTarget(name: $0.name, dependencies: ["FuzzSupport"] + $0.dependencies) },
    swiftLanguageModes: [.v6]
)
