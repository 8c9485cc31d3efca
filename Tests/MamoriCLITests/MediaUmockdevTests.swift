import Foundation
import Testing

/// The umockdev stage: checked-in fake devices (Tests/Fixtures/umockdev) seen through the real
/// libudev by the real `mamori-agent`, run under `umockdev-run`, or under
/// scripts/umockdev_blkroset.py, which emulates BLKROSET with umockdev's ioctl handler. A missing
/// umockdev, python3-gi or typelib is a failure, never a skip. The kernel stage proves BLKROSET on
/// real loop devices.
@Suite("Media guard under umockdev", .serialized)
struct MediaUmockdevTests {
    static let umockdevRun = "/usr/bin/umockdev-run"
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/umockdev").path

    static let profile = """
        name: media-fixture
        version: 1
        expires: 2099-01-01
        scope:
          organisation: mayor
        media:
          mode: enforce
          allow:
            - vendor: "0781"
              product: "5583"
              serial: "4C530001"
              mode: read-write
              reason: registered transfer stick
            - vendor: "1058"
              product: "25a2"
              serial: "SOMEONE-ELSE"
              reason: another disk of the same model

        """

    struct Row: Sendable, CustomStringConvertible {
        var fixture: String
        var device: String
        var deviceClass: String
        var decision: String
        var rule: String
        var description: String { "\(fixture): \(device)" }
    }

    static let matrix: [Row] = [
        Row(fixture: "usb-stick", device: "/dev/sdb", deviceClass: "usb-storage", decision: "read-write", rule: "media.allow[0]"),
        Row(fixture: "usb-stick", device: "/dev/sdb1", deviceClass: "usb-storage", decision: "read-write", rule: "media.allow[0]"),
        Row(fixture: "usb-disk-fixed", device: "/dev/sdc", deviceClass: "usb-storage", decision: "read-only", rule: "default:usb-storage"),
        Row(fixture: "uas-disk", device: "/dev/sdd", deviceClass: "usb-storage", decision: "read-only", rule: "default:usb-storage"),
        Row(fixture: "usb-sd-reader", device: "/dev/sde", deviceClass: "sd-card", decision: "read-only", rule: "default:sd-card"),
        Row(fixture: "pci-sd-card", device: "/dev/mmcblk0", deviceClass: "sd-card", decision: "read-only", rule: "default:sd-card"),
        Row(fixture: "pci-sd-card", device: "/dev/mmcblk0p1", deviceClass: "sd-card", decision: "read-only", rule: "default:sd-card"),
        Row(fixture: "optical-burner", device: "/dev/sr0", deviceClass: "optical", decision: "read-only", rule: "default:optical"),
        Row(fixture: "optical-burner", device: "/dev/sg1", deviceClass: "optical", decision: "read-only", rule: "default:optical"),
        Row(fixture: "mtp-phone", device: "/dev/bus/usb/001/008", deviceClass: "mtp-ptp", decision: "block", rule: "default:mtp-ptp"),
        Row(fixture: "mtp-phone-no-rules", device: "/dev/bus/usb/001/011", deviceClass: "mtp-ptp", decision: "block", rule: "default:mtp-ptp"),
        Row(fixture: "ptp-camera", device: "/dev/bus/usb/001/009", deviceClass: "mtp-ptp", decision: "block", rule: "default:mtp-ptp"),
        Row(fixture: "badusb", device: "/dev/sdf", deviceClass: "composite-hid-storage", decision: "block", rule: "default:composite-hid-storage"),
        Row(fixture: "hid-keyboard", device: "/dev/bus/usb/001/010", deviceClass: "hid", decision: "allow", rule: "builtin:hid-always-allowed"),
        Row(fixture: "nvme-system", device: "/dev/nvme0n1", deviceClass: "not-removable", decision: "allow", rule: "builtin:not-removable"),
        Row(fixture: "emmc-system", device: "/dev/mmcblk1", deviceClass: "not-removable", decision: "allow", rule: "builtin:not-removable"),
    ]

    /// Runs `mamori-agent ARGS` inside a testbed holding `fixture`.
    static func underUmockdev(_ fixture: String, _ arguments: [String]) throws -> CLIResult {
        #expect(FileManager.default.isExecutableFile(atPath: umockdevRun), "umockdev-run missing: run scripts/install-deps.sh")
        let agent = CLI.binDirectory + "/mamori-agent"
        #expect(FileManager.default.isExecutableFile(atPath: agent), "\(agent) missing: build first")
        return try CLI.runExecutable(umockdevRun, ["-d", fixtures + "/" + fixture + ".umockdev", "--", agent] + arguments)
    }

