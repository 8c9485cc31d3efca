import Testing
@testable import MamoriCore

/// One device of each class the media guard handles, as udev would describe it.
enum MediaDevices {
    static let stick = MediaDeviceFacts(
        kernelName: "sdb", sysPath: "/sys/devices/pci0000:00/0000:00:14.0/usb1/1-2/1-2:1.0/host6/target6:0:0/6:0:0:0/block/sdb",
        devNode: "/dev/sdb", subsystem: "block", devType: "disk", bus: "usb", removable: true, usbDriver: "usb-storage",
        usb: USBIdentity(vendor: "0781", product: "5583", serial: "4C530001", interfaceClasses: [0x08]))
    static let stickPartition: MediaDeviceFacts = {
        var facts = stick
        facts.kernelName = "sdb1"; facts.devNode = "/dev/sdb1"; facts.devType = "partition"
        return facts
    }()
    static let fixedUSBDisk = MediaDeviceFacts(
        kernelName: "sdc", sysPath: "/sys/devices/usb2/2-1/2-1:1.0/host7/block/sdc", devNode: "/dev/sdc", subsystem: "block",
        devType: "disk", bus: "usb", removable: false, usbDriver: "usb-storage",
        usb: USBIdentity(vendor: "1058", product: "25a2", serial: "WX11A", interfaceClasses: [0x08]))
    static let uasDisk = MediaDeviceFacts(
        kernelName: "sdd", sysPath: "/sys/devices/usb2/2-2/2-2:1.0/host8/block/sdd", devNode: "/dev/sdd", subsystem: "block",
        devType: "disk", bus: "usb", removable: false, usbDriver: "uas",
        usb: USBIdentity(vendor: "174c", product: "55aa", serial: "MSFT30", interfaceClasses: [0x08]))
    static let usbSDReader = MediaDeviceFacts(
        kernelName: "sde", sysPath: "/sys/devices/usb1/1-3/1-3:1.0/host9/block/sde", devNode: "/dev/sde", subsystem: "block",
        devType: "disk", bus: "usb", removable: true, usbDriver: "usb-storage",
        usb: USBIdentity(vendor: "0bda", product: "0109", serial: "20060413", interfaceClasses: [0x08]),
        isSDReaderSlot: true)
    static let pciSD = MediaDeviceFacts(
        kernelName: "mmcblk0", sysPath: "/sys/devices/pci0000:00/0000:00:1e.6/mmc_host/mmc0/mmc0:aaaa/block/mmcblk0",
        devNode: "/dev/mmcblk0", subsystem: "block", devType: "disk", removable: false, mmcType: "SD")
    static let eMMC = MediaDeviceFacts(
        kernelName: "mmcblk1", sysPath: "/sys/devices/platform/emmc/mmc_host/mmc1/mmc1:0001/block/mmcblk1",
        devNode: "/dev/mmcblk1", subsystem: "block", devType: "disk", removable: false, mmcType: "MMC")
    static let opticalSR = MediaDeviceFacts(
        kernelName: "sr0", sysPath: "/sys/devices/pci0000:00/ata2/host1/target1:0:0/1:0:0:0/block/sr0",
        devNode: "/dev/sr0", subsystem: "block", devType: "disk", bus: "ata", removable: true, isOptical: true)
    static let opticalSG = MediaDeviceFacts(
        kernelName: "sg1", sysPath: "/sys/devices/pci0000:00/ata2/host1/target1:0:0/1:0:0:0/scsi_generic/sg1",
        devNode: "/dev/sg1", subsystem: "scsi_generic", bus: "ata", isOptical: true)
    static let phone = MediaDeviceFacts(
        kernelName: "1-4", sysPath: "/sys/devices/usb1/1-4", devNode: "/dev/bus/usb/001/005", subsystem: "usb",
        devType: "usb_device",
        usb: USBIdentity(vendor: "18d1", product: "4ee1", serial: "PIXEL7", interfaceClasses: [0xff]), isMTP: true)
    static let camera = MediaDeviceFacts(
        kernelName: "1-5", sysPath: "/sys/devices/usb1/1-5", subsystem: "usb", devType: "usb_device",
        usb: USBIdentity(vendor: "04a9", product: "32d2", serial: "CANON1", interfaceClasses: [0x06]))
    static let badUSB = MediaDeviceFacts(
        kernelName: "sdf", sysPath: "/sys/devices/usb1/1-6/1-6:1.0/host10/block/sdf", devNode: "/dev/sdf", subsystem: "block",
        devType: "disk", bus: "usb", removable: true, usbDriver: "usb-storage",
        usb: USBIdentity(vendor: "05ac", product: "1234", serial: "EVIL", interfaceClasses: [0x08, 0x03]))
    static let badUSBDevice = MediaDeviceFacts(
        kernelName: "1-6", sysPath: "/sys/devices/usb1/1-6", subsystem: "usb", devType: "usb_device",
        usb: USBIdentity(vendor: "05ac", product: "1234", serial: "EVIL", interfaceClasses: [0x08, 0x03]))
    static let keyboard = MediaDeviceFacts(
        kernelName: "1-7", sysPath: "/sys/devices/usb1/1-7", subsystem: "usb", devType: "usb_device",
        usb: USBIdentity(vendor: "046d", product: "c31c", serial: nil, interfaceClasses: [0x03]))
    static let systemDisk = MediaDeviceFacts(
        kernelName: "nvme0n1", sysPath: "/sys/devices/pci0000:00/0000:00:1d.0/nvme/nvme0/nvme0n1", devNode: "/dev/nvme0n1",
        subsystem: "block", devType: "disk", bus: "nvme", removable: false)
    static let loop = MediaDeviceFacts(
        kernelName: "loop0", sysPath: "/sys/devices/virtual/block/loop0", devNode: "/dev/loop0", subsystem: "block",
        devType: "disk", removable: false)
}

