import Crypto
import Foundation
import MamoriAgent
import MamoriCore
import Testing

/// Each built-in check against a temporary system tree, passing and failing.
@Suite struct PostureChecksTests {
    let root: PostureTestRoot
    let runner = PostureRunner()

    init() throws { root = try PostureTestRoot() }

    func check(_ id: String, _ context: PostureContext? = nil) -> PostureOutcome {
        runner.runBuiltin(id, context ?? root.context(profile: PostureTestRoot.profile()))
    }

    // MARK: media

    @Test func mediaRulesInstalledEnforcingAndRunningPass() throws {
        try root.write("/usr/lib/udev/rules.d/72-mamori-media.rules", "# rule\n")
        #expect(check("media.rules-enforcing") == .meetsPolicy(evidence: "/usr/lib/udev/rules.d/72-mamori-media.rules installed, mode enforce, media guard running"))
    }

    @Test func mediaRulesFailInAuditMaskedOrStopped() throws {
        #expect(check("media.rules-enforcing").evidence.contains("is not installed"))
        try root.write("/usr/lib/udev/rules.d/72-mamori-media.rules", "# rule\n")
        try root.link("/etc/udev/rules.d/72-mamori-media.rules", to: "/dev/null")
        let audit = root.context(profile: PostureTestRoot.profile(media: "audit"), guardRunning: false)
        let outcome = check("media.rules-enforcing", audit)
        #expect(outcome == .failsToMeetPolicy(reason: "/etc/udev/rules.d/72-mamori-media.rules overrides the packaged rule; the profile's media rules are in audit mode (decisions logged, not enforced); the media guard service is not running"))
    }

    static let usbPartition = "/sys/devices/pci0000:00/0000:00:14.0/usb2/2-1/2-1:1.0/host6/target6:0:0/6:0:0:0/block/sdb/sdb1"
    static let nvmePartition = "/sys/devices/pci0000:00/0000:00:1d.0/0000:3d:00.0/nvme/nvme0/nvme0n1/nvme0n1p2"

    func makeBlockDevices() throws {
        try root.write(Self.usbPartition + "/partition", "1\n")
        try root.write((Self.usbPartition as NSString).deletingLastPathComponent + "/removable", "1\n")
        try root.write(Self.nvmePartition + "/partition", "2\n")
        try root.write((Self.nvmePartition as NSString).deletingLastPathComponent + "/removable", "0\n")
        try root.link("/sys/dev/block/8:17", to: "../../devices/pci0000:00/0000:00:14.0/usb2/2-1/2-1:1.0/host6/target6:0:0/6:0:0:0/block/sdb/sdb1")
        try root.link("/sys/dev/block/259:2", to: "../../devices/pci0000:00/0000:00:1d.0/0000:3d:00.0/nvme/nvme0/nvme0n1/nvme0n1p2")
    }

    static let systemMounts = """
        22 1 259:2 / / rw,relatime shared:1 - ext4 /dev/nvme0n1p2 rw,errors=remount-ro
        25 22 0:23 / /run rw,nosuid,nodev,noexec,relatime shared:5 - tmpfs tmpfs rw,size=1631540k,mode=755

        """

    @Test(arguments: [
        ("rw,nosuid,nodev,relatime", "rw,uid=1000", PostureStatus.fail),
        ("ro,nosuid,nodev,relatime", "ro,uid=1000", PostureStatus.pass),
        ("rw,nosuid,nodev,relatime", "ro,uid=1000", PostureStatus.pass),
    ])
    func removableMountsAreFoundThroughSysfs(options: String, superOptions: String, expected: PostureStatus) throws {
        try makeBlockDevices()
        try root.write("/proc/self/mountinfo", Self.systemMounts + "40 22 8:17 / /media/tanaka/USB\\040STICK \(options) shared:30 - vfat /dev/sdb1 \(superOptions)\n")
        let outcome = check("media.no-writable-removable-mounts")
        #expect(outcome.status == expected, "\(outcome.evidence)")
        if expected == .fail {
            #expect(outcome.evidence.hasPrefix("/media/tanaka/USB STICK (sdb1) is mounted rw: sdb1 is USB mass storage"), "\(outcome.evidence)")
        } else {
            #expect(outcome.evidence == "no removable medium mounted writable (3 mounts, 2 on block devices)")
        }
    }

