import Yams

// MARK: Media (policy 6(3)①: no taking information out of the terminal)

extension ProfileBuilder {
    mutating func media(_ node: Node) -> MediaRules? {
        guard let fields = reader.mapping(node, "media", allowed: ["mode", "defaults", "allow"]) else { return nil }
        let mode = fields["mode"].map { reader.choice($0, "media.mode", EnforcementMode.self) } ?? .enforce
        let defaults = fields["defaults"].map { mediaDefaults($0) } ?? MediaRules.default.defaults
        let allow = fields["allow"].map { allowList($0) } ?? []
        guard let mode, let defaults, let allow else { return nil }
        return MediaRules(mode: mode, defaults: defaults, allow: allow)
    }

    mutating func mediaDefaults(_ node: Node) -> [DeviceClass: MediaAction]? {
        let names = DeviceClass.allCases.map(\.rawValue)
        guard let fields = reader.mapping(node, "media.defaults", allowed: names) else { return nil }
        var result = MediaRules.default.defaults
        var ok = true
        for deviceClass in DeviceClass.allCases {
            guard let valueNode = fields[deviceClass.rawValue] else { continue }
            let path = "media.defaults.\(deviceClass.rawValue)"
            guard let action = reader.choice(valueNode, path, MediaAction.self) else { ok = false; continue }
            guard deviceClass.permittedActions.contains(action) else {
                reader.error(at: valueNode, path, Self.actionProblem(deviceClass, action))
                ok = false
                continue
            }
            result[deviceClass] = action
        }
        return ok ? result : nil
    }

    static func actionProblem(_ deviceClass: DeviceClass, _ action: MediaAction) -> String {
        let allowed = deviceClass.permittedActions.map(\.rawValue).joined(separator: " or ")
        switch deviceClass {
        case .hid: return "hid must be `allow`: keyboards and mice are never blocked, so a profile cannot lock the operator out"
        case .mtpPTP: return "`\(action.rawValue)` cannot be enforced for mtp-ptp (phones and cameras have no block device to make read-only); use \(allowed)"
        default: return "`\(action.rawValue)` is not an action for \(deviceClass.rawValue); use \(allowed)"
        }
    }

    mutating func allowList(_ node: Node) -> [MediaAllowEntry]? {
        guard let items = reader.list(node, "media.allow") else { return nil }
        var entries: [MediaAllowEntry] = []
        var ok = true
        for (index, item) in items.enumerated() {
            let path = "media.allow[\(index)]"
            guard let entry = allowEntry(item, path) else { ok = false; continue }
            if entries.contains(where: { $0.vendor == entry.vendor && $0.product == entry.product && $0.serial == entry.serial }) {
                reader.error(at: item, path, "the device \(entry.vendor):\(entry.product):\(entry.serial ?? "*") is listed twice")
                ok = false
                continue
            }
            entries.append(entry)
        }
        return ok ? entries : nil
    }

    mutating func allowEntry(_ node: Node, _ path: String) -> MediaAllowEntry? {
        guard let fields = reader.mapping(node, path, allowed: ["vendor", "product", "serial", "mode", "expires", "reason"],
                                          required: ["vendor", "product", "serial", "reason"]) else { return nil }
        let vendor = fields["vendor"].flatMap { usbId($0, path + ".vendor") }
        let product = fields["product"].flatMap { usbId($0, path + ".product") }
        let serial = fields["serial"].flatMap { reader.string($0, path + ".serial") }
        let mode = fields["mode"].map { reader.choice($0, path + ".mode", MediaAction.self) } ?? .readOnly
        // Absent `expires` is a valid entry that never expires (.some(nil)); present but invalid is nil.
        let expires: Timestamp?? = fields["expires"].map { reader.timestamp($0, path + ".expires") } ?? .some(nil)
        let reason = fields["reason"].flatMap { reader.string($0, path + ".reason") }
        guard let vendor, let product, let serial, let mode, let expires, let reason else { return nil }
        guard mode == .readOnly || mode == .readWrite else {
            reader.error(at: fields["mode"] ?? node, path + ".mode",
                         "an allow-list entry grants `read-only` or `read-write`; to block a device, leave it off the list")
            return nil
        }
        return MediaAllowEntry(vendor: vendor, product: product, serial: serial == "*" ? nil : serial,
                               mode: mode, expires: expires, reason: reason)
    }

