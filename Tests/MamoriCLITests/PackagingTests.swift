import Foundation
import MamoriAgent
import MamoriCore
import Testing

/// What the Debian packages rely on, checked without building them (the packages themselves are
/// built by `make deb` and installed into a fresh Debian root by scripts/deb-install-test.sh):
/// the units' start conditions name the files the code writes, the agent's unit has no private
/// mount namespace, the collector reads its database URL from the environment file, every
/// executable's help exits 0 (the manual pages are made from it), and the versions agree.
@Suite struct PackagingTests {
    static let sourceRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    static func text(_ relative: String) throws -> String {
        try String(contentsOfFile: sourceRoot + "/" + relative, encoding: .utf8)
    }

    /// The directives of a unit file, in order, as (key, value); comments and section headers left out.
    static func directives(_ unit: String) -> [(key: String, value: String)] {
        unit.split(separator: "\n").compactMap { line in
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            guard !trimmed.isEmpty, !trimmed.hasPrefix("#"), !trimmed.hasPrefix("["), let equals = trimmed.firstIndex(of: "=") else { return nil }
            return (String(trimmed[..<equals]), String(trimmed[trimmed.index(after: equals)...]))
        }
    }

    static let helpCommands: [[String]] = [
        ["mamorictl", "--help"], ["mamorictl", "fleet", "hosts", "--help"], ["mamorictl", "keys", "init", "--help"],
        ["mamorictl", "help", "report"], ["mamori-agent", "--help"], ["mamori-agent", "enroll", "--help"],
        ["mamori-collector", "--help"], ["mamori-collector", "serve", "--help"],
    ]

    /// help2man builds the packages' manual pages from `--help`: it must print usage and exit 0.
    @Test(arguments: helpCommands) func helpPrintsUsageAndExitsZero(command: [String]) throws {
        let result = try CLI.run(command[0], Array(command.dropFirst()))
        #expect(result.status == 0, "\(command.joined(separator: " ")): \(result.stderr)")
        #expect(result.stdout.contains("USAGE:"))
        #expect(result.stderr.isEmpty, "\(result.stderr)")
    }

    @Test func agentUnitKeepsTheSystemMountTableAndStartsOnlyWhenEnrolled() throws {
        let unit = Self.directives(try Self.text("packaging/systemd/mamori-agent.service"))
        // Each of these gives the service its own mount namespace (or, for ProtectClock, denies
        // adjtimex): the media guard's remount of a racing writable mount would then happen in a
        // private copy of the mount table, and the clock check could not read the clock state.
        let forbidden: Set = ["ProtectSystem", "ProtectHome", "PrivateTmp", "PrivateDevices", "ProtectKernelTunables",
                              "ProtectKernelModules", "ProtectKernelLogs", "ProtectControlGroups", "ReadOnlyPaths",
                              "ReadWritePaths", "InaccessiblePaths", "TemporaryFileSystem", "BindPaths", "BindReadOnlyPaths",
                              "PrivateMounts", "MountFlags", "ProtectClock", "ProtectProc", "ProcSubset", "PrivateNetwork",
                              "RootDirectory", "RootImage", "PrivateUsers"]
        let offending = unit.filter { forbidden.contains($0.key) }.map(\.key)
        #expect(offending.isEmpty, "mount-namespace options in the agent's unit: \(offending)")
        #expect(unit.contains { $0 == ("ConditionPathExists", AgentLayout(root: "").enrolmentPath) })
        #expect(unit.contains { $0 == ("Type", "notify") })
        let families = unit.first { $0.key == "RestrictAddressFamilies" }?.value.split(separator: " ").map(String.init) ?? []
        #expect(Set(families) == ["AF_UNIX", "AF_NETLINK", "AF_INET", "AF_INET6"])
        let capabilities = Set(unit.first { $0.key == "CapabilityBoundingSet" }?.value.split(separator: " ").map(String.init) ?? [])
        #expect(capabilities.isSuperset(of: ["CAP_SYS_ADMIN", "CAP_NET_ADMIN", "CAP_DAC_OVERRIDE"]), "\(capabilities)")
        #expect(!capabilities.contains("CAP_SYS_TIME") && !capabilities.contains("CAP_SYS_MODULE"))
    }