@Suite("Media classifier and policy")
struct MediaPolicyTests {
    let now = Timestamp(parsing: "2026-06-01T09:00:00Z")!
    let policy = MediaPolicy(rules: .default)

    static let matrix: [(MediaDeviceFacts, DeviceClass?, MediaAction)] = [
        (MediaDevices.stick, .usbStorage, .readOnly),
        (MediaDevices.stickPartition, .usbStorage, .readOnly),
        (MediaDevices.fixedUSBDisk, .usbStorage, .readOnly),
        (MediaDevices.uasDisk, .usbStorage, .readOnly),
        (MediaDevices.usbSDReader, .sdCard, .readOnly),
        (MediaDevices.pciSD, .sdCard, .readOnly),
        (MediaDevices.eMMC, nil, .allow),
        (MediaDevices.opticalSR, .optical, .readOnly),
        (MediaDevices.opticalSG, .optical, .readOnly),
        (MediaDevices.phone, .mtpPTP, .block),
        (MediaDevices.camera, .mtpPTP, .block),
        (MediaDevices.badUSB, .compositeHIDStorage, .block),
        (MediaDevices.badUSBDevice, .compositeHIDStorage, .block),
        (MediaDevices.keyboard, .hid, .allow),
        (MediaDevices.systemDisk, nil, .allow),
        (MediaDevices.loop, nil, .allow),
    ]

    @Test(arguments: matrix)
    func defaultProfileDecidesEachClass(facts: MediaDeviceFacts, deviceClass: DeviceClass?, action: MediaAction) {
        let decision = policy.decide(facts, now: now)
        #expect(decision.deviceClass == deviceClass, "\(facts.kernelName): \(decision.reason)")
        #expect(decision.action == action, "\(facts.kernelName): \(decision.reason)")
        #expect(decision.rule.isDefault)
        #expect(!decision.reason.isEmpty)
    }

