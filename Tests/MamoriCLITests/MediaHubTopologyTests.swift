import Foundation
import Testing

/// Real USB topologies under umockdev: devices behind hubs, hub chains, a keyboard on the root
/// hub. A USB device is classified by its own interfaces only, so a hub (or the root hub) is
/// never classed by what is plugged into it and never deauthorised; only the offending device is.
/// Each fixture is run through the three paths that write `authorized`: `media scan` (what it
/// reports), `media-guard` on every USB device (the udev helper) and `media watch` (the agent's
/// reconcile at start). Before the fix the root hub of `hub-stick-keyboard` was classed
/// composite-hid-storage and deauthorised, and the inner hub of `hub-chain-phone` was classed
/// mtp-ptp.
@Suite("Media guard: USB topologies under umockdev", .serialized)
struct MediaHubTopologyTests {
    struct Topology: Sendable, CustomStringConvertible {
        var fixture: String
        /// The USB device paths (relative to the xHCI controller) that must end deauthorised.
        var blocked: Set<String>
        /// The hubs, which must be listed as not governed.
        var hubs: Set<String>
        /// Keyboards, which must be allowed.
        var keyboards: Set<String>
        /// Block nodes and the decision each must get.
        var storage: [String: String] = [:]
        var description: String { fixture }
    }

    static let controller = "/sys/devices/pci0000:00/0000:00:14.0/"

    static let topologies: [Topology] = [
        Topology(fixture: "hub-stick-keyboard", blocked: [], hubs: ["usb1", "usb1/1-1"], keyboards: ["usb1/1-1/1-1.3"],
                 storage: ["/dev/sdb": "read-only", "/dev/sdb1": "read-only"]),
        Topology(fixture: "hub-badusb-keyboard", blocked: ["usb1/1-1/1-1.1"], hubs: ["usb1", "usb1/1-1"], keyboards: ["usb1/1-1/1-1.4"],
                 storage: ["/dev/sdf": "block"]),
        Topology(fixture: "hub-chain-phone", blocked: ["usb1/1-1/1-1.1/1-1.1.2"], hubs: ["usb1", "usb1/1-1", "usb1/1-1/1-1.1"],
                 keyboards: ["usb1/1-1/1-1.3"]),
        Topology(fixture: "keyboard-root-hub", blocked: [], hubs: ["usb1"], keyboards: ["usb1/1-9"]),
    ]

    /// Every `usb_device` path in a fixture, relative to the controller.
    static func usbDevices(_ fixture: String) throws -> [String] {
        let text = try String(contentsOfFile: MediaUmockdevTests.fixtures + "/" + fixture + ".umockdev", encoding: .utf8)
        return text.components(separatedBy: "\n\n").compactMap { block -> String? in
            let lines = block.split(separator: "\n")
            guard lines.contains("E: DEVTYPE=usb_device"), let path = lines.first, path.hasPrefix("P: /devices/pci0000:00/0000:00:14.0/") else { return nil }
            return String(path.dropFirst("P: /devices/pci0000:00/0000:00:14.0/".count))
        }
    }

    /// Runs `command` (a shell snippet; "$0" is the agent, "$1" the profile) inside the fixture's
    /// testbed, then prints `authorized PATH=VALUE` for every USB device.
    static func runThenReadAuthorized(_ fixture: String, _ command: String) throws -> (CLIResult, [String: String]) {
        let directory = try TemporaryDirectory("mamori-umockdev")
        try MediaUmockdevTests.profile.write(toFile: directory.file("p.yaml"), atomically: true, encoding: .utf8)
        let devices = try usbDevices(fixture)
        #expect(!devices.isEmpty)
        let report = devices.map { "echo \"authorized \($0)=$(cat '\(controller)\($0)/authorized')\"" }.joined(separator: "; ")
        let script = "\(command); status=$?; \(report); exit $status"
        let result = try CLI.runExecutable(MediaUmockdevTests.umockdevRun, [
            "-d", MediaUmockdevTests.fixtures + "/" + fixture + ".umockdev", "--",
            "/bin/sh", "-c", script, CLI.binDirectory + "/mamori-agent", directory.file("p.yaml"),
        ])
        var authorized: [String: String] = [:]
        for line in result.stdout.split(separator: "\n") where line.hasPrefix("authorized ") {
            let pair = line.dropFirst("authorized ".count).split(separator: "=", maxSplits: 1)
            if pair.count == 2 { authorized[String(pair[0])] = String(pair[1]) }
        }
        #expect(Set(authorized.keys) == Set(devices), "\(result.stdout)\n\(result.stderr)")
        return (result, authorized)
    }

