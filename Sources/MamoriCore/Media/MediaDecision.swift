/// What the profile says about one device, why, and whether the agent acts on it.
public struct MediaDecision: Sendable, Equatable {
    /// `block`, `read-only`, `read-write`, or `allow` (HID, and devices that are not removable media).
    public var action: MediaAction
    /// nil when the device is not removable media.
    public var deviceClass: DeviceClass?
    public var rule: MediaRuleMatch
    public var mode: EnforcementMode
    public var reason: String

    public init(action: MediaAction, deviceClass: DeviceClass?, rule: MediaRuleMatch, mode: EnforcementMode, reason: String) {
        self.action = action
        self.deviceClass = deviceClass
        self.rule = rule
        self.mode = mode
        self.reason = reason
    }

    /// Whether the agent changes anything: only in `enforce` mode, and only to restrict.
    public var isEnforced: Bool { mode == .enforce && restricts }

    /// Whether the decision takes something away (block or read-only).
    public var restricts: Bool { action == .block || action == .readOnly }
}

/// Which part of the profile decided: an allow-list entry (by its index in `media.allow`), the
/// class default, the built-in HID rule, or that the device is not removable media.
public enum MediaRuleMatch: Sendable, Equatable, CustomStringConvertible {
    case allowEntry(index: Int)
    /// A one-off grant (`DeviceGrant`), by its id.
    case grant(id: String)
    case classDefault(DeviceClass)
    case hidAlwaysAllowed
    case notRemovable
    /// USB hubs and root hubs are never governed.
    case hubNeverGoverned
    /// No valid profile was readable: the built-in defaults, enforced (fail closed).
    case failClosedDefault(DeviceClass)

    public var description: String {
        switch self {
        case .allowEntry(let index): return "media.allow[\(index)]"
        case .grant(let id): return "grant:\(id)"
        case .classDefault(let deviceClass): return "default:\(deviceClass.rawValue)"
        case .hidAlwaysAllowed: return "builtin:hid-always-allowed"
        case .notRemovable: return "builtin:not-removable"
        case .hubNeverGoverned: return "builtin:hub-never-governed"
        case .failClosedDefault(let deviceClass): return "fail-closed:\(deviceClass.rawValue)"
        }
    }

    /// True when no allow-list entry matched (the default applied): what an audit rollout looks for.
    public var isDefault: Bool {
        switch self {
        case .allowEntry, .grant: return false
        default: return true
        }
    }
}