    @Test func notRemovableAndHIDAreNeverRestricted() {
        #expect(policy.decide(MediaDevices.systemDisk, now: now).rule == .notRemovable)
        #expect(policy.decide(MediaDevices.systemDisk, now: now).isEnforced == false)
        let keyboard = policy.decide(MediaDevices.keyboard, now: now)
        #expect(keyboard.rule == .hidAlwaysAllowed)
        #expect(keyboard.isEnforced == false)
    }

    /// A hub is never governed, even in fail-closed mode and even when udev's view of it lists
    /// storage and HID classes (a hub's subtree must never be counted as its own interfaces).
    @Test(arguments: [MediaPolicy.failClosed, MediaPolicy(rules: .default)])
    func hubsAreNeverGoverned(policy: MediaPolicy) {
        let rootHub = MediaDeviceFacts(kernelName: "usb1", sysPath: "/sys/devices/pci0000:00/0000:00:14.0/usb1", subsystem: "usb",
                                       devType: "usb_device", usb: USBIdentity(vendor: "1d6b", product: "0002", serial: nil,
                                                                              interfaceClasses: [0x09, 0x08, 0x03]), isHub: true)
        let decision = policy.decide(rootHub, now: now)
        #expect(decision.rule == .hubNeverGoverned)
        #expect(decision.rule.description == "builtin:hub-never-governed")
        #expect(decision.action == .allow)
        #expect(decision.deviceClass == nil)
        #expect(!decision.isEnforced)
    }

    @Test(arguments: [
        ("09", "1-1", [UInt8](), true), (nil, "usb2", [], true), ("00", "1-1", [0x09], true), ("00", "1-2", [0x08], false),
        ("00", "usbx", [0x03], false), (nil, "1-9", [], false), ("zz", "1-3", [0x09, 0x03], false),
    ] as [(String?, String, [UInt8], Bool)])
    func hubDetection(deviceClass: String?, kernelName: String, classes: [UInt8], isHub: Bool) {
        #expect(USBIdentity.isHub(deviceClass: deviceClass, kernelName: kernelName, ownInterfaceClasses: classes) == isHub)
    }

    @Test func hidIsAllowedEvenInFailClosedMode() {
        let decision = MediaPolicy.failClosed.decide(MediaDevices.keyboard, now: now)
        #expect(decision.action == .allow)
        let stick = MediaPolicy.failClosed.decide(MediaDevices.stick, now: now)
        #expect(stick.action == .readOnly)
        #expect(stick.rule == .failClosedDefault(.usbStorage))
        #expect(stick.isEnforced)
    }

    @Test func profileDefaultsChangeTheAction() {
        var rules = MediaRules.default
        rules.defaults[.usbStorage] = .block
        rules.defaults[.optical] = .readWrite
        let custom = MediaPolicy(rules: rules)
        #expect(custom.decide(MediaDevices.stick, now: now).action == .block)
        #expect(custom.decide(MediaDevices.opticalSR, now: now).action == .readWrite)
        #expect(custom.decide(MediaDevices.opticalSR, now: now).isEnforced == false)
    }

    @Test func auditModeDecidesButDoesNotEnforce() {
        var rules = MediaRules.default
        rules.mode = .audit
        let decision = MediaPolicy(rules: rules).decide(MediaDevices.stick, now: now)
        #expect(decision.action == .readOnly)
        #expect(decision.mode == .audit)
        #expect(decision.restricts)
        #expect(decision.isEnforced == false)
    }

    func rules(_ entries: [MediaAllowEntry]) -> MediaPolicy {
        var rules = MediaRules.default
        rules.allow = entries
        return MediaPolicy(rules: rules)
    }

    func entry(_ vendor: String = "0781", _ product: String = "5583", serial: String? = "4C530001",
               mode: MediaAction = .readWrite, expires: Timestamp? = nil) -> MediaAllowEntry {
        MediaAllowEntry(vendor: vendor, product: product, serial: serial, mode: mode, expires: expires, reason: "transfer stick")
    }