    static func expectOnlyOffendersDeauthorised(_ topology: Topology, _ authorized: [String: String], _ output: String) {
        for (device, value) in authorized {
            let expected = topology.blocked.contains(device) ? "0" : "1"
            #expect(value == expected, "\(topology.fixture): \(device) authorized=\(value), expected \(expected)\n\(output)")
        }
        for hub in topology.hubs { #expect(authorized[hub] == "1", "\(topology.fixture): hub \(hub) deauthorised") }
        for keyboard in topology.keyboards { #expect(authorized[keyboard] == "1", "\(topology.fixture): keyboard \(keyboard) deauthorised") }
    }

    @Test(arguments: topologies)
    func scanListsHubsAsNotGovernedAndDecidesEachDevice(topology: Topology) throws {
        let devices = try MediaUmockdevTests.scan(topology.fixture, profile: MediaUmockdevTests.profile)
        func entry(_ path: String) -> [String: Any]? { devices.first { $0["syspath"] as? String == Self.controller + path } }
        for hub in topology.hubs {
            let listed = entry(hub)
            #expect(listed?["rule"] as? String == "builtin:hub-never-governed", "\(hub): \(listed ?? [:])")
            #expect(listed?["not_governed"] as? String == "hub")
            #expect(listed?["governed"] as? Bool == false)
            #expect(listed?["decision"] as? String == "allow")
            #expect(listed?["class"] == nil)
        }
        for keyboard in topology.keyboards {
            #expect(entry(keyboard)?["class"] as? String == "hid")
            #expect(entry(keyboard)?["decision"] as? String == "allow")
        }
        for blocked in topology.blocked {
            #expect(entry(blocked)?["decision"] as? String == "block", "\(blocked): \(entry(blocked) ?? [:])")
        }
        for (node, decision) in topology.storage {
            let listed = devices.first { $0["device"] as? String == node }
            #expect(listed?["decision"] as? String == decision, "\(node): \(listed ?? [:])")
        }
        // Nothing but the offenders is blocked.
        let blockedPaths = Set(devices.filter { $0["decision"] as? String == "block" && $0["subsystem"] as? String == "usb" }
            .compactMap { ($0["syspath"] as? String).map { String($0.dropFirst(Self.controller.count)) } })
        #expect(blockedPaths == topology.blocked)
    }

    @Test func scanTableNamesHubsNotGoverned() throws {
        let directory = try TemporaryDirectory("mamori-umockdev")
        try MediaUmockdevTests.profile.write(toFile: directory.file("p.yaml"), atomically: true, encoding: .utf8)
        let result = try MediaUmockdevTests.underUmockdev("hub-stick-keyboard", ["media", "scan", "--profile", directory.file("p.yaml")])
        #expect(result.status == 0, "\(result.stderr)")
        let hubLines = result.stdout.split(separator: "\n").filter { $0.contains("not governed: hub") }
        #expect(hubLines.count == 2, "\(result.stdout)")
        #expect(hubLines.contains { $0.contains("1d6b:0002") })
        #expect(hubLines.contains { $0.contains("05e3:0608") })
    }

    /// The udev helper on every USB device of the tree, hubs included, in sysfs order.
    @Test(arguments: topologies)
    func mediaGuardOnEveryDeviceDeauthorisesOnlyTheOffender(topology: Topology) throws {
        let devices = try Self.usbDevices(topology.fixture)
        let guardEach = devices.map { "\"$0\" media-guard --profile \"$1\" '\(Self.controller)\($0)' || failed=1" }.joined(separator: "; ")
        let (result, authorized) = try Self.runThenReadAuthorized(topology.fixture, "failed=0; \(guardEach); test $failed = 0")
        #expect(result.status == 0, "\(result.stderr)")
        Self.expectOnlyOffendersDeauthorised(topology, authorized, result.stdout)
        for hub in topology.hubs {
            #expect(!result.stdout.contains("authorized=0 \(Self.controller)\(hub)\""), "\(hub) was deauthorised")
        }
    }

    /// The agent's layer 2: `media watch` reconciles every device present at start.
    @Test(arguments: topologies)
    func mediaWatchReconcileDeauthorisesOnlyTheOffender(topology: Topology) throws {
        let (result, authorized) = try Self.runThenReadAuthorized(topology.fixture, "\"$0\" media watch --format json --profile \"$1\" --duration 1")
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("ready"))
        Self.expectOnlyOffendersDeauthorised(topology, authorized, result.stdout)
        let decisions = result.stdout.split(separator: "\n").filter { $0.contains("\"kind\":\"media.decision\"") }
        #expect(decisions.allSatisfy { !$0.contains("hub-never-governed") || !$0.contains("authorized=0") })
        for blocked in topology.blocked {
            #expect(result.stdout.contains("authorized=0 \(Self.controller)\(blocked)\""), "\(blocked) not deauthorised: \(result.stdout)")
        }
    }
}
