/// Reads one `match` expression of nft's JSON into accept constraints. Only `==` and `in` narrow;
/// a negated or unknown match is ignored, which can only widen what the rule is taken to accept.
struct NftMatchReader {
    let ruleset: NftRuleset
    let table: NftRuleset.ChainKey

    mutating func apply(_ body: JSONValue, to constraints: inout NftAcceptConstraints) {
        guard let op = body["op"]?.stringValue, op == "==" || op == "in",
              let left = body["left"], let right = body["right"] else { return }
        if left["concat"] != nil {
            constraints.unreadable = "a concatenated match is not analysed"
            return
        }
        if let payload = left["payload"] {
            applyPayload(payload, right, to: &constraints)
        } else if let meta = left["meta"]?["key"]?.stringValue {
            applyMeta(meta, right, to: &constraints)
        } else if left["ct"]?["key"]?.stringValue == "state" {
            let states = Set(elements(right).compactMap(\.stringValue))
            if !states.isEmpty, states.isSubset(of: ["established", "related"]) { constraints.establishedOnly = true }
        }
    }

    mutating func applyPayload(_ payload: JSONValue, _ right: JSONValue, to constraints: inout NftAcceptConstraints) {
        let proto = payload["protocol"]?.stringValue
        switch (proto, payload["field"]?.stringValue) {
        case ("ip", "daddr"), ("ip6", "daddr"):
            guard let ranges = addresses(right) else {
                constraints.unreadable = "a destination address match is not understood"
                return
            }
            // Two daddr matches in one rule accept their intersection: keeping the last is a superset.
            constraints.addresses = ranges
        case ("tcp", "dport"), ("udp", "dport"):
            let transport: TransportProtocol = proto == "tcp" ? .tcp : .udp
            constraints.protocols = (constraints.protocols ?? [transport]).intersection([transport])
            narrowPorts(right, &constraints)
        case ("th", "dport"):
            narrowPorts(right, &constraints)
        case ("ip", "protocol"), ("ip6", "nexthdr"):
            narrowProtocols(right, &constraints)
        default:
            return
        }
    }

    mutating func applyMeta(_ key: String, _ right: JSONValue, to constraints: inout NftAcceptConstraints) {
        switch key {
        case "oif", "oifname":
            let names = elements(right).compactMap(\.stringValue)
            if names == ["lo"] { constraints.loopback = true }
        case "l4proto":
            narrowProtocols(right, &constraints)
        default:
            return
        }
    }

    mutating func narrowProtocols(_ right: JSONValue, _ constraints: inout NftAcceptConstraints) {
        var found: Set<TransportProtocol> = []
        var other = false
        for value in elements(right) {
            switch value.stringValue ?? value.intValue.map(String.init) {
            case "tcp", "6": found.insert(.tcp)
            case "udp", "17": found.insert(.udp)
            default: other = true
            }
        }
        if other {
            // icmp, sctp…: not a transport any allowed destination names.
            constraints.unreadable = constraints.unreadable ?? "accepts a protocol other than tcp or udp"
        }
        constraints.protocols = constraints.protocols.map { $0.intersection(found) } ?? found
    }

    mutating func narrowPorts(_ right: JSONValue, _ constraints: inout NftAcceptConstraints) {
        var ranges: [ClosedRange<Int>] = []
        for value in elements(right) {
            if let port = value.intValue, (0...65535).contains(port) {
                ranges.append(Int(port)...Int(port))
            } else if let pair = value["range"]?.arrayValue, pair.count == 2, let low = pair[0].intValue, let high = pair[1].intValue,
                      low <= high, low >= 0, high <= 65535 {
                ranges.append(Int(low)...Int(high))
            } else {
                constraints.unreadable = "a port match is not understood"
                return
            }
        }
        constraints.ports = constraints.ports ?? ranges
    }

    /// A value, an anonymous set's members, or a named set's elements (`@name`); `{"elem":{"val":…}}` unwrapped.
    func elements(_ value: JSONValue) -> [JSONValue] {
        let items: [JSONValue]
        if let members = value["set"]?.arrayValue {
            items = members
        } else if let members = value.arrayValue {
            items = members
        } else if let name = value.stringValue, name.hasPrefix("@") {
            let key = NftRuleset.ChainKey(family: table.family, table: table.table, name: String(name.dropFirst()))
            items = ruleset.sets[key] ?? [.string("@unknown")]
        } else {
            items = [value]
        }
        return items.map { $0["elem"]?["val"] ?? $0 }
    }

    func addresses(_ right: JSONValue) -> [AddressRange]? {
        var ranges: [AddressRange] = []
        for value in elements(right) {
            if let text = value.stringValue, let address = AddressRange.parse(text) {
                ranges.append(AddressRange(low: address, high: address))
            } else if let prefix = value["prefix"], let text = prefix["addr"]?.stringValue, let address = AddressRange.parse(text),
                      let length = prefix["len"]?.intValue, length >= 0, Int(length) <= address.count * 8 {
                ranges.append(AddressRange(prefix: address, length: Int(length)))
            } else if let pair = value["range"]?.arrayValue, pair.count == 2,
                      let low = pair[0].stringValue.flatMap(AddressRange.parse), let high = pair[1].stringValue.flatMap(AddressRange.parse),
                      low.count == high.count {
                ranges.append(AddressRange(low: low, high: high))
            } else {
                return nil
            }
        }
        return ranges
    }
}