    @Test func exactAllowEntryMatches() {
        let decision = rules([entry("1058", "25a2", serial: "X"), entry()]).decide(MediaDevices.stick, now: now)
        #expect(decision.action == .readWrite)
        #expect(decision.rule == .allowEntry(index: 1))
        #expect(decision.rule.description == "media.allow[1]")
        #expect(decision.reason.contains("transfer stick"))
    }

    @Test func serialMismatchFallsBackToTheDefault() {
        let decision = rules([entry(serial: "OTHER")]).decide(MediaDevices.stick, now: now)
        #expect(decision.action == .readOnly)
        #expect(decision.rule == .classDefault(.usbStorage))
        #expect(decision.reason.contains("names serial OTHER"))
    }

    @Test func expiredEntryDoesNotApply() {
        let expired = rules([entry(expires: Timestamp(parsing: "2026-05-31")!)]).decide(MediaDevices.stick, now: now)
        #expect(expired.action == .readOnly)
        #expect(expired.reason.contains("expired"))
        let atExpiry = rules([entry(expires: now)]).decide(MediaDevices.stick, now: now)
        #expect(atExpiry.action == .readOnly)
        let live = rules([entry(expires: now.adding(seconds: 1))]).decide(MediaDevices.stick, now: now)
        #expect(live.action == .readWrite)
    }

    @Test func wildcardSerialMatchesAnySerialButExactWins() {
        let wildcard = rules([entry(serial: nil, mode: .readOnly)]).decide(MediaDevices.stick, now: now)
        #expect(wildcard.rule == .allowEntry(index: 0))
        let both = rules([entry(serial: nil, mode: .readOnly), entry()]).decide(MediaDevices.stick, now: now)
        #expect(both.rule == .allowEntry(index: 1))
        #expect(both.action == .readWrite)
        var noSerial = MediaDevices.stick
        noSerial.usb?.serial = nil
        #expect(rules([entry(serial: nil)]).decide(noSerial, now: now).action == .readWrite)
        #expect(rules([entry()]).decide(noSerial, now: now).action == .readOnly)
    }

    @Test func vendorOrProductMismatchNeverMatches() {
        #expect(rules([entry("0782")]).decide(MediaDevices.stick, now: now).rule == .classDefault(.usbStorage))
        #expect(rules([entry("0781", "5584")]).decide(MediaDevices.stick, now: now).rule == .classDefault(.usbStorage))
        #expect(rules([entry()]).decide(MediaDevices.pciSD, now: now).rule == .classDefault(.sdCard))
    }

    @Test func compositeNeedsAnExactSerial() {
        let wildcard = rules([entry("05ac", "1234", serial: nil)]).decide(MediaDevices.badUSB, now: now)
        #expect(wildcard.action == .block)
        #expect(wildcard.reason.contains("never allows a storage+HID composite"))
        let exact = rules([entry("05ac", "1234", serial: "EVIL", mode: .readOnly)]).decide(MediaDevices.badUSB, now: now)
        #expect(exact.action == .readOnly)
    }

    @Test func readOnlyEntryForAPhoneBlocks() {
        let decision = rules([entry("18d1", "4ee1", serial: "PIXEL7", mode: .readOnly)]).decide(MediaDevices.phone, now: now)
        #expect(decision.action == .block)
        #expect(decision.rule == .allowEntry(index: 0))
        let readWrite = rules([entry("18d1", "4ee1", serial: "PIXEL7")]).decide(MediaDevices.phone, now: now)
        #expect(readWrite.action == .readWrite)
    }

    @Test func interfaceClassesParseFromUdev() {
        #expect(USBIdentity.interfaceClasses(fromUdev: ":080650:030101:") == [0x08, 0x03])
        #expect(USBIdentity.interfaceClasses(fromUdev: ":080650:080650:") == [0x08])
        #expect(USBIdentity.interfaceClasses(fromUdev: "garbage::zz0000:0801:") == [])
        #expect(USBIdentity.interfaceClasses(fromUdev: "") == [])
    }