    @Test func collectorUnitStartsAfterInitAsItsOwnUser() throws {
        let unit = Self.directives(try Self.text("packaging/systemd/mamori-collector.service"))
        // `mamori-collector init` writes the server certificate: the unit waits for it.
        #expect(unit.contains { $0 == ("ConditionPathExists", "/var/lib/mamori-collector/tls/server.pem") })
        #expect(unit.contains { $0 == ("User", "mamori-collector") })
        // Readiness is the listener bound (READY=1, CollectorCLITests), not the process started.
        #expect(unit.contains { $0 == ("Type", "notify") })
        #expect(unit.contains { $0 == ("NotifyAccess", "main") })
        #expect(unit.contains { $0 == ("CapabilityBoundingSet", "") })
        #expect(unit.contains { $0 == ("EnvironmentFile", "-/etc/default/mamori-collector") })
        let start = try #require(unit.first { $0.key == "ExecStart" }?.value)
        #expect(start.hasPrefix("/usr/sbin/mamori-collector serve --data /var/lib/mamori-collector"))
        #expect(!start.contains("--database"), "the database URL must come from the environment file, not the command line")
    }

    /// systemd's own assessment of both units (offline, from the files).
    @Test func systemdRatesTheUnits() throws {
        let limits = ["mamori-collector": 2.0, "mamori-agent": 6.5]
        for (name, limit) in limits {
            let result = try CLI.runExecutable("/usr/bin/systemd-analyze", ["security", "--offline=yes", "--no-pager",
                                                                           Self.sourceRoot + "/packaging/systemd/\(name).service"])
            let line = try #require(result.stdout.split(separator: "\n").first { $0.contains("Overall exposure level") },
                                    "\(name): \(result.stdout) \(result.stderr)")
            let score = try #require(line.split(separator: ":").last?.split(separator: " ").first.flatMap { Double($0) }, "\(line)")
            #expect(score <= limit, "\(name): exposure \(score) > \(limit)")
        }
    }

    @Test func packageVersionIsTheProgramsVersion() throws {
        let changelog = try Self.text("packaging/debian/changelog")
        let first = try #require(changelog.split(separator: "\n").first)
        #expect(first.hasPrefix("mamori (\(MamoriVersion.current)) "), "\(first)")
        for tool in ["mamori-agent", "mamori-collector", "mamorictl"] {
            let result = try CLI.run(tool, ["--version"])
            #expect(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == MamoriVersion.current)
        }
    }

    /// The pam-auth-update profile puts the module in the auth stack only, as required.
    @Test func pamProfileAddsTheModuleToAuthOnly() throws {
        let profile = try Self.text("packaging/pam-configs/mamori")
        #expect(profile.contains("Auth-Type: Additional"))
        let stackLines = profile.split(separator: "\n").filter { $0.hasPrefix("\t") || $0.hasPrefix(" ") }
        #expect(stackLines.map { $0.trimmingCharacters(in: .whitespaces) } == ["required\tpam_mamori.so"])
        for section in ["Account:", "Session:", "Password:"] { #expect(!profile.contains(section)) }
    }

    @Test(arguments: FleetCLITests.engines) func collectorTakesItsDatabaseFromTheEnvironment(engine: String) throws {
        let directory = try TemporaryDirectory("mamori-collector-env")
        let data = directory.file("data")
        let url = try FleetCLITests.freshDatabase(engine)
        let initResult = try CLI.run("mamori-collector", ["init", "--data", data, "--server-name", "collector.test"],
                                     environment: ["MAMORI_COLLECTOR_DATABASE": url ?? ""])
        #expect(initResult.status == 0, "\(initResult.stderr)")
        // Empty means SQLite in the data directory; a URL means no SQLite file at all.
        #expect(FileManager.default.fileExists(atPath: data + "/collector.sqlite3") == (url == nil))
        let token = try CLI.run("mamori-collector", ["admin-token", "--data", data, "--role", "admin", "--label", "env-test"],
                                environment: ["MAMORI_COLLECTOR_DATABASE": url ?? ""])
        #expect(token.status == 0, "\(token.stderr)")
        // A URL in the variable is used, not ignored: an unsupported scheme is refused.
        let refused = try CLI.run("mamori-collector", ["init", "--data", directory.file("other")],
                                  environment: ["MAMORI_COLLECTOR_DATABASE": "mysql://root@127.0.0.1/mamori"])
        #expect(refused.status != 0)
        #expect(!FileManager.default.fileExists(atPath: directory.file("other") + "/collector.sqlite3"))
    }
}