    static func scan(_ fixture: String, profile: String?) throws -> [[String: Any]] {
        let directory = try TemporaryDirectory("mamori-umockdev")
        let path = directory.file("profile.yaml")
        if let profile { try profile.write(toFile: path, atomically: true, encoding: .utf8) }
        let result = try underUmockdev(fixture, ["media", "scan", "--all", "--format", "json", "--profile", path])
        #expect(result.status == (profile == nil ? 1 : 0), "\(result.stderr)")
        let json = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        return json?["devices"] as? [[String: Any]] ?? []
    }

    @Test(arguments: matrix)
    func scanDecidesEachFixture(row: Row) throws {
        let devices = try Self.scan(row.fixture, profile: Self.profile)
        let device = devices.first { $0["device"] as? String == row.device }
        #expect(device != nil, "\(row.device) not listed; saw \(devices.map { $0["device"] ?? "?" })")
        #expect(device?["class"] as? String ?? "not-removable" == row.deviceClass)
        #expect(device?["decision"] as? String == row.decision)
        #expect(device?["rule"] as? String == row.rule)
    }

    @Test func serialMismatchIsReported() throws {
        let devices = try Self.scan("usb-disk-fixed", profile: Self.profile)
        let disk = devices.first { $0["device"] as? String == "/dev/sdc" }
        #expect((disk?["reason"] as? String)?.contains("names serial SOMEONE-ELSE") == true)
        #expect(disk?["default_applied"] as? Bool == true)
        #expect(disk?["usb_driver"] as? String == "usb-storage")
        #expect(disk?["removable"] as? Bool == false)
    }

    @Test func withoutAProfileTheScanShowsTheFailClosedDefaults() throws {
        let devices = try Self.scan("usb-stick", profile: nil)
        let stick = devices.first { $0["device"] as? String == "/dev/sdb" }
        #expect(stick?["decision"] as? String == "read-only")
        #expect(stick?["rule"] as? String == "fail-closed:usb-storage")
    }

    @Test func tableFormatListsTheDevice() throws {
        let directory = try TemporaryDirectory("mamori-umockdev")
        try Self.profile.write(toFile: directory.file("p.yaml"), atomically: true, encoding: .utf8)
        let result = try Self.underUmockdev("uas-disk", ["media", "scan", "--profile", directory.file("p.yaml")])
        #expect(result.status == 0)
        let lines = result.stdout.split(separator: "\n")
        #expect(lines.first?.hasPrefix("DEVICE") == true)
        #expect(lines.contains { $0.hasPrefix("/dev/sdd") && $0.contains("read-only") && $0.contains("174c:55aa") })
    }

    /// media-guard on a USB device, then prints its `authorized` attribute from inside the testbed.
    static func guardUSBDevice(_ fixture: String, sysPath: String, profile: String?) throws -> (CLIResult, String) {
        let directory = try TemporaryDirectory("mamori-umockdev")
        let path = directory.file("profile.yaml")
        if let profile { try profile.write(toFile: path, atomically: true, encoding: .utf8) }
        let agent = CLI.binDirectory + "/mamori-agent"
        let script = "\"$0\" media-guard --profile \"$1\" \"$2\"; status=$?; echo \"authorized=$(cat \"$2/authorized\")\"; exit $status"
        let result = try CLI.runExecutable(umockdevRun, ["-d", fixtures + "/" + fixture + ".umockdev", "--",
                                                         "/bin/sh", "-c", script, agent, path, sysPath])
        let authorized = result.stdout.split(separator: "\n").last { $0.hasPrefix("authorized=") }.map(String.init) ?? ""
        return (result, authorized)
    }

    @Test func phoneIsDeauthorised() throws {
        let (result, authorized) = try Self.guardUSBDevice("mtp-phone", sysPath: "/sys/devices/pci0000:00/0000:00:14.0/usb1/1-7", profile: Self.profile)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(authorized == "authorized=0")
        #expect(result.stdout.contains("\"decision\":\"block\""))
        #expect(result.stdout.contains("\"kind\":\"media.decision\""))
        #expect(result.stdout.contains("authorized=0 /sys/devices/pci0000:00/0000:00:14.0/usb1/1-7"))
    }

    @Test func keyboardStaysAuthorisedEvenWithoutAProfile() throws {
        let (result, authorized) = try Self.guardUSBDevice("hid-keyboard", sysPath: "/sys/devices/pci0000:00/0000:00:14.0/usb1/1-9", profile: nil)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(authorized == "authorized=1")
        #expect(result.stdout.contains("\"rule\":\"builtin:hid-always-allowed\""))
        #expect(result.stderr.contains("fail closed"))
    }

