import Foundation
import MamoriCore
import Testing

/// One-off grants (持ち出し申請) end to end: `mamorictl profile grant-device` signs and pushes,
/// the collector serves, an enrolled agent under umockdev (a real libudev over a fake stick)
/// verifies and applies it, decides the stick read-write because of it, ships the records, and
/// `mamorictl fleet grants`, `fleet host`, `report` and `profile allow-device` show it. A revoked
/// grant ends at the next poll; a grant ends at its expiry with the collector down.
@Suite("Device grants end to end", .serialized)
struct DeviceGrantFleetTests {
    static func ctl(_ collector: FleetCollector, _ arguments: [String]) throws -> CLIResult {
        try CLI.run("mamorictl", arguments + ["--token-file", collector.tokenFile], environment: collector.environment)
    }

    static func grantDevice(_ collector: FleetCollector, host: String, duration: String = "1h", extra: [String] = []) throws -> CLIResult {
        try ctl(collector, ["profile", "grant-device", "--host", host, "--serial", "4C530001", "--vendor", "0781", "--product", "5583",
                            "--for", duration, "--reason", "議会資料の持ち出し", "--ref", "R8-情シ-0142",
                            "--key", collector.keys.path + "/signing.key"] + extra)
    }

    /// The stick's latest media.decision in the agent's journal: decision and rule.
    static func stickDecision(_ agent: FleetAgent) -> (decision: String, rule: String)? {
        guard let text = try? agent.journalText() else { return nil }
        let line = text.split(separator: "\n").last { $0.contains("\"kind\":\"media.decision\"") && $0.contains("\"devtype\":\"disk\"") }
        guard let line, let record = try? JSONValue.parse(Array(line.utf8)), let payload = record["payload"] else { return nil }
        return (payload["decision"]?.stringValue ?? "", payload["rule"]?.stringValue ?? "")
    }

    @Test func aGrantIsAppliedUsedRevokedAndReportedThroughTheFleet() throws {
        let collector = try FleetCollector()
        #expect(try collector.pushProfile(AgentFleetTests.profile(version: 1)).status == 0)
        let clerk = try FleetAgent(name: "clerk-grant", collector: collector, org: "mayor", group: "terminals")
        let other = try FleetAgent(name: "clerk-other", collector: collector, org: "mayor", group: "terminals")
        try clerk.start(services: ["media", "shipper", "profile"],
                        launcher: [MediaUmockdevTests.umockdevRun, "-d", MediaUmockdevTests.fixtures + "/usb-stick.umockdev", "--"],
                        enforceMediaOnHost: true)
        #expect(FleetAgent.eventually(20) { Self.stickDecision(clerk)?.rule == "default:usb-storage" }, "\(clerk.log)")

        // A grant for the other terminal changes nothing here.
        #expect(try Self.grantDevice(collector, host: "clerk-other").status == 0)
        let granted = try Self.grantDevice(collector, host: "clerk-grant")
        #expect(granted.status == 0, "\(granted.stderr)")
        let id = try #require(granted.stdout.split(separator: " ").dropFirst().first.map { String($0.dropLast()) })
        #expect(id.hasPrefix("grt-"), "\(granted.stdout)")
        #expect(granted.stdout.contains("on clerk-grant (\(clerk.hostId))"))
        #expect(FleetAgent.eventually(20) { Self.stickDecision(clerk).map { $0 == ("read-write", "grant:\(id)") } ?? false },
                "the stick was never decided read-write because of the grant\n\(clerk.log)")
        let journal = try clerk.journalText()
        #expect(journal.contains("\"kind\":\"media.grant-applied\""))
        #expect(journal.components(separatedBy: "\"kind\":\"media.grant-applied\"").count - 1 == 1, "applied more than once")
        #expect(!journal.contains(other.hostId), "the other terminal's grant reached this one")

        // The terminal's own status lists it.
        let status = try CLI.run("mamori-agent", ["status", "--root", clerk.root.path, "--format", "json"])
        #expect(status.stdout.contains("\"grants\":[{\"device\":\"0781:5583:4C530001\",\"expires\""), "\(status.stdout)")
        let statusTable = try CLI.run("mamori-agent", ["status", "--root", clerk.root.path])
        #expect(statusTable.stdout.contains("grant:         \(id) 0781:5583:4C530001 read-write until"), "\(statusTable.stdout)")