    @Test func removableDiskOnAnUnknownBusIsGoverned() {
        var facts = MediaDevices.systemDisk
        facts.removable = true
        facts.bus = nil
        #expect(policy.decide(facts, now: now).action == .readOnly)
    }

    @Test func edgeCasesResolveTowardsTheStricterClass() {
        var stickGeneric = MediaDevices.stick
        stickGeneric.kernelName = "sg2"; stickGeneric.subsystem = "scsi_generic"; stickGeneric.devNode = "/dev/sg2"
        #expect(policy.decide(stickGeneric, now: now).deviceClass == .usbStorage)
        var unknownMMC = MediaDevices.pciSD
        unknownMMC.mmcType = nil
        #expect(policy.decide(unknownMMC, now: now).deviceClass == .sdCard)
        var eMMCBoot = MediaDevices.eMMC
        eMMCBoot.kernelName = "mmcblk1boot0"; eMMCBoot.mmcType = nil
        #expect(policy.decide(eMMCBoot, now: now).deviceClass == nil)
        var hidWithHub = MediaDevices.keyboard
        hidWithHub.usb?.interfaceClasses = [0x09, 0x03]
        #expect(policy.decide(hidWithHub, now: now).action == .allow)
        var keyboardWithAudio = MediaDevices.keyboard
        keyboardWithAudio.usb?.interfaceClasses = [0x03, 0x01]
        #expect(policy.decide(keyboardWithAudio, now: now).action == .allow)
        var usbDiskWithoutIdentity = MediaDevices.systemDisk
        usbDiskWithoutIdentity.bus = "usb"
        #expect(policy.decide(usbDiskWithoutIdentity, now: now).action == .readOnly)
    }

    @Test func ruleNamesAreStable() {
        #expect(MediaRuleMatch.classDefault(.sdCard).description == "default:sd-card")
        #expect(MediaRuleMatch.failClosedDefault(.optical).description == "fail-closed:optical")
        #expect(MediaRuleMatch.hidAlwaysAllowed.description == "builtin:hid-always-allowed")
        #expect(MediaRuleMatch.notRemovable.description == "builtin:not-removable")
        #expect(MediaRuleMatch.allowEntry(index: 3).isDefault == false)
    }

    @Test func journalPayloadNamesDeviceDecisionAndRule() {
        let decision = rules([entry()]).decide(MediaDevices.stick, now: now)
        let payload = decision.journalPayload(for: MediaDevices.stick, event: "add", applied: [])
        #expect(payload["device"] == .string("/dev/sdb"))
        #expect(payload["decision"] == .string("read-write"))
        #expect(payload["rule"] == .string("media.allow[0]"))
        #expect(payload["default_applied"] == .bool(false))
        #expect(payload["usb_serial"] == .string("4C530001"))
        #expect(JournalRecord.isValidKind(MediaJournalKind.decision))
        #expect(JournalRecord.isValidKind(MediaJournalKind.mountAlert))
    }
}

@Suite("Media profile section")
struct MediaProfileSectionTests {
    @Test func allowEntryWithoutExpiresIsValidAndNeverExpires() throws {
        let source = ProfileFixture.minimalProfile + """
            media:
              allow:
                - vendor: "0781"
                  product: "5583"
                  serial: "4C530001"
                  reason: transfer stick

            """
        let profile = try ProfileParser.parse(source).get()
        #expect(profile.media.allow.count == 1)
        #expect(profile.media.allow[0].expires == nil)
        #expect(profile.media.allow[0].mode == .readOnly)
    }

    @Test func allowEntryWithABadExpiryIsStillRejectedWithADiagnostic() {
        let source = ProfileFixture.minimalProfile + """
            media:
              allow:
                - vendor: "0781"
                  product: "5583"
                  serial: "4C530001"
                  expires: tomorrow
                  reason: transfer stick

            """
        let diagnostics = ProfileParser.lint(source)
        #expect(diagnostics.contains { $0.path == "media.allow[0].expires" })
    }
}
