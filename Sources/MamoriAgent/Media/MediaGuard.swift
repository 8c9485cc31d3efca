public import MamoriCore

#if canImport(Glibc)
import Glibc
#endif

/// What the guard did about one device event: the decision, the changes it made, what failed,
/// and the journal records that describe all of it.
public struct MediaGuardOutcome: Sendable {
    public var facts: MediaDeviceFacts
    public var decision: MediaDecision
    /// Changes made (`BLKROSET /dev/sdb`, `authorized=0 /sys/...`); in audit mode, what would have been.
    public var applied: [String] = []
    public var failures: [String] = []
    public var records: [(kind: String, payload: [String: JSONValue])] = []
}

/// Layers 1 and 3 of the media guard for one device: decide, make the disk and every partition
/// read-only (BLKROSET) or deauthorise the USB device, restrict optical nodes, then remediate
/// any writable mount of what it protected.
public final class MediaGuard {
    let context: UdevContext
    let policy: MediaPolicy
    let mountInfoPath: String
    /// False for an agent whose root is not `/` (tests, demos, several agents on one machine)
    /// unless told otherwise: it decides and journals, and changes no device of this machine.
    let touchesDevices: Bool

    public init(context: UdevContext, policy: MediaPolicy, mountInfoPath: String = "/proc/self/mountinfo", touchesDevices: Bool = true) {
        self.context = context
        self.policy = policy
        self.mountInfoPath = mountInfoPath
        self.touchesDevices = touchesDevices
    }

    /// What an agent that touches no device writes instead of the change.
    public static let notAppliedPrefix = "not applied (agent root is not /): "

    public func handle(_ device: UdevDevice, event: String, now: Timestamp) -> MediaGuardOutcome {
        let facts = MediaFactsReader.facts(device, context: context)
        let decision = policy.decide(facts, now: now)
        var outcome = MediaGuardOutcome(facts: facts, decision: decision)
        if decision.restricts {
            let steps = plan(device, facts: facts, decision: decision)
            for step in steps {
                if !decision.isEnforced {
                    outcome.applied.append("would " + step.description)
                } else if !touchesDevices {
                    outcome.applied.append(Self.notAppliedPrefix + step.description)
                } else {
                    perform(step, into: &outcome)
                }
            }
            if facts.subsystem == "block" { checkMounts(protecting: device, decision: decision, into: &outcome) }
        } else if decision.action == .readWrite, decision.mode == .enforce, facts.subsystem == "block", touchesDevices {
            relax(device, decision: decision, into: &outcome)
        }
        outcome.records.insert((MediaJournalKind.decision, decision.journalPayload(for: facts, event: event, applied: outcome.applied)), at: 0)
        for failure in outcome.failures {
            outcome.records.append((MediaJournalKind.enforcementFailed, ["device": .string(facts.devNode ?? facts.sysPath), "error": .string(failure)]))
        }
        return outcome
    }

    enum Step: CustomStringConvertible {
        case readOnly(devNode: String)
        case deauthorise(UdevDevice)
        case nodeMode(devNode: String, mode: mode_t)

        var description: String {
            switch self {
            case .readOnly(let node): return "BLKROSET \(node)"
            case .deauthorise(let device): return "authorized=0 \(device.sysPath)"
            case .nodeMode(let node, let mode): return "chmod \(String(mode, radix: 8)) \(node)"
            }
        }
    }

    func plan(_ device: UdevDevice, facts: MediaDeviceFacts, decision: MediaDecision) -> [Step] {
        var steps: [Step] = []
        if facts.isOptical || decision.deviceClass == .optical || facts.subsystem == "scsi_generic", let node = facts.devNode {
            // SG_IO writes ignore BLKROSET: only the node's permissions stop a burner, or a stick
            // driven through its sg node. Opened read-only, SG_IO refuses write commands.
            steps.append(.nodeMode(devNode: node, mode: decision.action == .block ? 0o600 : 0o640))
        }
        if facts.subsystem == "block" {
            steps += protectedBlockDevices(device).compactMap { $0.devNode.map { Step.readOnly(devNode: $0) } }
        }
        // Never a hub: deauthorising one disconnects everything behind it, keyboards included.
        if decision.action == .block, let usb = facts.subsystem == "usb" ? device : device.parent(subsystem: "usb", devType: "usb_device"),
           !(facts.subsystem == "usb" ? facts.isHub : MediaFactsReader.isHub(usb, context: context)) {
            steps.append(.deauthorise(usb))
        }
        return steps
    }

