/// The pure decision: (device facts, media rules, now) → decision. No I/O, no clock.
public struct MediaPolicy: Sendable, Equatable {
    public var rules: MediaRules
    /// True when the rules are the fail-closed stand-in for a profile that could not be read.
    public var isFailClosed: Bool
    /// Verified one-off grants for this terminal (持ち出し申請), each adding an allow entry for
    /// one device until it expires. Ignored under the fail-closed defaults: a grant sits on top
    /// of a profile, never in place of one.
    public var grants: [DeviceGrant]

    public init(rules: MediaRules, grants: [DeviceGrant] = []) {
        self.rules = rules
        self.isFailClosed = false
        self.grants = grants
    }

    /// The first time after `now` at which a grant ends: decisions must be taken again then.
    public func nextGrantExpiry(after now: Timestamp) -> Timestamp? {
        isFailClosed ? nil : grants.map(\.expires).filter { now < $0 }.min()
    }

    /// The policy used when no valid profile is readable: built-in defaults, enforced, no allow list.
    public static let failClosed: MediaPolicy = {
        var policy = MediaPolicy(rules: .default)
        policy.rules.mode = .enforce
        policy.isFailClosed = true
        return policy
    }()

    public func decide(_ facts: MediaDeviceFacts, now: Timestamp) -> MediaDecision {
        let classification = MediaClassifier.classify(facts)
        if case .hub(let reason) = classification {
            return MediaDecision(action: .allow, deviceClass: nil, rule: .hubNeverGoverned, mode: rules.mode, reason: reason)
        }
        guard let deviceClass = classification.deviceClass else {
            return MediaDecision(action: .allow, deviceClass: nil, rule: .notRemovable, mode: rules.mode, reason: classification.reason)
        }
        if deviceClass == .hid {
            // Never blocked, whatever the profile says: no lock-out.
            return MediaDecision(action: .allow, deviceClass: .hid, rule: .hidAlwaysAllowed, mode: rules.mode,
                                 reason: classification.reason + "; keyboards and mice are always allowed")
        }
        let lookup = allowEntry(for: facts, deviceClass: deviceClass, now: now)
        let grantLookup = grant(for: facts, deviceClass: deviceClass, now: now)
        if let grant = grantLookup.grant, lookup.index.map({ rules.allow[$0].mode == .readOnly && grant.mode == .readWrite }) ?? true {
            return granted(by: grant, deviceClass: deviceClass, classification: classification)
        }
        if let index = lookup.index {
            return allowed(by: index, deviceClass: deviceClass, classification: classification)
        }
        let action = permitted(rules.action(for: deviceClass), for: deviceClass)
        let rule: MediaRuleMatch = isFailClosed ? .failClosedDefault(deviceClass) : .classDefault(deviceClass)
        var reason = classification.reason
        if let note = lookup.note { reason += "; " + note }
        if let note = grantLookup.note { reason += "; " + note }
        if isFailClosed { reason += "; no valid profile is readable, so the built-in defaults apply" }
        return MediaDecision(action: action, deviceClass: deviceClass, rule: rule, mode: rules.mode, reason: reason)
    }

    func allowed(by index: Int, deviceClass: DeviceClass, classification: MediaClassification) -> MediaDecision {
        let entry = rules.allow[index]
        let action = permitted(entry.mode, for: deviceClass)
        var reason = classification.reason + "; allow-listed: " + entry.reason
        if action != entry.mode { reason += " (\(entry.mode.rawValue) cannot be enforced for \(deviceClass.rawValue), so it is blocked)" }
        return MediaDecision(action: action, deviceClass: deviceClass, rule: .allowEntry(index: index), mode: rules.mode, reason: reason)
    }

    func granted(by grant: DeviceGrant, deviceClass: DeviceClass, classification: MediaClassification) -> MediaDecision {
        let action = permitted(grant.mode, for: deviceClass)
        var reason = classification.reason + "; granted until \(grant.expires) (\(grant.reference)): " + grant.reason
        if action != grant.mode { reason += " (\(grant.mode.rawValue) cannot be enforced for \(deviceClass.rawValue), so it is blocked)" }
        return MediaDecision(action: action, deviceClass: deviceClass, rule: .grant(id: grant.id), mode: rules.mode, reason: reason)
    }

    /// The live grant naming this device. Grants never apply under the fail-closed defaults, and
    /// never to a storage+HID composite (the BadUSB shape): a take-out is for a plain stick.
    func grant(for facts: MediaDeviceFacts, deviceClass: DeviceClass, now: Timestamp) -> (grant: DeviceGrant?, note: String?) {
        guard !isFailClosed, let usb = facts.usb else { return (nil, nil) }
        let naming = grants.filter { $0.names(usb) }
        guard let first = naming.first else { return (nil, nil) }
        if deviceClass == .compositeHIDStorage { return (nil, "grant \(first.id) never allows a storage+HID composite") }
        if let live = naming.first(where: { now < $0.expires }) { return (live, nil) }
        return (nil, "grant \(first.id) expired \(first.expires)")
    }

    /// An action the agent cannot enforce for the class becomes `block` (fail closed).
    func permitted(_ action: MediaAction, for deviceClass: DeviceClass) -> MediaAction {
        deviceClass.permittedActions.contains(action) ? action : .block
    }

    /// The first live entry naming this exact device, preferring an exact serial over `"*"`.
    /// A BadUSB composite is allowed only by an exact serial. The note says why entries that
    /// named the vendor and product did not apply (expired, serial mismatch).
    func allowEntry(for facts: MediaDeviceFacts, deviceClass: DeviceClass, now: Timestamp) -> (index: Int?, note: String?) {
        guard let usb = facts.usb else { return (nil, nil) }
        var wildcard: Int?
        var notes: [String] = []
        for (index, entry) in rules.allow.enumerated() where entry.vendor == usb.vendor && entry.product == usb.product {
            if let expires = entry.expires, expires <= now {
                notes.append("media.allow[\(index)] expired \(expires)")
                continue
            }
            if let serial = entry.serial {
                if serial == usb.serial { return (index, nil) }
                notes.append("media.allow[\(index)] names serial \(serial), device has \(usb.serial ?? "none")")
            } else if deviceClass == .compositeHIDStorage {
                notes.append("media.allow[\(index)] uses serial \"*\", which never allows a storage+HID composite")
            } else if wildcard == nil {
                wildcard = index
            }
        }
        if let wildcard { return (wildcard, nil) }
        return (nil, notes.isEmpty ? nil : notes.joined(separator: "; "))
    }
}
