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
        .executable(name: "mamori-agent", targets: ["mamori-agent"]),
        .library(name: "MamoriCore", targets: ["MamoriCore"]),
        // `make pam` links this with -static-stdlib and a version script into build/pam_mamori.so.
        .library(name: "pam_mamori", type: .dynamic, targets: ["PamMamori"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams.git", "5.0.1"..<"7.0.0"),
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
        // Floor 1: the agent's adapters (files, locks, fsync, udev, the second-factor service).
        .target(
            name: "MamoriAgent",
            dependencies: [
                "MamoriCore",
                "CUdev",
                "MamoriAuthWire",
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        // Floor 2: thin executables.
        .executableTarget(
            name: "mamorictl",
            dependencies: [
                "MamoriCore",
                "MamoriAgent",
                "CQRencode",
                .product(name: "Crypto", package: "swift-crypto"),
                // AES-CBC and PBKDF2 for password-protected PSKC files (RFC 6030 section 6.2).
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "mamori-agent",
            dependencies: [
                "MamoriCore",
                "MamoriAuthWire",
                "MamoriAgent",
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
        // Runs the built executables as a user would (exit codes, stdout, stderr).
        .testTarget(
            name: "MamoriCLITests",
            dependencies: ["MamoriCore", "MamoriAgent", "MamoriAuthWire", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: swiftSettings
        ),
    ],
    swiftLanguageModes: [.v6]
)