    /// A device an allow entry or a grant makes writable, still read-only from an earlier
    /// decision (the udev helper at attach, or the profile before the grant): the flag is
    /// cleared on the disk and its partitions. Only this guard's own flag (BLKROSET) is cleared;
    /// a write-protect switch stays in force. Nothing else is ever relaxed.
    func relax(_ device: UdevDevice, decision: MediaDecision, into outcome: inout MediaGuardOutcome) {
        switch decision.rule {
        case .grant, .allowEntry: break
        default: return
        }
        for block in protectedBlockDevices(device) {
            guard let node = block.devNode, (try? BlockDeviceReadOnly.get(node)) == true else { continue }
            do {
                try BlockDeviceReadOnly.set(node, readOnly: false)
                outcome.applied.append("BLKROSET 0 \(node)")
            } catch {
                outcome.failures.append("BLKROSET 0 \(node): \(error)")
            }
        }
    }

    /// The whole disk and every partition on it, whichever of them the event was for.
    func protectedBlockDevices(_ device: UdevDevice) -> [UdevDevice] {
        let disk = device.devType == "partition" ? (device.parent(subsystem: "block", devType: "disk") ?? device) : device
        let partitions = context.devices(subsystem: "block", parent: disk).filter { $0.devType == "partition" }
        return [disk] + partitions
    }

    func perform(_ step: Step, into outcome: inout MediaGuardOutcome) {
        do {
            switch step {
            case .readOnly(let node): try BlockDeviceReadOnly.set(node, readOnly: true)
            case .deauthorise(let device): try device.setAttribute("authorized", "0")
            case .nodeMode(let node, let mode): try Syscall.call("chmod", path: node) { chmod(node, mode) }
            }
            outcome.applied.append(step.description)
        } catch {
            outcome.failures.append("\(step.description): \(error)")
        }
    }

    /// Layer 3: a writable mount of a protected device (mounted before BLKROSET landed) is
    /// remounted read-only, or unmounted when that fails, and raised as an alert.
    func checkMounts(protecting device: UdevDevice, decision: MediaDecision, into outcome: inout MediaGuardOutcome) {
        let numbers = Set(protectedBlockDevices(device).map(\.devNumber))
        let mounts: [MountEntry]
        do {
            mounts = try MountTable.writableMounts(of: numbers, mountInfoPath: mountInfoPath)
        } catch {
            outcome.failures.append("mount table unreadable, writable mounts not checked: \(error)")
            return
        }
        for mount in mounts {
            let result = !decision.isEnforced ? "audit: left writable"
                : touchesDevices ? MountTable.remediate(mount) : Self.notAppliedPrefix + "left writable"
            outcome.applied.append("\(result) \(mount.mountPoint)")
            outcome.records.append((MediaJournalKind.mountAlert, [
                "device": .string(mount.source), "mount_point": .string(mount.mountPoint), "fs_type": .string(mount.fsType),
                "remediation": .string(result), "rule": .string(decision.rule.description), "mode": .string(decision.mode.rawValue),
            ]))
        }
    }
}

/// Reads the mount table and remediates writable mounts.
public enum MountTable {
    static func writableMounts(of devices: Set<dev_t>, mountInfoPath: String = "/proc/self/mountinfo") throws -> [MountEntry] {
        let bytes = try FileSystem.readProcFile(mountInfoPath)
        return MountInfo.parse(String(decoding: bytes, as: UTF8.self)).filter {
            $0.isWritable && devices.contains(DeviceNumber.make(major: $0.major, minor: $0.minor))
        }
    }

    /// Remount read-only; failing that (files open for writing), unmount; failing that, detach.
    /// Returns what happened, for the alert.
    public static func remediate(_ mount: MountEntry) -> String {
        let flags = UInt(MS_REMOUNT) | UInt(MS_RDONLY)
        if (try? Syscall.call("mount", path: mount.mountPoint, { Glibc.mount(mount.source, mount.mountPoint, nil, flags, nil) })) != nil {
            return "remounted read-only"
        }
        if (try? Syscall.call("umount2", path: mount.mountPoint, { umount2(mount.mountPoint, 0) })) != nil {
            return "unmounted"
        }
        do {
            try Syscall.call("umount2", path: mount.mountPoint) { umount2(mount.mountPoint, Int32(MNT_DETACH)) }
            return "detached"
        } catch {
            return "remediation failed: \(error)"
        }
    }
}
