/// Decides from `nft -j list ruleset` whether outbound traffic is limited to the profile's
/// allowed destinations (policy 6(3)①).
///
/// nftables runs every base chain on the `output` hook and a packet leaves only if none of them
/// drops it, so one restricting chain is enough: a `filter` chain on the `output` hook whose
/// policy is `drop` (or whose rules end in an unconditional `drop`/`reject`) and whose every
/// `accept` — directly or in a chain it jumps to — is either loopback (`oif`/`oifname "lo"`),
/// `ct state` established/related only, or limited to destination addresses inside an allowed
/// CIDR *and* to that destination's protocol and ports. An `inet` chain covers IPv4 and IPv6,
/// `ip` and `ip6` chains one each; both families must be covered.
public enum EgressRulesetAnalyzer {
    enum Family: Hashable { case ipv4, ipv6 }

    public static func evaluate(rulesetJSON: String, allowed: [NetworkDestination]) -> PostureOutcome {
        let ruleset: NftRuleset
        do { ruleset = try NftRuleset.parse(rulesetJSON) } catch {
            switch error { case .invalid(let reason): return .cannotDecide(reason: "nft ruleset unreadable: \(reason)") }
        }
        var covered: Set<Family> = []
        var good: [String] = []
        var problems: [String] = []
        for key in ruleset.order {
            guard let chain = ruleset.chains[key], chain.hook == "output", chain.type == "filter" else { continue }
            let families: Set<Family> = switch key.family {
            case "inet": [.ipv4, .ipv6]
            case "ip": [.ipv4]
            case "ip6": [.ipv6]
            default: []
            }
            guard !families.isEmpty else { continue }
            var walker = EgressChainWalker(ruleset: ruleset, allowed: allowed)
            let name = "\(key.family) \(key.table) \(key.name)"
            switch walker.judge(chain) {
            case .limits(let accepts):
                covered.formUnion(families)
                good.append("\(name): \(walker.terminator) with \(accepts) accept rule(s) within the allowed destinations")
            case .fails(let reasons):
                problems.append("\(name): " + reasons.joined(separator: "; "))
            }
        }
        if covered.isSuperset(of: [.ipv4, .ipv6]) { return .meetsPolicy(evidence: good.joined(separator: "; ")) }
        var missing: [String] = []
        if !covered.contains(.ipv4) { missing.append("IPv4") }
        if !covered.contains(.ipv6) { missing.append("IPv6") }
        let head = problems.isEmpty && good.isEmpty
            ? "no filter chain on the output hook"
            : (problems + good).joined(separator: "; ")
        return .failsToMeetPolicy(reason: "\(missing.joined(separator: " and ")) egress not limited: \(head)")
    }
}

/// Walks one output chain (and the chains it jumps to) looking for accepts outside the zone.
struct EgressChainWalker {
    enum Verdict { case limits(accepts: Int), fails([String]) }

    let ruleset: NftRuleset
    let allowed: [NetworkDestination]
    var accepts = 0
    var problems: [String] = []
    var terminator = ""

    init(ruleset: NftRuleset, allowed: [NetworkDestination]) {
        self.ruleset = ruleset
        self.allowed = allowed
    }

    mutating func judge(_ chain: NftRuleset.Chain) -> Verdict {
        let cut = chain.rules.firstIndex(where: Self.isUnconditionalDrop)
        if chain.policy == "drop" {
            terminator = "policy drop"
        } else if let cut {
            terminator = "ends in an unconditional drop (handle \(chain.rules[cut].handle.map(String.init) ?? "?"))"
        } else {
            return .fails(["policy \(chain.policy ?? "accept") and no unconditional drop"])
        }
        walk(Array(chain.rules[..<(cut ?? chain.rules.count)]), chain: chain.key, inherited: NftAcceptConstraints(), depth: 0, path: [chain.key.name])
        return problems.isEmpty ? .limits(accepts: accepts) : .fails(problems)
    }

    static func isUnconditionalDrop(_ rule: NftRuleset.Rule) -> Bool {
        var sawVerdict = false
        for statement in rule.statements {
            guard let name = statement.objectValue?.keys.first else { return false }
            switch name {
            case "counter", "log", "limit": continue
            case "drop", "reject": sawVerdict = true
            default: return false
            }
        }
        return sawVerdict
    }

    mutating func walk(_ rules: [NftRuleset.Rule], chain: NftRuleset.ChainKey, inherited: NftAcceptConstraints, depth: Int, path: [String]) {
        for rule in rules {
            var constraints = inherited
            let place = "\(chain.name) handle \(rule.handle.map(String.init) ?? "?")"
            for statement in rule.statements {
                guard let (name, body) = statement.objectValue?.first else { continue }
                switch name {
                case "match":
                    var reader = NftMatchReader(ruleset: ruleset, table: chain)
                    reader.apply(body, to: &constraints)
                case "accept", "queue":
                    check(constraints, at: place)
                case "jump", "goto":
                    follow(body["target"]?.stringValue, from: chain, constraints: constraints, depth: depth, path: path, place: place)
                case "vmap":
                    problems.append("\(place): a verdict map is not analysed")
                default:
                    continue
                }
                if ["accept", "queue", "drop", "reject", "jump", "goto", "return", "vmap"].contains(name) { break }
            }
        }
    }

    mutating func follow(_ target: String?, from chain: NftRuleset.ChainKey, constraints: NftAcceptConstraints, depth: Int, path: [String], place: String) {
        guard let target else { problems.append("\(place): a jump without a target"); return }
        let key = NftRuleset.ChainKey(family: chain.family, table: chain.table, name: target)
        guard let next = ruleset.chains[key] else { problems.append("\(place): jump to unknown chain \(target)"); return }
        guard !path.contains(target), depth < 16 else { problems.append("\(place): jump loop through \(target)"); return }
        let cut = next.rules.firstIndex(where: Self.isUnconditionalDrop) ?? next.rules.count
        walk(Array(next.rules[..<cut]), chain: key, inherited: constraints, depth: depth + 1, path: path + [target])
    }

    mutating func check(_ constraints: NftAcceptConstraints, at place: String) {
        if let reason = constraints.unreadable { problems.append("\(place): \(reason)"); return }
        if constraints.loopback || constraints.establishedOnly { return }
        accepts += 1
        guard let addresses = constraints.addresses else { problems.append("\(place): accepts without a destination address"); return }
        guard let protocols = constraints.protocols else { problems.append("\(place): accepts any protocol to \(list(addresses))"); return }
        guard let ports = constraints.ports else { problems.append("\(place): accepts any port to \(list(addresses))"); return }
        for address in addresses {
            for transport in protocols.sorted(by: { $0.rawValue < $1.rawValue }) {
                for range in ports where !covered(address, transport, range) {
                    let portText = range.lowerBound == range.upperBound ? "\(range.lowerBound)" : "\(range.lowerBound)-\(range.upperBound)"
                    problems.append("\(place): accepts \(address.description) \(transport.rawValue)/\(portText), outside the allowed destinations")
                    return
                }
            }
        }
    }

    func covered(_ address: AddressRange, _ transport: TransportProtocol, _ ports: ClosedRange<Int>) -> Bool {
        let candidates = allowed.filter { $0.transport == transport && address.isInside($0.cidr) }
        return ports.allSatisfy { port in candidates.contains { $0.ports.contains(port) } }
    }

    func list(_ addresses: [AddressRange]) -> String {
        addresses.prefix(4).map(\.description).joined(separator: ", ")
    }
}
