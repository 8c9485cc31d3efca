/// Lower-case hexadecimal, the only spelling of bytes in Mamori's text formats.
public enum Hex {
    static let digits: [UInt8] = Array("0123456789abcdef".utf8)

    /// Encodes bytes as lower-case hexadecimal.
    public static func encode<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.underestimatedCount * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes hexadecimal (either case). Returns nil on odd length or a non-hex character.
    public static func decode(_ text: some StringProtocol) -> [UInt8]? {
        decode(utf8: Array(text.utf8))
    }

    public static func decode(utf8: some Collection<UInt8>) -> [UInt8]? {
        guard utf8.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(utf8.count / 2)
        var high: UInt8 = 0
        var isHigh = true
        for char in utf8 {
            guard let nibble = nibble(char) else { return nil }
            if isHigh { high = nibble } else { out.append(high << 4 | nibble) }
            isHigh.toggle()
        }
        return out
    }

    /// Decodes exactly 64 lower-case hex digits into 32 bytes; the journal's strict form.
    static func decodeLower32(_ buffer: UnsafeBufferPointer<UInt8>, from start: Int) -> Digest32? {
        guard start + 64 <= buffer.count else { return nil }
        var result = Digest32()
        var ok = true
        withUnsafeMutableBytes(of: &result.storage) { raw in
            for index in 0..<32 {
                let high = lowerNibble(buffer[start + 2 * index])
                let low = lowerNibble(buffer[start + 2 * index + 1])
                if high > 15 || low > 15 { ok = false; return }
                raw[index] = high << 4 | low
            }
        }
        return ok ? result : nil
    }

    static func lowerNibble(_ char: UInt8) -> UInt8 {
        switch char {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return char &- UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return char &- UInt8(ascii: "a") &+ 10
        default: return 0xFF
        }
    }

    static func nibble(_ char: UInt8) -> UInt8? {
        switch char {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return char - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return char - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return char - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}

/// Thirty-two bytes held inline (a SHA-256 digest, a MAC, a key): no heap allocation per record.
public struct Digest32: Hashable, Sendable, CustomStringConvertible {
    var storage: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)

    public init() {}

    public init?(_ bytes: some Collection<UInt8>) {
        guard bytes.count == 32 else { return nil }
        withUnsafeMutableBytes(of: &storage) { raw in
            for (index, byte) in bytes.enumerated() { raw[index] = byte }
        }
    }

    /// From exactly 32 raw bytes (a digest's or MAC's storage).
    public init(raw: UnsafeRawBufferPointer) {
        precondition(raw.count == 32)
        withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: raw) }
    }

    public init?(hex: some StringProtocol) {
        guard let bytes = Hex.decode(hex), bytes.count == 32 else { return nil }
        self.init(bytes)
    }

    public static let zero = Digest32()

    public var bytes: [UInt8] { withUnsafeBytes(of: storage) { Array($0) } }
    public var hex: String { Hex.encode(bytes) }
    public var description: String { hex }

    public static func == (lhs: Digest32, rhs: Digest32) -> Bool {
        lhs.storage.0 == rhs.storage.0 && lhs.storage.1 == rhs.storage.1
            && lhs.storage.2 == rhs.storage.2 && lhs.storage.3 == rhs.storage.3
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(storage.0)
        hasher.combine(storage.1)
        hasher.combine(storage.2)
        hasher.combine(storage.3)
    }

    /// Constant-time comparison, for secrets and MACs.
    public func constantTimeEquals(_ other: Digest32) -> Bool {
        let diff = (storage.0 ^ other.storage.0) | (storage.1 ^ other.storage.1)
            | (storage.2 ^ other.storage.2) | (storage.3 ^ other.storage.3)
        return diff == 0
    }

    /// Writes the 64 lower-case hex digits into `out`.
    func appendHex(to out: inout [UInt8]) {
        withUnsafeBytes(of: storage) { raw in
            for byte in raw {
                out.append(Hex.digits[Int(byte >> 4)])
                out.append(Hex.digits[Int(byte & 0x0F)])
            }
        }
    }
}