        // The fleet sees it in force, with its reference.
        #expect(FleetAgent.eventually(20) {
            let listed = try? Self.ctl(collector, ["fleet", "grants", "--host", "clerk-grant", "--format", "json"])
            let grant = (try? JSONValue.parse(Array((listed?.stdout ?? "").utf8)))?["grants"]?.arrayValue?.first
            return grant?["state"] == .string("active") && grant?["ref"] == .string("R8-情シ-0142")
        }, "fleet grants never showed the grant active")
        let table = try Self.ctl(collector, ["fleet", "grants"])
        #expect(table.status == 0)
        #expect(table.stdout.contains(id) && table.stdout.contains("0781:5583:4C530001") && table.stdout.contains("active"), "\(table.stdout)")
        let host = try Self.ctl(collector, ["fleet", "host", "clerk-grant"])
        #expect(host.stdout.contains("Device grants") && host.stdout.contains(id), "\(host.stdout)")
        #expect(host.stdout.contains("media.grant-applied"), "\(host.stdout)")

        // The admin-side generate-policy: the stick the terminal reported, ready to paste.
        let allow = try Self.ctl(collector, ["profile", "allow-device", "--host", "clerk-grant"])
        #expect(allow.status == 0, "\(allow.stderr)")
        #expect(allow.stdout.contains("- vendor: \"0781\"\n  product: \"5583\"\n  serial: \"4C530001\"\n  mode: read-write"), "\(allow.stdout)")
        #expect(try Self.ctl(collector, ["profile", "allow-device", "--host", "clerk-grant", "--serial", "NOSUCH"]).status == 1)

        // Revoked: the collector stops serving it, the agent ends it and decides the stick again.
        let revoke = try Self.ctl(collector, ["profile", "revoke-grant", id, "--reason", "申請取下げ"])
        #expect(revoke.status == 0, "\(revoke.stderr)")
        #expect(FleetAgent.eventually(20) { Self.stickDecision(clerk)?.rule == "default:usb-storage" && (try? clerk.journalText())?.contains("\"kind\":\"media.grant-revoked\"") == true },
                "the revoked grant stayed in force\n\(clerk.log)")
        #expect(try Self.ctl(collector, ["profile", "revoke-grant", id, "--reason", "again"]).status == 1)

        let reportDirectory = try TemporaryDirectory("mamori-grant-report")
        #expect(FleetAgent.eventually(20) {
            let listed = try? Self.ctl(collector, ["fleet", "grants", "--all", "--host", "clerk-grant", "--format", "json"])
            return listed?.stdout.contains("\"state\":\"revoked\"") ?? false
        })
        let report = try Self.ctl(collector, ["report", "--org", "mayor", "--out", reportDirectory.path])
        #expect(report.status == 0, "\(report.stderr)")
        let markdown = try String(contentsOfFile: reportDirectory.path + "/self-inspection-mayor.md", encoding: .utf8)
        #expect(markdown.contains("持ち出し申請") && markdown.contains("R8-情シ-0142") && markdown.contains("申請取下げ"), "\(markdown)")
        #expect(clerk.stop() == 0, "\(clerk.log)")
    }

    /// A grant ends at its expiry on the terminal itself, with the collector unreachable.
    @Test func aGrantExpiresOnTheTerminalWithTheCollectorDown() throws {
        let collector = try FleetCollector()
        #expect(try collector.pushProfile(AgentFleetTests.profile(version: 1)).status == 0)
        let clerk = try FleetAgent(name: "clerk-expiry", collector: collector, org: "mayor", group: "terminals")
        try clerk.start(services: ["media", "profile"],
                        launcher: [MediaUmockdevTests.umockdevRun, "-d", MediaUmockdevTests.fixtures + "/usb-stick.umockdev", "--"],
                        enforceMediaOnHost: true)
        #expect(FleetAgent.eventually(20) { Self.stickDecision(clerk)?.rule == "default:usb-storage" }, "\(clerk.log)")
        // Issued 50 s ago for the shortest grant there is: it ends about 10 s from now.
        let issued = Timestamp(secondsSinceEpoch: Int64(Date().timeIntervalSince1970) - 50)
        let granted = try Self.grantDevice(collector, host: clerk.hostId, duration: "1m", extra: ["--now", issued.description])
        #expect(granted.status == 0, "\(granted.stderr)")
        #expect(FleetAgent.eventually(15) { Self.stickDecision(clerk)?.decision == "read-write" }, "\(clerk.log)")
        collector.stop()
        #expect(FleetAgent.eventually(30) { (try? clerk.journalText())?.contains("\"kind\":\"media.grant-expired\"") == true },
                "the grant did not end with the collector down\n\(clerk.log)")
        #expect(FleetAgent.eventually(5) { Self.stickDecision(clerk)?.rule == "default:usb-storage" }, "the stick stayed writable\n\(clerk.log)")
        #expect(clerk.stop() == 0, "\(clerk.log)")
        let ledger = try String(contentsOfFile: clerk.root.path + "/var/lib/mamori/profile/grant-ledger.json", encoding: .utf8)
        #expect(ledger.contains("\"state\":\"expired\""), "\(ledger)")
    }
}