    mutating func usbId(_ node: Node, _ path: String) -> String? {
        guard let text = reader.string(node, path) else { return nil }
        guard text.count == 4, text.allSatisfy(\.isHexDigit), text.allSatisfy(\.isASCII) else {
            reader.error(at: node, path, "expected four hex digits such as 0781, found `\(text)`")
            return nil
        }
        return text.lowercased()
    }
}

// MARK: MFA (policy 6(3)①: multi-factor authentication on the terminal)

extension ProfileBuilder {
    static let mfaKeys = ["services", "factors", "time_step", "window", "lockout", "exempt_accounts", "recovery_codes"]

    mutating func mfa(_ node: Node) -> MFARules? {
        guard let fields = reader.mapping(node, "mfa", allowed: Self.mfaKeys) else { return nil }
        let defaults = MFARules.default
        let services = fields["services"].map {
            reader.stringList($0, "mfa.services") { Self.isIdentifier($0) ? nil : "`\($0)` is not a PAM service name" }
        } ?? defaults.services
        let factors = fields["factors"].map { factorList($0) } ?? defaults.factors
        let timeStep = fields["time_step"].map { reader.duration($0, "mfa.time_step", in: 15...120) } ?? Int64(defaults.timeStep)
        let window = fields["window"].map { reader.integer($0, "mfa.window", in: 0...5) } ?? Int64(defaults.window)
        let lockout = fields["lockout"].map { self.lockout($0) } ?? (defaults.lockoutThreshold, defaults.lockoutDuration, defaults.maxLockouts)
        let exempt = fields["exempt_accounts"].map {
            reader.stringList($0, "mfa.exempt_accounts") { Self.isAccountName($0) ? nil : "`\($0)` is not a user name" }
        } ?? defaults.exemptAccounts
        let recovery = fields["recovery_codes"].map { recoveryCodes($0) } ?? (defaults.recoveryCodesEnabled, defaults.recoveryCodeCount)
        guard let services, let factors, let timeStep, let window, let lockout, let exempt, let recovery else { return nil }
        return MFARules(services: services, factors: factors, timeStep: Int(timeStep), window: Int(window),
                        lockoutThreshold: lockout.0, lockoutDuration: lockout.1, maxLockouts: lockout.2, exemptAccounts: exempt,
                        recoveryCodesEnabled: recovery.0, recoveryCodeCount: recovery.1)
    }

    static func isAccountName(_ text: String) -> Bool {
        text.count <= 32 && !text.isEmpty && text.unicodeScalars.allSatisfy {
            ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" || $0 == "_" || $0 == "."
        }
    }

    mutating func factorList(_ node: Node) -> [OTPFactor]? {
        guard let names = reader.stringList(node, "mfa.factors") else { return nil }
        var factors: [OTPFactor] = []
        for (index, name) in names.enumerated() {
            guard let factor = OTPFactor(rawValue: name) else {
                let itemNode = reader.list(node, "mfa.factors")?[index]
                reader.error(at: itemNode, "mfa.factors[\(index)]", "`\(name)` is not a factor; use totp or hotp"
                    + ProfileNodeReader.suggestion(name, OTPFactor.allCases.map(\.rawValue)))
                return nil
            }
            factors.append(factor)
        }
        guard !factors.isEmpty else {
            reader.error(at: node, "mfa.factors", "at least one factor is needed (totp or hotp)")
            return nil
        }
        return factors
    }

