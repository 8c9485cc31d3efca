// swift-tools-version: 6.1
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "mamori",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "mamorictl", targets: ["mamorictl"]),
        // Benchmark only: writes a simulated fleet into a benchmark collector's database.
        .executable(name: "mamori-fleet-seed", targets: ["mamori-fleet-seed"]),
        .executable(name: "mamori-agent", targets: ["mamori-agent"]),
        .executable(name: "mamori-collector", targets: ["mamori-collector"]),
        .library(name: "MamoriCore", targets: ["MamoriCore"]),
        // `make pam` links this with -static-stdlib and a version script into build/pam_mamori.so.
        .library(name: "pam_mamori", type: .dynamic, targets: ["PamMamori"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams.git", "5.0.1"..<"7.0.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.4"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/vapor/sqlite-nio.git", from: "1.13.2"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
    ],
    targets: [
        // Floor 0: pure Swift. No sockets, no files, no clocks.
        .target(
            name: "MamoriCore",
            dependencies: [
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: swiftSettings
        ),
        // Floor 1: libudev (and the block-device ioctls) for the media guard.
        .systemLibrary(
            name: "CUdev",
            pkgConfig: "libudev",
            providers: [.apt(["libudev-dev"])]
        ),
        // Floor 0: the PAM-socket protocol; no dependencies at all, the module links it.
        .target(
            name: "MamoriAuthWire",
            swiftSettings: swiftSettings
        ),
        // Floor 1: libpam through a system module map and static inline shims.
        .systemLibrary(
            name: "CPAM",
            path: "Sources/CPAM",
            pkgConfig: "pam",
            providers: [.apt(["libpam0g-dev"])]
        ),
        // Floor 1: libqrencode, for enrolment QR codes drawn in the terminal.
        .systemLibrary(
            name: "CQRencode",
            path: "Sources/CQRencode",
            pkgConfig: "libqrencode",
            providers: [.apt(["libqrencode-dev"])]
        ),
        // Floor 1: the PAM module. Only CPAM, MamoriAuthWire and the standard library: it runs
        // inside login, sshd, sudo and screen lockers.
        .target(
            name: "PamMamori",
            dependencies: ["CPAM", "MamoriAuthWire"],
            exclude: ["exports.map"],
            swiftSettings: swiftSettings
        ),
        // Floor 1: the agent's adapters (files, locks, fsync, udev, the second-factor service) and
        // its services (media guard, auth verifier, posture, shipper, profile fetcher).
        .target(
            name: "MamoriAgent",
            dependencies: [
                "MamoriCore",
                "CUdev",
                "MamoriAuthWire",
                "MamoriClient",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // Floor 1: the collector (HTTP API over TLS, storage on SQLite or PostgreSQL, ingest).
        .target(
            name: "MamoriCollector",
            dependencies: [
                "MamoriCore",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "SQLiteNIO", package: "sqlite-nio"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: swiftSettings
        ),
        // Floor 1: the HTTP client side shared by the agent's shipper, mamorictl and the load generator.
        .target(
            name: "MamoriClient",
            dependencies: [
                "MamoriCore",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: swiftSettings
        ),
        // Floor 2: thin executables.
        .executableTarget(
            name: "mamori-collector",
            dependencies: [
                "MamoriCore",
                "MamoriCollector",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "mamorictl",
            dependencies: [
                "MamoriCore",
                "MamoriClient",
                "MamoriAgent",
                "CQRencode",
                .product(name: "Crypto", package: "swift-crypto"),
                // AES-CBC and PBKDF2 for password-protected PSKC files (RFC 6030 section 6.2).
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                // ~/.config/mamori/ctl.yaml (server, CA, token file).
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "mamori-fleet-seed",
            dependencies: [
                "MamoriCore",
                "MamoriClient",
                "MamoriCollector",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "mamori-agent",
            dependencies: [
                "MamoriCore",
                "MamoriAuthWire",
                "MamoriAgent",
                "MamoriClient",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // For benchmarks and tests, not packaged: enrols simulated terminals and streams real journals.
        .executableTarget(
            name: "mamori-loadgen",
            dependencies: [
                "MamoriCore",
                "MamoriClient",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "mamori-bench",
            dependencies: [
                "MamoriCore",
                "MamoriAgent",
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "MamoriCoreTests",
            dependencies: ["MamoriCore", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "MamoriAuthWireTests",
            dependencies: ["MamoriAuthWire"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "PamMamoriTests",
            dependencies: ["PamMamori", "MamoriAuthWire"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "MamoriAgentTests",
            dependencies: ["MamoriAgent", "MamoriCore", "MamoriAuthWire", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: swiftSettings
        ),
        // The collector's storage (on SQLite and on a real PostgreSQL server), ingest and HTTP API.
        .testTarget(
            name: "MamoriCollectorTests",
            dependencies: [
                "MamoriCore", "MamoriCollector", "MamoriClient",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // Runs the built executables as a user would (exit codes, stdout, stderr).
        .testTarget(
            name: "MamoriCLITests",
            dependencies: ["MamoriCore", "MamoriAgent", "MamoriAuthWire", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: swiftSettings
        ),
    ],
    swiftLanguageModes: [.v6]
)