    /// A LUKS-encrypted stick mounts as dm-0: its `slaves` lead to the USB partition underneath.
    @Test func encryptedUSBStickIsFoundThroughDeviceMapperSlaves() throws {
        try makeBlockDevices()
        try root.write("/sys/devices/virtual/block/dm-0/dm/name", "luks-stick\n")
        try root.write("/sys/devices/virtual/block/dm-0/removable", "0\n")
        try root.link("/sys/devices/virtual/block/dm-0/slaves/sdb1", to: "../../../../pci0000:00/0000:00:14.0/usb2/2-1/2-1:1.0/host6/target6:0:0/6:0:0:0/block/sdb/sdb1")
        try root.link("/sys/dev/block/254:0", to: "../../devices/virtual/block/dm-0")
        try root.write("/proc/self/mountinfo", Self.systemMounts + "41 22 254:0 / /media/tanaka/secret rw,relatime shared:31 - ext4 /dev/mapper/luks-stick rw\n")
        let outcome = check("media.no-writable-removable-mounts")
        #expect(outcome.status == .fail)
        #expect(outcome.evidence.hasPrefix("/media/tanaka/secret (dm-0 on sdb1) is mounted rw: sdb1 is USB mass storage"), "\(outcome.evidence)")
    }

    @Test func aMountWithoutSysfsEntryIsAnErrorAndNoMountinfoIsAnError() throws {
        #expect(check("media.no-writable-removable-mounts").status == .error)
        try root.write("/proc/self/mountinfo", Self.systemMounts)
        #expect(check("media.no-writable-removable-mounts") == .cannotDecide(reason: "/: no sysfs entry for block device 259:2"))
    }

    // MARK: auth

    @Test func pamStackIsReadFromTheRoot() throws {
        try root.write("/etc/pam.d/common-auth", "auth [success=1 default=ignore] pam_unix.so nullok\nauth requisite pam_deny.so\nauth required pam_permit.so\nauth required pam_mamori.so\n")
        try root.write("/etc/pam.d/login", "@include common-auth\n")
        try root.write("/etc/pam.d/sudo", "@include common-auth\n")
        let outcome = check("auth.pam-stack")
        #expect(outcome.status == .pass, "\(outcome.evidence)")
        #expect(outcome.evidence.hasSuffix("sshd: no /etc/pam.d/sshd (not installed)"))
        try root.write("/etc/pam.d/sshd", "auth sufficient pam_unix.so\n@include common-auth\n")
        #expect(check("auth.pam-stack").evidence.hasPrefix("sshd: sshd:1: pam_unix.so is `sufficient` before pam_mamori.so"))
        try root.write("/etc/pam.d/sshd", "@include common-auth\n")
        try root.write("/etc/pam.d/sudo", "@include common-auth-local\n")
        #expect(check("auth.pam-stack") == .cannotDecide(reason: "sudo: common-auth-local is missing (included from sudo); login: pam_mamori.so required (common-auth:4 `required`), no path succeeds without it; sshd: pam_mamori.so required (common-auth:4 `required`), no path succeeds without it"))
    }

    static let passwd = """
        root:x:0:0:root:/root:/bin/bash
        daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
        tanaka:x:1000:1000:Tanaka Hanako:/home/tanaka:/bin/bash
        suzuki:x:1001:1001:Suzuki Ichiro:/home/suzuki:/usr/bin/zsh
        breakglass:x:1002:1002::/home/breakglass:/bin/bash
        kiosk:x:1003:1003::/home/kiosk:/usr/sbin/nologin
        nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin

        """

