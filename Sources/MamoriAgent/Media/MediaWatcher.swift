public import MamoriCore

/// Layer 2 of the media guard: the agent's own libudev monitor. It subscribes first and then
/// enumerates, so a device that arrives in between is seen at least once; devices present at
/// start are reconciled (decided and enforced) like new ones.
public final class MediaWatcher {
    let context: UdevContext
    let monitor: UdevMonitor
    let mediaGuard: MediaGuard

    /// `touchesDevices` false: decide and journal, change no device (an agent rooted elsewhere).
    public init(policy: MediaPolicy, touchesDevices: Bool = true) throws {
        let context = try UdevContext()
        // Subscribe before enumerating.
        self.monitor = try UdevMonitor(context: context, subsystems: MediaScanner.subsystems)
        self.context = context
        self.mediaGuard = MediaGuard(context: context, policy: policy, touchesDevices: touchesDevices)
    }

    /// Decides and enforces every storage-capable device present now: whole disks (the guard
    /// covers their partitions), SCSI generic nodes and USB devices.
    public func reconcile(now: Timestamp) -> [MediaGuardOutcome] {
        var outcomes: [MediaGuardOutcome] = []
        for subsystem in MediaScanner.subsystems {
            for device in context.devices(subsystem: subsystem) where Self.isReconciled(device) {
                outcomes.append(mediaGuard.handle(device, event: "reconcile", now: now))
            }
        }
        return outcomes.filter { $0.decision.deviceClass != nil }
    }

    static func isReconciled(_ device: UdevDevice) -> Bool {
        switch device.subsystem {
        case "block": return device.devType == "disk"
        case "usb": return device.devType == "usb_device"
        default: return true
        }
    }

    /// Waits up to `timeoutMilliseconds` for one device event and handles `add` and `change`.
    /// Returns nil on timeout, for other actions, and for devices that are not removable media.
    public func next(timeoutMilliseconds: Int32, now: () -> Timestamp) throws -> MediaGuardOutcome? {
        guard let device = try monitor.receive(timeoutMilliseconds: timeoutMilliseconds),
              let action = device.action, action == "add" || action == "change" else { return nil }
        if device.subsystem == "usb" && device.devType != "usb_device" { return nil }
        let outcome = mediaGuard.handle(device, event: action, now: now())
        return outcome.decision.deviceClass == nil ? nil : outcome
    }
}
