import MamoriCore

/// `network.no-wireless` and `network.egress-zone-only`.
enum NetworkPostureChecks {
    /// An interface is wireless when sysfs gives it a `wireless` directory or a `phy80211` link;
    /// it is up when administratively up (IFF_UP in `flags`) or its `operstate` is `up`.
    /// A terminal without wireless hardware passes: the evidence says none was found.
    static func noWireless(_ context: PostureContext) -> PostureOutcome {
        let files = PostureFiles(root: context.root)
        guard let interfaces = files.list("/sys/class/net") else {
            return .cannotDecide(reason: "/sys/class/net is unreadable")
        }
        let wireless = interfaces.filter { files.exists("/sys/class/net/\($0)/wireless") || files.exists("/sys/class/net/\($0)/phy80211") }
        var up: [String] = []
        for name in wireless {
            switch isUp(name, files: files) {
            case .some(true): up.append(name)
            case .some(false): continue
            case .none: return .cannotDecide(reason: "\(name): flags and operstate unreadable")
            }
        }
        if context.network.wirelessAllowed {
            return .meetsPolicy(evidence: "the profile allows wireless (network.wireless_allowed); up: \(up.isEmpty ? "none" : up.joined(separator: ", "))")
        }
        if !up.isEmpty { return .failsToMeetPolicy(reason: up.map { "\($0) is up" }.joined(separator: ", ")) }
        if wireless.isEmpty { return .meetsPolicy(evidence: "no wireless interface") }
        return .meetsPolicy(evidence: "wireless interface(s) down: " + wireless.joined(separator: ", "))
    }

    static func isUp(_ name: String, files: PostureFiles) -> Bool? {
        let flags: UInt32? = switch files.text("/sys/class/net/\(name)/flags") {
        case .success(let text?): UInt32(text.trimmingSpaces.replacing("0x", with: ""), radix: 16)
        default: nil
        }
        let operstate: String? = switch files.text("/sys/class/net/\(name)/operstate") {
        case .success(let text?): text.trimmingSpaces
        default: nil
        }
        if flags == nil && operstate == nil { return nil }
        return (flags.map { $0 & 0x1 != 0 } ?? false) || operstate == "up"
    }

    static func egressZoneOnly(_ context: PostureContext) -> PostureOutcome {
        switch context.sources.nftRuleset() {
        case .failure(let error): return .cannotDecide(reason: "nftables ruleset unreadable: \(error)")
        case .success(let json): return EgressRulesetAnalyzer.evaluate(rulesetJSON: json, allowed: context.network.allowedDestinations)
        }
    }
}
