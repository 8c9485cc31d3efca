/// The parts of `nft -j list ruleset` the egress check reads: chains, their rules in order, and
/// named sets (for `ip daddr @zone`).
struct NftRuleset {
    struct ChainKey: Hashable { var family: String; var table: String; var name: String }

    struct Chain {
        var key: ChainKey
        var type: String?
        var hook: String?
        var policy: String?
        var rules: [Rule] = []
    }

    struct Rule {
        var handle: Int64?
        var statements: [JSONValue]
    }

    var chains: [ChainKey: Chain] = [:]
    var order: [ChainKey] = []
    var sets: [ChainKey: [JSONValue]] = [:]

    enum ParseError: Error { case invalid(String) }

    static func parse(_ text: String) throws(ParseError) -> NftRuleset {
        let root: JSONValue
        do { root = try JSONValue.parse(text) } catch { throw .invalid("\(error)") }
        guard let items = root["nftables"]?.arrayValue else { throw .invalid("no top-level `nftables` array") }
        var ruleset = NftRuleset()
        for item in items {
            guard let object = item.objectValue, object.count == 1, let (kind, body) = object.first else {
                throw .invalid("an entry of `nftables` is not a one-member object")
            }
            try ruleset.add(kind: kind, body)
        }
        return ruleset
    }

    mutating func add(kind: String, _ body: JSONValue) throws(ParseError) {
        switch kind {
        case "chain":
            let key = try Self.key(body, nameField: "name")
            chains[key] = Chain(key: key, type: body["type"]?.stringValue, hook: body["hook"]?.stringValue, policy: body["policy"]?.stringValue)
            order.append(key)
        case "rule":
            let key = try Self.key(body, nameField: "chain")
            guard chains[key] != nil else { throw .invalid("a rule of unknown chain \(key.family) \(key.table) \(key.name)") }
            guard let statements = body["expr"]?.arrayValue else { throw .invalid("a rule in \(key.name) without `expr`") }
            chains[key]?.rules.append(Rule(handle: body["handle"]?.intValue, statements: statements))
        case "set", "map":
            let key = try Self.key(body, nameField: "name")
            sets[key] = body["elem"]?.arrayValue ?? []
        default:
            break
        }
    }

    static func key(_ body: JSONValue, nameField: String) throws(ParseError) -> ChainKey {
        guard let family = body["family"]?.stringValue, let table = body["table"]?.stringValue,
              let name = body[nameField]?.stringValue else { throw .invalid("an object without family, table and \(nameField)") }
        return ChainKey(family: family, table: table, name: name)
    }
}

/// What one accept (or queue) path of a rule lets out, gathered from its matches. Matches the
/// analysis does not understand are left out: that can only make the accepted set larger.
struct NftAcceptConstraints {
    var addresses: [AddressRange]?
    var protocols: Set<TransportProtocol>?
    var ports: [ClosedRange<Int>]?
    var loopback = false
    var establishedOnly = false
    /// Why the accepted set could not be read (a concatenation, an unknown set): the rule fails.
    var unreadable: String?
}

/// An inclusive range of IPv4 (4 bytes) or IPv6 (16 bytes) addresses.
struct AddressRange: Equatable {
    var low: [UInt8]
    var high: [UInt8]

    var isIPv4: Bool { low.count == 4 }

    init(low: [UInt8], high: [UInt8]) { self.low = low; self.high = high }

    init(prefix address: [UInt8], length: Int) {
        low = CIDR.mask(address, prefix: length)
        high = low.enumerated().map { index, byte in
            let bits = max(0, min(8, length - index * 8))
            return bits == 8 ? byte : byte | UInt8(truncatingIfNeeded: 0xFF >> bits)
        }
    }

    func isInside(_ cidr: CIDR) -> Bool {
        cidr.address.count == low.count
            && CIDR.mask(low, prefix: cidr.prefixLength) == cidr.address
            && CIDR.mask(high, prefix: cidr.prefixLength) == cidr.address
    }

    var description: String {
        let lowText = Self.text(low), highText = Self.text(high)
        return lowText == highText ? lowText : lowText + "-" + highText
    }

    static func text(_ bytes: [UInt8]) -> String {
        if bytes.count == 4 { return bytes.map(String.init).joined(separator: ".") }
        return CIDR(address: bytes, prefixLength: 128).description.split(separator: "/").first.map(String.init) ?? "?"
    }

    static func parse(_ text: String) -> [UInt8]? {
        CIDR.parseIPv4(Substring(text)) ?? CIDR.parseIPv6(Substring(text))
    }
}
