/// The `media.*` journal records: every decision names the device, the decision and the rule
/// that matched or the default that applied, so an audit rollout can tell them apart.
public enum MediaJournalKind {
    /// A decision about a device (enforced or, in audit mode, what would have been enforced).
    public static let decision = "media.decision"
    /// A writable mount of a protected device was found and remediated (or could not be).
    public static let mountAlert = "media.mount-alert"
    /// Enforcement failed (BLKROSET refused, sysfs not writable): the device may be unprotected.
    public static let enforcementFailed = "media.enforcement-failed"
}

extension MediaDecision {
    /// The payload of a `media.decision` record. `applied` lists what the agent actually did
    /// (empty in audit mode or when nothing had to change).
    public func journalPayload(for facts: MediaDeviceFacts, event: String, applied: [String]) -> [String: JSONValue] {
        var payload: [String: JSONValue] = [
            "event": .string(event),
            "device": .string(facts.devNode ?? facts.sysPath),
            "kernel_name": .string(facts.kernelName),
            "syspath": .string(facts.sysPath),
            "subsystem": .string(facts.subsystem),
            "decision": .string(action.rawValue),
            "rule": .string(rule.description),
            "default_applied": .bool(rule.isDefault),
            "mode": .string(mode.rawValue),
            "reason": .string(reason),
            "applied": .array(applied.map { .string($0) }),
        ]
        if let deviceClass { payload["class"] = .string(deviceClass.rawValue) }
        if let devType = facts.devType { payload["devtype"] = .string(devType) }
        if let usb = facts.usb {
            payload["usb_vendor"] = .string(usb.vendor)
            payload["usb_product"] = .string(usb.product)
            payload["usb_serial"] = usb.serial.map { .string($0) } ?? .null
            if let name = usb.vendorName { payload["usb_vendor_name"] = .string(name) }
            if let name = usb.modelName { payload["usb_model_name"] = .string(name) }
        }
        return payload
    }
}
