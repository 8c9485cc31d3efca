import Foundation
import MamoriAgent
import MamoriCore
import Testing

/// Anti-rollback once the installed profile has expired. Before the version floor an expired
/// profile left the verifier with no current version, so after v2 expired and the agent
/// restarted, a collector serving v1 (a restored backup) got v1 applied. Now the highest version
/// ever accepted is a durable floor of its own, and with the only profile expired the agent
/// enforces the built-in fail-closed defaults, never the older version.
@Suite("Profile anti-rollback after expiry", .serialized)
struct ProfileRollbackTests {
    static func profile(version: Int, expires: String) -> String {
        """
        name: rollback-test
        version: \(version)
        expires: \(expires)
        scope:
          organisation: mayor
          host_groups: [terminals]
        media:
          mode: audit

        """
    }

    static func isoTime(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: date)
    }

    /// Through a real collector: v1 applied; the collector's data backed up; v2 (expiring in a
    /// few seconds) applied; v2 expires; the collector is restored from the backup (serving v1)
    /// and the agent restarted. v1 is refused (version-not-newer against the floor 2) and the
    /// fail-closed defaults apply.
    @Test func anExpiredProfileStillBlocksARollbackFromARestoredCollector() throws {
        let collector = try FleetCollector()
        #expect(try collector.pushProfile(Self.profile(version: 1, expires: "2099-01-01")).status == 0)
        let agent = try FleetAgent(name: "rollback-01", collector: collector, org: "mayor", group: "terminals")
        try agent.start(services: ["profile"])
        #expect(FleetAgent.eventually(15) { (try? agent.journalText())?.contains("\"kind\":\"profile.applied\"") ?? false }, "\(agent.log)")

        // The backup a restore will bring back: the collector's data while v1 is current.
        collector.stop()
        let backup = collector.directory.path + "/backup"
        try FileManager.default.copyItem(atPath: collector.data, toPath: backup)
        try collector.start()

        let expiry = Date().addingTimeInterval(12)
        #expect(try collector.pushProfile(Self.profile(version: 2, expires: Self.isoTime(expiry))).status == 0)
        #expect(FleetAgent.eventually(15) { (try? agent.journalText())?.contains("\"version\":2") ?? false }, "\(agent.log)")
        let floorPath = agent.root.path + "/var/lib/mamori/profile/version-floor.json"
        #expect((try? String(contentsOfFile: floorPath, encoding: .utf8))?.contains("\"version\":2") == true)
        #expect(agent.stop() == 0)

        // v2 expires; the collector comes back from the backup, serving v1.
        while Date() < expiry.addingTimeInterval(1) { usleep(200_000) }
        collector.stop()
        try FileManager.default.removeItem(atPath: collector.data)
        try FileManager.default.moveItem(atPath: backup, toPath: collector.data)
        try collector.start()

        try agent.start(services: ["profile"])
        #expect(FleetAgent.eventually(15) { (try? agent.journalText())?.contains("\"code\":\"version-not-newer\"") ?? false },
                "v1 was not refused\n\(agent.log)")
        #expect(agent.stop() == 0)
        let journal = try agent.journalText()
        let applied = journal.split(separator: "\n").filter { $0.contains("\"kind\":\"profile.applied\"") }
        #expect(applied.count == 2, "\(applied)")
        #expect(!(applied.last?.contains("\"version\":1,") ?? true))
        let rejection = try #require(journal.split(separator: "\n").first { $0.contains("\"code\":\"version-not-newer\"") })
        #expect(rejection.contains("\"version_floor\":2"), "\(rejection)")
        // What the terminal enforces now: v2 expired and refused as current, so the defaults.
        let status = try CLI.run("mamori-agent", ["status", "--root", agent.root.path, "--format", "json"])
        #expect(status.stdout.contains("expired"), "\(status.stdout)")
        #expect(!status.stdout.contains("\"version\":1"), "\(status.stdout)")
    }

    /// The floor survives damage to its own file and the loss of the profile file, each alone.
    @Test(arguments: ["damaged floor", "profile file replaced", "floor removed"])
    func theFloorIsNeverLowered(damage: String) throws {
        let setup = try ProfileFetchTests.Setup()
        let installer = ProfileInstaller(layout: setup.layout, organisation: .mayorsDepartments, hostGroup: nil)
        let now = SystemClock.now()
        _ = try installer.consider(try setup.sign(version: 1), current: nil, now: now)
        _ = try installer.consider(try setup.sign(version: 5), current: nil, now: now)
        #expect(installer.versionFloor().version == 5)
        switch damage {
        case "damaged floor": try "{\"version\":".write(toFile: setup.layout.profileVersionFloorPath, atomically: true, encoding: .utf8)
        case "profile file replaced":
            try "name: x\nversion: 1\nexpires: 2099-01-01\nscope:\n  organisation: mayor\n"
                .write(toFile: setup.layout.profilePath, atomically: true, encoding: .utf8)
        default: try FileManager.default.removeItem(atPath: setup.layout.profileVersionFloorPath)
        }
        let fresh = ProfileInstaller(layout: setup.layout, organisation: .mayorsDepartments, hostGroup: nil)
        #expect(fresh.versionFloor().version == 5, "\(damage): \(fresh.versionFloor())")
        let (outcome, event) = try fresh.consider(try setup.sign(version: 4), current: nil, now: now)
        #expect(ProfileFetchTests.code(outcome) == "version-not-newer", "\(damage): \(outcome)")
        #expect(event?.payload["version_floor"] == .int(5))
        if damage == "damaged floor" { #expect(event?.payload["version_floor_problem"] != nil) }
        // Only a higher signed version moves it.
        let (higher, _) = try fresh.consider(try setup.sign(version: 6), current: nil, now: now)
        guard case .applied = higher else { Issue.record("v6 not applied: \(higher)"); return }
        #expect(fresh.versionFloor().version == 6)
    }
}
