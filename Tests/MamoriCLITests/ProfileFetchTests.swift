import Foundation
import MamoriAgent
import MamoriCore
import Testing

/// The profile fetcher's verification and installation (`ProfileInstaller`), fed envelopes signed
/// by the real `mamorictl`: a good profile is installed atomically; a forged, rolled-back, expired
/// or out-of-scope one is rejected with its reason, journalled once, and the previous profile
/// stays installed byte for byte.
@Suite struct ProfileFetchTests {
    final class Setup {
        let keys: TemporaryDirectory
        let root: TemporaryDirectory
        let layout: AgentLayout

        init() throws {
            keys = try TemporaryDirectory("mamori-fetch-keys")
            root = try TemporaryDirectory("mamori-fetch-root")
            // Certified from mid-2025 for three years, so a profile signed in 2025 can be made to expire.
            let initResult = try CLI.mamorictl("keys", "init", "--dir", keys.path, "--now", "2025-06-01", "--valid-days", "1095")
            #expect(initResult.status == 0, "\(initResult.stderr)")
            layout = AgentLayout(root: root.path)
            try FileManager.default.createDirectory(atPath: layout.keyDirectory, withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: keys.path + "/root.pub", toPath: layout.profileRootPath)
        }

        func sign(version: Int, organisation: String = "mayor", expires: String = "2099-01-01", now: String? = nil) throws -> [UInt8] {
            let source = root.file("p-\(UUID().uuidString).yaml")
            try """
                schema: 1
                name: fetch-test
                version: \(version)
                expires: \(expires)
                scope:
                  organisation: \(organisation)
                media:
                  mode: enforce

                """.write(toFile: source, atomically: true, encoding: .utf8)
            var arguments = ["profile", "sign", source, "--key", keys.path + "/signing.key", "--out", source + ".signed"]
            if let now { arguments += ["--now", now] }
            let result = try CLI.run("mamorictl", arguments)
            #expect(result.status == 0, "\(result.stderr)")
            return Array(try Data(contentsOf: URL(fileURLWithPath: source + ".signed")))
        }

        func installed() throws -> [UInt8] { Array(try Data(contentsOf: URL(fileURLWithPath: layout.profilePath))) }
    }

    static func code(_ outcome: ProfileInstaller.Outcome) -> String? {
        if case .rejected(let rejection) = outcome { return rejection.code }
        return nil
    }

    @Test func goodProfilesApplyAndEveryBadOneIsRejectedKeepingTheLastGood() throws {
        let setup = try Setup()
        let installer = ProfileInstaller(layout: setup.layout, organisation: .mayorsDepartments, hostGroup: nil)
        let now = SystemClock.now()
        let (first, firstEvent) = try installer.consider(try setup.sign(version: 1), current: nil, now: now)
        guard case .applied(let v1) = first else { Issue.record("v1 not applied: \(first)"); return }
        #expect(firstEvent?.kind == "profile.applied")
        let (second, _) = try installer.consider(try setup.sign(version: 2), current: v1, now: now)
        guard case .applied(let v2) = second else { Issue.record("v2 not applied: \(second)"); return }
        let good = try setup.installed()
        #expect(String(decoding: good, as: UTF8.self).contains("version: 2"))

        var forged = try setup.sign(version: 3)
        let text = String(decoding: forged, as: UTF8.self).replacingOccurrences(of: "mode: enforce", with: "mode: audit")
        forged = Array(text.utf8)
        let cases: [(String, [UInt8])] = [
            ("forged", forged),
            ("rolled back", try setup.sign(version: 1)),
            ("expired", try setup.sign(version: 4, expires: "2026-01-01", now: "2025-12-01")),
            ("out of scope", try setup.sign(version: 5, organisation: "education")),
            ("garbage", Array("not an envelope".utf8)),
        ]
        var codes: [String] = []
        for (name, envelope) in cases {
            let (outcome, event) = try installer.consider(envelope, current: v2, now: now)
            codes.append(Self.code(outcome) ?? "accepted")
            #expect(event?.kind == "profile.rejected", "\(name)")
            #expect(event?.payload["kept_version"] == JSONValue.int(2), "\(name)")
            #expect(try setup.installed() == good, "\(name) changed the installed profile")
            // The same envelope again is not journalled a second time.
            let (again, againEvent) = try installer.consider(envelope, current: v2, now: now)
            #expect(again == .unchanged, "\(name)")
            #expect(againEvent == nil, "\(name)")
        }
        #expect(codes[0] == "changed-after-signing" || codes[0] == "bad-signature" || codes[0] == "malformed", "\(codes)")
        #expect(Array(codes.dropFirst()) == ["version-not-newer", "profile-expired", "out-of-scope", "malformed"])
        // The installed envelope itself is unchanged, not re-applied.
        let (same, sameEvent) = try installer.consider(try Data(contentsOf: URL(fileURLWithPath: setup.layout.profileEnvelopePath)).map { $0 },
                                                       current: v2, now: now)
        #expect(same == .unchanged)
        #expect(sameEvent == nil)
    }

    @Test func aProfileIsNotAppliedWithoutAPinnedRoot() throws {
        let setup = try Setup()
        try FileManager.default.removeItem(atPath: setup.layout.profileRootPath)
        let installer = ProfileInstaller(layout: setup.layout, organisation: .mayorsDepartments, hostGroup: nil)
        #expect(throws: (any Error).self) { try installer.consider(try setup.sign(version: 1), current: nil, now: SystemClock.now()) }
        #expect(!FileManager.default.fileExists(atPath: setup.layout.profilePath))
    }

    @Test(arguments: [
        ("ship_interval: 5s\nspool_limit: 64M\nlog_level: debug\n", nil),
        ("# only comments\n", nil),
        ("ship_intervall: 5s\n", "ship_intervall"),
        ("spool_limit: 10\n", "spool_limit"),
        ("retry_initial: 60s\nretry_max: 10s\n", "retry_max"),
        ("collector_url: http://plain\n", "https://"),
        ("log_level: loud\n", "log_level"),
    ] as [(String, String?)])
    func agentConfigurationIsValidatedStrictly(source: String, problem: String?) {
        switch AgentConfiguration.parse(source) {
        case .success(let configuration):
            #expect(problem == nil, "accepted: \(source)")
            if source.contains("spool_limit: 64M") {
                #expect(configuration.spoolLimitBytes == 64 << 20)
                #expect(configuration.shipIntervalSeconds == 5)
                #expect(configuration.logLevel == .debug)
            }
        case .failure(let error):
            #expect(problem != nil, "refused: \(error)")
            if let problem { #expect(error.description.contains(problem), "\(error)") }
        }
    }

    @Test func backoffDoublesWithJitterUpToTheCap() {
        #expect(ShipperService.backoff(failures: 1, initial: 5, maximum: 600, unit: 1) == 5)
        #expect(ShipperService.backoff(failures: 4, initial: 5, maximum: 600, unit: 1) == 40)
        #expect(ShipperService.backoff(failures: 40, initial: 5, maximum: 600, unit: 1) == 600)
        #expect(ShipperService.backoff(failures: 4, initial: 5, maximum: 600, unit: 0.5) == 20)
    }
}