    @Test func listedUsersMustBeEnrolled() throws {
        #expect(check("auth.users-enrolled").status == .error)
        try root.write("/etc/passwd", Self.passwd)
        let store = MFAStore(directory: root.path + "/var/lib/mamori/mfa")
        try store.prepare()
        let credential = try #require(OTPCredential(factor: .totp, secret: Array("12345678901234567890".utf8), parameters: .standard))
        try store.write(MFAUserRecord(user: "tanaka", credential: credential))
        #expect(check("auth.users-enrolled") == .failsToMeetPolicy(reason: "not enrolled: suzuki"))
        try store.write(MFAUserRecord(user: "suzuki", credential: credential))
        #expect(check("auth.users-enrolled") == .meetsPolicy(evidence: "2 listed user(s) enrolled: tanaka, suzuki"))
        #expect(!FileManager.default.fileExists(atPath: store.directory + "/breakglass.lock"))
    }

    // MARK: network

    @Test(arguments: [
        ("0x1003", "up", false, PostureOutcome.failsToMeetPolicy(reason: "wlan0 is up")),
        ("0x1002", "down", false, PostureOutcome.meetsPolicy(evidence: "wireless interface(s) down: wlan0")),
        ("0x1003", "dormant", false, PostureOutcome.failsToMeetPolicy(reason: "wlan0 is up")),
        ("0x1003", "up", true, PostureOutcome.meetsPolicy(evidence: "the profile allows wireless (network.wireless_allowed); up: wlan0")),
    ])
    func wirelessInterfacesUpFail(flags: String, operstate: String, allowed: Bool, expected: PostureOutcome) throws {
        try root.write("/sys/class/net/eth0/flags", "0x1003\n")
        try root.write("/sys/class/net/eth0/operstate", "up\n")
        try root.directory("/sys/class/net/wlan0/wireless")
        try root.write("/sys/class/net/wlan0/flags", flags + "\n")
        try root.write("/sys/class/net/wlan0/operstate", operstate + "\n")
        let profile = PostureTestRoot.profile().with { $0.network.wirelessAllowed = allowed }
        #expect(check("network.no-wireless", root.context(profile: profile)) == expected)
    }

    @Test func noWirelessHardwarePasses() throws {
        #expect(check("network.no-wireless").status == .error)
        try root.write("/sys/class/net/eth0/flags", "0x1003\n")
        try root.write("/sys/class/net/lo/flags", "0x9\n")
        #expect(check("network.no-wireless") == .meetsPolicy(evidence: "no wireless interface"))
    }

