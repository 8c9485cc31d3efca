public import MamoriCore

/// One device the scan found, with the decision the profile gives it.
public struct MediaScanEntry: Sendable, Equatable {
    public var facts: MediaDeviceFacts
    public var decision: MediaDecision
    /// The block device's read-only flag now (BLKROGET); nil when not a block device or not readable.
    public var isReadOnly: Bool?
}

/// Lists the storage-capable devices present now (block disks and partitions, SCSI generic
/// nodes, and USB devices that have no block node of their own) and decides each one.
public enum MediaScanner {
    public static let subsystems = ["block", "scsi_generic", "usb"]

    public static func scan(context: UdevContext, policy: MediaPolicy, now: Timestamp, includeFixed: Bool = false) -> [MediaScanEntry] {
        var entries: [MediaScanEntry] = []
        for subsystem in subsystems {
            for device in context.devices(subsystem: subsystem) {
                if subsystem == "usb" && device.devType != "usb_device" { continue }
                let facts = MediaFactsReader.facts(device, context: context)
                let decision = policy.decide(facts, now: now)
                let isHub = decision.rule == .hubNeverGoverned
                guard includeFixed || decision.deviceClass != nil || isHub else { continue }
                if subsystem == "usb" && !isHub && !reportsUSBDevice(decision.deviceClass) { continue }
                let readOnly = subsystem == "block" ? facts.devNode.flatMap { try? BlockDeviceReadOnly.get($0) } : nil
                entries.append(MediaScanEntry(facts: facts, decision: decision, isReadOnly: readOnly))
            }
        }
        return entries
    }

    /// A USB stick appears through its block node; the USB device itself is listed only for
    /// classes that have no block node (phones, cameras, keyboards) or are blocked whole (BadUSB).
    /// Hubs are always listed, as not governed, so the administrator sees the topology.
    static func reportsUSBDevice(_ deviceClass: DeviceClass?) -> Bool {
        switch deviceClass {
        case .mtpPTP, .compositeHIDStorage, .hid: return true
        default: return false
        }
    }
}