    @Test func badUSBCompositeIsDeauthorised() throws {
        let (result, authorized) = try Self.guardUSBDevice("badusb", sysPath: "/sys/devices/pci0000:00/0000:00:14.0/usb1/1-6", profile: Self.profile)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(authorized == "authorized=0")
        #expect(result.stdout.contains("\"class\":\"composite-hid-storage\""))
    }

    @Test func auditModeChangesNothing() throws {
        let audit = Self.profile.replacingOccurrences(of: "mode: enforce", with: "mode: audit")
        let (result, authorized) = try Self.guardUSBDevice("mtp-phone", sysPath: "/sys/devices/pci0000:00/0000:00:14.0/usb1/1-7", profile: audit)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(authorized == "authorized=1")
        #expect(result.stdout.contains("would authorized=0"))
        #expect(result.stdout.contains("\"mode\":\"audit\""))
    }

    static func guardBlockDevice(_ fixture: String, _ node: String, event: String, profile: String) throws -> CLIResult {
        let directory = try TemporaryDirectory("mamori-umockdev")
        try profile.write(toFile: directory.file("p.yaml"), atomically: true, encoding: .utf8)
        return try underUmockdev(fixture, ["media-guard", "--event", event, "--profile", directory.file("p.yaml"), node])
    }

    @Test func cardInsertedInAUSBReaderIsHandledOnChange() throws {
        let audit = Self.profile.replacingOccurrences(of: "mode: enforce", with: "mode: audit")
        let result = try Self.guardBlockDevice("usb-sd-reader", "/dev/sde", event: "change", profile: audit)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("\"event\":\"change\""))
        #expect(result.stdout.contains("\"class\":\"sd-card\""))
        #expect(result.stdout.contains("would BLKROSET /dev/sde\""))
        #expect(result.stdout.contains("would BLKROSET /dev/sde1\""))
    }

    @Test func partitionEventCoversTheWholeDisk() throws {
        let audit = Self.profile.replacingOccurrences(of: "mode: enforce", with: "mode: audit")
        let result = try Self.guardBlockDevice("uas-disk", "/dev/sdd1", event: "add", profile: audit)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("would BLKROSET /dev/sdd\""))
        #expect(result.stdout.contains("would BLKROSET /dev/sdd1\""))
    }

    /// A fake node takes no BLKROSET: the helper must say so loudly (exit 1, a failure record),
    /// never report the device as protected.
    @Test func failedEnforcementIsReportedNotHidden() throws {
        let result = try Self.guardBlockDevice("uas-disk", "/dev/sdd", event: "add", profile: Self.profile)
        #expect(result.status == 1)
        #expect(result.stdout.contains("\"kind\":\"media.enforcement-failed\""))
        #expect(result.stderr.contains("BLKROSET /dev/sdd"))
    }

    /// media-guard on a burner's node, then prints the node's mode from inside the testbed.
    static func guardOpticalNode(_ node: String, profile: String) throws -> (CLIResult, String) {
        let directory = try TemporaryDirectory("mamori-umockdev")
        try profile.write(toFile: directory.file("p.yaml"), atomically: true, encoding: .utf8)
        let agent = CLI.binDirectory + "/mamori-agent"
        let script = "\"$0\" media-guard --profile \"$1\" \"$2\"; status=$?; echo \"mode=$(stat -c %a \"$2\")\"; exit $status"
        let result = try CLI.runExecutable(umockdevRun, ["-d", fixtures + "/optical-burner.umockdev", "--",
                                                         "/bin/sh", "-c", script, agent, directory.file("p.yaml"), node])
        let mode = result.stdout.split(separator: "\n").last { $0.hasPrefix("mode=") }.map(String.init) ?? ""
        return (result, mode)
    }

    @Test func burnerNodesLoseWritePermission() throws {
        let (block, blockMode) = try Self.guardOpticalNode("/dev/sr0", profile: Self.profile)
        #expect(blockMode == "mode=640")
        #expect(block.stdout.contains("chmod 640 /dev/sr0"))
        // umockdev's fake sr0 takes no BLKROSET (reported, exit 1); the node mode is what stops SG_IO writes.
        #expect(block.status == 1)
        // umockdev emulates sg1 as a pty whose mode does not change, so only the step is checked here.
        let (generic, _) = try Self.guardOpticalNode("/dev/sg1", profile: Self.profile)
        #expect(generic.status == 0, "\(generic.stderr)")
        #expect(generic.stdout.contains("\"applied\":[\"chmod 640 /dev/sg1\"]"))
    }

    /// SG_IO through a stick's sg node would bypass BLKROSET: the node loses group write too.
    @Test func sticksGenericNodeLosesWritePermission() throws {
        let directory = try TemporaryDirectory("mamori-umockdev")
        let result = try Self.underUmockdev("usb-stick-sg", ["media-guard", "--profile", directory.file("absent.yaml"), "/dev/sg2"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("\"class\":\"usb-storage\""))
        #expect(result.stdout.contains("\"applied\":[\"chmod 640 /dev/sg2\"]"))
    }

    @Test func blockedBurnerNodeIsRootOnly() throws {
        let blocking = Self.profile.replacingOccurrences(of: "  mode: enforce\n", with: "  mode: enforce\n  defaults:\n    optical: block\n")
        let (result, mode) = try Self.guardOpticalNode("/dev/sr0", profile: blocking)
        #expect(mode == "mode=600")
        #expect(result.stdout.contains("\"decision\":\"block\""))
        #expect(result.stdout.contains("\"rule\":\"default:optical\""))
    }

    // MARK: BLKROSET through umockdev's ioctl handler (scripts/umockdev_blkroset.py)

    static let python = "/usr/bin/python3"
    static let blkrosetHarness = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("scripts/umockdev_blkroset.py").path

    struct BlockRow: Sendable, CustomStringConvertible {
        var fixture: String
        var node: String
        var event = "add"
        var profile: String? = MediaUmockdevTests.profile
        /// Every block node of the fixture and whether it must end read-only.
        var expected: [String: Int]
        var description: String { "\(fixture): \(node) (\(event))" }
    }

    static let blockMatrix: [BlockRow] = [
        BlockRow(fixture: "usb-stick", node: "/dev/sdb", expected: ["/dev/sdb": 0, "/dev/sdb1": 0]),
        BlockRow(fixture: "usb-stick", node: "/dev/sdb", profile: nil, expected: ["/dev/sdb": 1, "/dev/sdb1": 1]),
        BlockRow(fixture: "usb-disk-fixed", node: "/dev/sdc", expected: ["/dev/sdc": 1, "/dev/sdc1": 1]),
        BlockRow(fixture: "uas-disk", node: "/dev/sdd1", expected: ["/dev/sdd": 1, "/dev/sdd1": 1]),
        BlockRow(fixture: "usb-sd-reader", node: "/dev/sde", event: "change", expected: ["/dev/sde": 1, "/dev/sde1": 1]),
        BlockRow(fixture: "pci-sd-card", node: "/dev/mmcblk0", expected: ["/dev/mmcblk0": 1, "/dev/mmcblk0p1": 1]),
        BlockRow(fixture: "badusb", node: "/dev/sdf", expected: ["/dev/sdf": 1, "/dev/sdf1": 1]),
        BlockRow(fixture: "emmc-system", node: "/dev/mmcblk1", expected: ["/dev/mmcblk1": 0]),
        BlockRow(fixture: "nvme-system", node: "/dev/nvme0n1", expected: ["/dev/nvme0n1": 0]),
        BlockRow(fixture: "usb-disk-fixed", node: "/dev/sdc",
                 profile: MediaUmockdevTests.profile.replacingOccurrences(of: "mode: enforce", with: "mode: audit"),
                 expected: ["/dev/sdc": 0, "/dev/sdc1": 0]),
    ]

    @Test(arguments: blockMatrix)
    func blkrosetReachesDiskAndEveryPartition(row: BlockRow) throws {
        #expect(FileManager.default.isExecutableFile(atPath: Self.python), "\(Self.python) missing")
        let directory = try TemporaryDirectory("mamori-umockdev")
        let path = directory.file("profile.yaml")
        if let profile = row.profile { try profile.write(toFile: path, atomically: true, encoding: .utf8) }
        let result = try CLI.runExecutable(Self.python, [
            Self.blkrosetHarness, Self.fixtures + "/" + row.fixture + ".umockdev", "--",
            CLI.binDirectory + "/mamori-agent", "media-guard", "--event", row.event, "--profile", path, row.node,
        ])
        #expect(result.status == 0, "\(result.stderr)")
        var seen: [String: Int] = [:]
        for line in result.stdout.split(separator: "\n") where line.hasPrefix("blkro ") {
            let pair = line.dropFirst("blkro ".count).split(separator: "=")
            if pair.count == 2, let value = Int(pair[1]) { seen[String(pair[0])] = value }
        }
        #expect(seen == row.expected, "\(result.stdout)")
        #expect(result.stdout.contains("\"event\":\"\(row.event)\""))
    }
}
