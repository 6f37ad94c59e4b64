// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "misdirect-milter",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "misdirect-milter", targets: ["misdirect-milter"]),
        .library(name: "Milter", targets: ["Milter"]),
        .library(name: "MisdirectionRisk", targets: ["MisdirectionRisk"]),
        .library(name: "CorrespondentHistory", targets: ["CorrespondentHistory"]),
        // For the fuzz package, which compiles the configuration loader from here.
        .library(name: "MisdirectMilterKit", targets: ["MisdirectMilterKit"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth", from: "2.5.0"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
    ],
    targets: [
        // The C surface only: libmilter's mfapi.h plus a shim for what Swift cannot call.
        .systemLibrary(
            name: "CMilter",
            path: "CMilter",
            providers: [.apt(["libmilter-dev"])]
        ),
        // The one lock type: a value behind a pthread mutex, which ThreadSanitizer follows.
        .target(name: "Locking"),
        // Speaks the milter protocol through libmilter; knows nothing about misdirection.
        .target(
            name: "Milter",
            dependencies: ["CMilter", "Locking"],
            // Export the sigwait that keeps libmilter's signal thread off SIGHUP
            // (Sources/Milter/Internals/SignalOwnership.swift) so libmilter binds to it.
            linkerSettings: [.unsafeFlags(["-Xlinker", "--export-dynamic-symbol=sigwait"])]
        ),
        // A MilterContext that records what a session asks of the MTA: sessions unit-tested
        // without one (the integration tests still use a real Postfix).
        .target(name: "MilterTesting", dependencies: ["Milter"]),
        // GNU libidn2 (IDNA2008): decodes punycode (xn--) labels. Pure computation.
        .systemLibrary(name: "CIDN2", path: "Sources/CIDN2", providers: [.apt(["libidn2-dev"])]),
        // ICU's uspoof (UTS #39): confusable skeletons and mixed-script checks. Pure computation.
        // A small C target rather than a system library: cicu.c keeps ICU's headers out of every
        // module, where they clashed with Foundation's own copy (see include/cicu.h). apt: libicu-dev.
        .target(name: "CICU", path: "Sources/CICU", linkerSettings: [.linkedLibrary("icui18n"), .linkedLibrary("icuuc")]),
        // Pure logic: addresses, domains, look-alikes, scoring and policy. No I/O.
        .target(name: "MisdirectionRisk", dependencies: ["CIDN2", "CICU"], linkerSettings: [.linkedLibrary("m")]),
        // Past traffic for `replay` and `history import`: pure parsers of Postfix log lines,
        // message headers and mbox framing, and the one reader of plain or gzip files they take
        // their bytes from (ByteSource, the only user of zlib).
        .target(name: "MailHistory", dependencies: ["MisdirectionRisk", "CZlib"]),
        // The correspondent store (I/O): who the organisation writes to, in SQLite (GRDB) or
        // PostgreSQL (postgres-nio), with the background snapshot and write queue `serve` uses.
        .target(
            name: "CorrespondentHistory",
            dependencies: [
                "MisdirectionRisk",
                "Locking",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // zlib's C surface, for reading gzip-rotated logs in `replay`.
        .systemLibrary(
            name: "CZlib",
            path: "Sources/CZlib",
            providers: [.apt(["zlib1g-dev"])]
        ),
        // The MTA side of the milter protocol: `probe` asks a running milter with it; MilterTests
        // drive the library with it, IntegrationTests the binary where a real MTA cannot produce
        // the input.
        .target(name: "MTADriver"),
        // Everything the commands share: configuration (YAML, located errors), the milter
        // session, the services `serve` runs beside libmilter (metrics, review notices, history),
        // logging, and the operations on Postfix's queue. Imported by the executable and tests.
        .target(
            name: "MisdirectMilterKit",
            dependencies: [
                "Milter",
                "Locking",
                "MisdirectionRisk",
                "MailHistory",
                "CorrespondentHistory",
                "ReviewLinks",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // Signed one-use links for the review notices (an HMAC over queue id, action, recipient
        // and expiry); the clock comes from the caller, the key from its file (LinkKey).
        .target(name: "ReviewLinks", dependencies: [.product(name: "Crypto", package: "swift-crypto")]),
        // The review console: held mail with release and drop, for reviewers without a shell,
        // the recorded decisions and their charts (read from the history store), and the
        // confirmation pages of signed links. HTTP only; the queue is changed through
        // the `held` command (sudo), never directly.
        .target(
            name: "ReviewConsole",
            dependencies: [
                "MisdirectMilterKit",
                "ReviewLinks",
                "CorrespondentHistory",
                "Locking",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The command line only: the root command, shared options, one file per subcommand.
        .executableTarget(
            name: "misdirect-milter",
            dependencies: [
                "MisdirectMilterKit",
                "ReviewConsole",
                "ReviewLinks",
                "MTADriver",
                "Milter",
                "MisdirectionRisk",
                "MailHistory",
                "CorrespondentHistory",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Hummingbird", package: "hummingbird"),
            ]
        ),
        // Release-mode speed benchmark of the classifier against a linear scan (prints a table).
        .executableTarget(name: "misdirect-bench", dependencies: ["MisdirectionRisk"]),
        // Decision latency with the correspondent history against without, in the same run.
        .executableTarget(
            name: "misdirect-history-bench",
            dependencies: ["MisdirectionRisk", "CorrespondentHistory", "Locking", "PostgresHarness", .product(name: "Logging", package: "swift-log")]
        ),
        // The review console's list page with 10,000 held messages, against its stylesheet.
        .executableTarget(
            name: "misdirect-console-bench",
            dependencies: [
                "ReviewConsole", "ReviewLinks", "MisdirectMilterKit",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Recall and false positives on the labelled corpus in evaluation/ (prints a table).
        // The console's decisions page and report over a million recorded decisions.
        .executableTarget(
            name: "misdirect-decisions-bench",
            dependencies: [
                "ReviewConsole", "MisdirectMilterKit", "CorrespondentHistory", "MisdirectionRisk",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(name: "misdirect-eval", dependencies: ["MisdirectionRisk"]),
        .testTarget(name: "MisdirectionRiskTests", dependencies: ["MisdirectionRisk", "TestSupport"]),
        .testTarget(name: "EvaluationTests", dependencies: ["misdirect-eval", "MisdirectionRisk", "TestSupport"]),
        // What every kind of test shares: a free loopback port, a lock, spawning a child that
        // inherits none of the test process's descriptors.
        .target(name: "TestSupport", dependencies: ["Locking"], path: "Tests/TestSupport"),

        .testTarget(name: "MilterTests", dependencies: ["Milter", "MTADriver", "TestSupport"]),
        .testTarget(name: "MailHistoryTests", dependencies: ["MailHistory"]),
        // A private PostgreSQL server on loopback for the store and integration tests.
        .target(name: "PostgresHarness", dependencies: ["TestSupport"], path: "Tests/PostgresHarness"),
        // The same store tests against SQLite and a private PostgreSQL; the background service.
        .testTarget(name: "CorrespondentHistoryTests", dependencies: ["CorrespondentHistory", "Locking", "MisdirectionRisk", "PostgresHarness"]),
        .testTarget(
            name: "MisdirectMilterTests",
            dependencies: [
                "MisdirectMilterKit", "MisdirectionRisk", "Milter", "MilterTesting", "PostgresHarness", "TestSupport", "ReviewLinks",
                // The reference tests read the packaged file's examples as YAML.
                .product(name: "Yams", package: "Yams"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // The console's pages, sessions, CSRF and links through Hummingbird's test client.
        .testTarget(
            name: "ReviewConsoleTests",
            dependencies: [
                "CorrespondentHistory",
                "ReviewConsole", "ReviewLinks", "MisdirectMilterKit",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ]
        ),
        // Runs the built binary inside a real Postfix on loopback. Needs root, postfix, swaks.
        .testTarget(name: "IntegrationTests", dependencies: ["MTADriver", "PostgresHarness", "TestSupport", "MisdirectionRisk", "ReviewLinks"]),
    ],
    swiftLanguageModes: [.v6]
)