    static let zoneRuleset = #"""
        {"nftables": [{"table": {"family": "inet", "name": "mamori", "handle": 1}}, {"chain": {"family": "inet", "table": "mamori", "name": "output", "handle": 1, "type": "filter", "hook": "output", "prio": 0, "policy": "drop"}}, {"rule": {"family": "inet", "table": "mamori", "chain": "output", "handle": 2, "expr": [{"match": {"op": "==", "left": {"meta": {"key": "oif"}}, "right": "lo"}}, {"accept": null}]}}, {"rule": {"family": "inet", "table": "mamori", "chain": "output", "handle": 3, "expr": [{"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "daddr"}}, "right": {"prefix": {"addr": "10.20.0.0", "len": 16}}}}, {"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}}, "right": 443}}, {"accept": null}]}}]}
        """#

    @Test func egressUsesTheProfilesDestinations() {
        let profile = PostureTestRoot.profile()
        #expect(check("network.egress-zone-only", root.context(profile: profile, nft: .success(Self.zoneRuleset))).status == .pass)
        let wider = Self.zoneRuleset.replacingOccurrences(of: "\"len\": 16", with: "\"len\": 8").replacingOccurrences(of: "10.20.0.0", with: "10.0.0.0")
        #expect(check("network.egress-zone-only", root.context(profile: profile, nft: .success(wider))).evidence
            .contains("accepts 10.0.0.0-10.255.255.255 tcp/443, outside the allowed destinations"))
        #expect(check("network.egress-zone-only", root.context(profile: profile)) == .cannotDecide(reason: "nftables ruleset unreadable: no nft in this test"))
    }

    // MARK: system

    @Test func clockSynchronisation() {
        let synced = ClockState(synchronised: true, maxErrorMicroseconds: 1200, estimatedErrorMicroseconds: 40)
        #expect(check("system.clock-synced", root.context(clock: synced)).status == .pass)
        let unsynced = ClockState(synchronised: false, maxErrorMicroseconds: 16_000_000, estimatedErrorMicroseconds: 16_000_000)
        #expect(check("system.clock-synced", root.context(clock: unsynced)) == .failsToMeetPolicy(reason: "kernel clock not synchronised (STA_UNSYNC; max error 16000000 µs)"))
    }

    /// The real adjtimex(2): it answers, whichever way this machine's clock is.
    @Test func kernelClockIsReadable() throws {
        let state = try SystemPostureSources.kernelClock().get()
        #expect(state.maxErrorMicroseconds >= 0)
    }

    static func sha256(_ text: String) -> String {
        SHA256.hash(data: Array(text.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    @Test func agentFilesAreComparedWithTheManifest() throws {
        #expect(check("agent.files-unmodified") == .cannotDecide(reason: "/usr/lib/mamori/files.sha256 is missing: nothing to compare the agent's files with"))
        try root.write("/usr/bin/mamori-agent", "agent binary v1")
        try root.write("/usr/lib/udev/rules.d/72-mamori-media.rules", "# rule\n")
        try root.write("/usr/lib/mamori/files.sha256", """
            \(Self.sha256("agent binary v1"))  /usr/bin/mamori-agent
            \(Self.sha256("# rule\n")) */usr/lib/udev/rules.d/72-mamori-media.rules

            """)
        #expect(check("agent.files-unmodified") == .meetsPolicy(evidence: "2 file(s) match /usr/lib/mamori/files.sha256"))
        try root.write("/usr/bin/mamori-agent", "agent binary v1, patched")
        try root.remove("/usr/lib/udev/rules.d/72-mamori-media.rules")
        #expect(check("agent.files-unmodified") == .failsToMeetPolicy(reason: "/usr/bin/mamori-agent differs; /usr/lib/udev/rules.d/72-mamori-media.rules is missing"))
        try root.write("/usr/lib/mamori/files.sha256", "not a manifest\n")
        #expect(check("agent.files-unmodified").status == .error)
    }

    @Test func profileCurrency() {
        let profile = PostureTestRoot.profile()
        #expect(check("profile.current") == .meetsPolicy(evidence: "profile posture-fixture version 12, expires 2027-01-01T00:00:00.000000Z"))
        var late = root.context(profile: profile)
        late.now = Timestamp(parsing: "2027-01-02T00:00:00Z")!
        #expect(check("profile.current", late).evidence.hasSuffix(": expired"))
        #expect(check("profile.current", root.context(status: .missing("first start"))) == .failsToMeetPolicy(reason: "no profile installed: first start"))
        #expect(check("profile.current", root.context(status: .invalid("bad signature"))).status == .fail)
        let expired = ProfileStatus.expired(name: "mynumber-standard", version: 9, expires: Timestamp(parsing: "2026-05-01T00:00:00Z")!)
        #expect(check("profile.current", root.context(profile: nil, status: expired))
            == .failsToMeetPolicy(reason: "profile mynumber-standard version 9, expires 2026-05-01T00:00:00.000000Z: expired"))
    }

    @Test func journalHealth() {
        #expect(check("journal.healthy").status == .pass)
        var broken = PostureTestRoot.healthyJournal
        broken.lastAppendSucceeded = false
        broken.lastAppendError = "fsync: No space left on device"
        broken.spoolLimitReached = true
        #expect(check("journal.healthy", root.context(journal: broken)) == .failsToMeetPolicy(
            reason: "last append failed: fsync: No space left on device; spool limit reached with 3 record(s) not receipted"))
        var stale = PostureTestRoot.healthyJournal
        stale.lastShipment = Timestamp(parsing: "2026-06-01T08:14:00Z")!  // 46 min > 3 × 15 min
        #expect(check("journal.healthy", root.context(journal: stale)).evidence.contains("more than 3 reporting intervals (2700 s) ago"))
        var never = PostureTestRoot.healthyJournal
        never.lastShipment = nil
        #expect(check("journal.healthy", root.context(journal: never)).evidence.hasPrefix("nothing shipped since start"))
    }

    @Test func unknownBuiltinIsAnError() {
        #expect(check("media.future-check").status == .error)
    }
}

extension Profile {
    func with(_ change: (inout Profile) -> Void) -> Profile {
        var copy = self
        change(&copy)
        return copy
    }
}