    mutating func lockout(_ node: Node) -> (Int, Int64, Int)? {
        guard let fields = reader.mapping(node, "mfa.lockout", allowed: ["threshold", "duration", "max_lockouts"]) else { return nil }
        // NIST SP 800-63B allows at most 100 consecutive failures before lockout.
        let threshold = fields["threshold"].map { reader.integer($0, "mfa.lockout.threshold", in: 1...100) } ?? 5
        let duration = fields["duration"].map { reader.duration($0, "mfa.lockout.duration", in: 60...86_400) } ?? 900
        guard let threshold, let duration else { return nil }
        // Unless given: as many lockouts as fit in 100 failures, at most 10.
        let fitting = max(1, min(10, 100 / threshold))
        guard let maxLockouts = fields["max_lockouts"].map({ reader.integer($0, "mfa.lockout.max_lockouts", in: 1...100) }) ?? Int64(fitting) else {
            return nil
        }
        if threshold * maxLockouts > 100 {
            reader.error(at: fields["max_lockouts"] ?? node, "mfa.lockout.max_lockouts",
                         "threshold × max_lockouts is \(threshold * maxLockouts) failures; NIST SP 800-63B allows at most 100 before an administrator must unlock")
            return nil
        }
        return (Int(threshold), duration, Int(maxLockouts))
    }

    mutating func recoveryCodes(_ node: Node) -> (Bool, Int)? {
        guard let fields = reader.mapping(node, "mfa.recovery_codes", allowed: ["enabled", "count"]) else { return nil }
        let enabled = fields["enabled"].map { reader.bool($0, "mfa.recovery_codes.enabled") } ?? true
        let count = fields["count"].map { reader.integer($0, "mfa.recovery_codes.count", in: 1...20) } ?? 10
        guard let enabled, let count else { return nil }
        return (enabled, Int(count))
    }
}

// MARK: Network (policy 6(3)①: no communication with other zones)

extension ProfileBuilder {
    mutating func network(_ node: Node) -> NetworkRules? {
        guard let fields = reader.mapping(node, "network", allowed: ["allowed_destinations", "wireless_allowed"]) else { return nil }
        let destinations = fields["allowed_destinations"].map { destinationList($0) } ?? []
        let wireless = fields["wireless_allowed"].map { reader.bool($0, "network.wireless_allowed") } ?? false
        guard let destinations, let wireless else { return nil }
        return NetworkRules(allowedDestinations: destinations, wirelessAllowed: wireless)
    }

    mutating func destinationList(_ node: Node) -> [NetworkDestination]? {
        guard let items = reader.list(node, "network.allowed_destinations") else { return nil }
        var out: [NetworkDestination] = []
        var ok = true
        for (index, item) in items.enumerated() {
            if let destination = destination(item, "network.allowed_destinations[\(index)]") { out.append(destination) } else { ok = false }
        }
        return ok ? out : nil
    }

    mutating func destination(_ node: Node, _ path: String) -> NetworkDestination? {
        guard let fields = reader.mapping(node, path, allowed: ["cidr", "ports", "protocol", "description"],
                                          required: ["cidr", "ports"]) else { return nil }
        let cidr = fields["cidr"].flatMap { cidrValue($0, path + ".cidr") }
        let ports = fields["ports"].flatMap { portList($0, path + ".ports") }
        let transport = fields["protocol"].map { reader.choice($0, path + ".protocol", TransportProtocol.self) } ?? .tcp
        let description = fields["description"].flatMap { reader.string($0, path + ".description") }
        guard let cidr, let ports, let transport else { return nil }
        return NetworkDestination(cidr: cidr, ports: ports, transport: transport, description: description)
    }

    mutating func cidrValue(_ node: Node, _ path: String) -> CIDR? {
        guard let text = reader.string(node, path) else { return nil }
        switch CIDR.parse(text) {
        case .failure(let problem):
            reader.error(at: node, path, "`\(text)`: \(problem)")
            return nil
        case .success(let cidr):
            guard cidr.prefixLength > 0 else {
                reader.error(at: node, path, "`\(text)` allows every destination; policy 6(3)① forbids communication with other zones")
                return nil
            }
            return cidr
        }
    }

    mutating func portList(_ node: Node, _ path: String) -> [Int]? {
        guard let items = reader.list(node, path) else { return nil }
        guard !items.isEmpty else {
            reader.error(at: node, path, "list at least one port")
            return nil
        }
        var ports: [Int] = []
        for (index, item) in items.enumerated() {
            guard let port = reader.integer(item, "\(path)[\(index)]", in: 1...65_535) else { return nil }
            ports.append(Int(port))
        }
        return ports
    }
}
