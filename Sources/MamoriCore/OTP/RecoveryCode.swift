import Crypto

/// A break-glass recovery code, stored only as a salted SHA-256 hash. The plain code is shown
/// once at enrolment and never written anywhere.
public struct RecoveryCodeHash: Sendable, Hashable {
    public let salt: [UInt8]
    public let digest: Digest32

    public init?(salt: [UInt8], digest: Digest32) {
        guard salt.count == RecoveryCode.saltLength else { return nil }
        self.salt = salt
        self.digest = digest
    }

    public func matches(_ code: String) -> Bool {
        RecoveryCode.hash(code, salt: salt).constantTimeEquals(digest)
    }
}

public enum RecoveryCode {
    public static let saltLength = 16
    /// Twelve symbols from a 31-letter alphabet (about 59 bits), shown as `xxxx-xxxx-xxxx`.
    public static let symbolCount = 12
    /// No 0/o, 1/l/i: codes are read off paper in a hurry.
    static let alphabet = Array("abcdefghjkmnpqrstuvwxyz23456789".utf8)

    /// A code from `random` (at least `symbolCount` uniformly random bytes).
    public static func make(random: [UInt8]) -> String? {
        guard random.count >= symbolCount else { return nil }
        var out: [UInt8] = []
        for index in 0..<symbolCount {
            if index > 0 && index % 4 == 0 { out.append(UInt8(ascii: "-")) }
            out.append(alphabet[Int(random[index]) % alphabet.count])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// What the user typed, reduced to the symbols: lower case, separators and spaces dropped.
    public static func normalize(_ code: String) -> [UInt8] {
        var out: [UInt8] = []
        for byte in code.utf8 where byte != UInt8(ascii: "-") && byte != UInt8(ascii: " ") {
            out.append(byte >= 0x41 && byte <= 0x5A ? byte + 0x20 : byte)
        }
        return out
    }

    public static func hash(_ code: String, salt: [UInt8]) -> Digest32 {
        var hasher = SHA256()
        hasher.update(data: Array("mamori-recovery-v1\u{0}".utf8))
        hasher.update(data: salt)
        hasher.update(data: normalize(code))
        return hasher.finalize().withUnsafeBytes { Digest32(raw: $0) }
    }

    public static func hashed(_ code: String, salt: [UInt8]) -> RecoveryCodeHash? {
        RecoveryCodeHash(salt: salt, digest: hash(code, salt: salt))
    }
}
