import Foundation

/// An IPv4 or IPv6 network in CIDR notation, with no host bits set.
public struct CIDR: Sendable, Hashable, CustomStringConvertible {
    /// 4 bytes (IPv4) or 16 bytes (IPv6), network order.
    public let address: [UInt8]
    public let prefixLength: Int

    public var isIPv4: Bool { address.count == 4 }

    public var description: String {
        let text: String
        if isIPv4 {
            text = address.map(String.init).joined(separator: ".")
        } else {
            text = stride(from: 0, to: 16, by: 2)
                .map { String(UInt16(address[$0]) << 8 | UInt16(address[$0 + 1]), radix: 16) }
                .joined(separator: ":")
        }
        return text + "/" + String(prefixLength)
    }

    public enum ParseError: Error, Sendable, Equatable, CustomStringConvertible {
        case syntax
        case hostBitsSet(network: String)

        public var description: String {
            switch self {
            case .syntax: return "expected an IPv4 or IPv6 network such as 10.20.0.0/16"
            case .hostBitsSet(let network): return "host bits are set; the network is \(network)"
            }
        }
    }

    /// Parses `ADDRESS/PREFIX`; the prefix is required so that a bare host is written `/32`.
    public static func parse(_ text: String) -> Result<CIDR, ParseError> {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let prefix = Int(parts[1]), parts[1].allSatisfy(\.isASCII) else { return .failure(.syntax) }
        guard let address = parseIPv4(parts[0]) ?? parseIPv6(parts[0]) else { return .failure(.syntax) }
        guard prefix >= 0, prefix <= address.count * 8 else { return .failure(.syntax) }
        let masked = mask(address, prefix: prefix)
        if masked != address {
            return .failure(.hostBitsSet(network: CIDR(address: masked, prefixLength: prefix).description))
        }
        return .success(CIDR(address: address, prefixLength: prefix))
    }

    init(address: [UInt8], prefixLength: Int) {
        self.address = address
        self.prefixLength = prefixLength
    }

    static func mask(_ address: [UInt8], prefix: Int) -> [UInt8] {
        address.enumerated().map { index, byte in
            let bits = max(0, min(8, prefix - index * 8))
            return bits == 0 ? 0 : byte & UInt8(truncatingIfNeeded: 0xFF << (8 - bits))
        }
    }

    static func parseIPv4(_ text: Substring) -> [UInt8]? {
        let octets = text.split(separator: ".", omittingEmptySubsequences: false)
        guard octets.count == 4 else { return nil }
        var out: [UInt8] = []
        for octet in octets {
            guard !octet.isEmpty, octet.count <= 3, octet.allSatisfy({ $0.isASCII && $0.isNumber }),
                  let value = UInt8(octet) else { return nil }
            out.append(value)
        }
        return out
    }

    static func parseIPv6(_ text: Substring) -> [UInt8]? {
        let halves = text.components(separatedBy: "::")
        guard halves.count <= 2 else { return nil }
        func groups(_ part: String) -> [UInt16]? {
            if part.isEmpty { return [] }
            var out: [UInt16] = []
            for group in part.split(separator: ":", omittingEmptySubsequences: false) {
                guard (1...4).contains(group.count), group.allSatisfy(\.isHexDigit),
                      let value = UInt16(group, radix: 16) else { return nil }
                out.append(value)
            }
            return out
        }
        guard let head = groups(halves[0]) else { return nil }
        var all = head
        if halves.count == 2 {
            guard let tail = groups(halves[1]), head.count + tail.count < 8 else { return nil }
            all += [UInt16](repeating: 0, count: 8 - head.count - tail.count) + tail
        }
        guard all.count == 8 else { return nil }
        return all.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xFF)] }
    }
}
