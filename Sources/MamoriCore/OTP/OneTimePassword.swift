import Crypto

/// The HMAC hash an OATH token uses (RFC 6238 §1.2 allows SHA-1, SHA-256 and SHA-512).
public enum OTPHashAlgorithm: String, Sendable, CaseIterable, Hashable {
    case sha1 = "SHA1"
    case sha256 = "SHA256"
    case sha512 = "SHA512"
}

/// Parameters of one OATH secret, validated once so that code generation cannot trap:
/// 6–8 digits, a secret of 10–128 bytes (RFC 4226 §4 asks for at least 128 bits; 80 is what
/// many hardware tokens ship), a TOTP step of 1–3600 seconds.
public struct OTPParameters: Sendable, Hashable {
    public let algorithm: OTPHashAlgorithm
    public let digits: Int
    public let timeStep: Int64

    public static let digitRange = 6...8
    public static let timeStepRange: ClosedRange<Int64> = 1...3600

    public init?(algorithm: OTPHashAlgorithm = .sha1, digits: Int = 6, timeStep: Int64 = 30) {
        guard Self.digitRange.contains(digits), Self.timeStepRange.contains(timeStep) else { return nil }
        self.algorithm = algorithm
        self.digits = digits
        self.timeStep = timeStep
    }

    public static let standard = OTPParameters()!
}

/// HOTP (RFC 4226) and TOTP (RFC 6238) code generation. Pure: time is an argument.
public enum OneTimePassword {
    public static let secretByteRange = 10...128

    /// The HOTP value for `counter`, as the integer the token shows (leading zeros dropped).
    public static func hotp(secret: [UInt8], counter: UInt64, parameters: OTPParameters) -> UInt32 {
        HOTPGenerator(secret: secret, parameters: parameters).value(counter: counter)
    }

    /// The TOTP time step containing `unixSeconds` (T0 = 0); negative times are step 0's past.
    public static func timeStep(at unixSeconds: Int64, parameters: OTPParameters) -> Int64 {
        let quotient = unixSeconds / parameters.timeStep
        return unixSeconds < 0 && unixSeconds % parameters.timeStep != 0 ? quotient - 1 : quotient
    }

    public static func totp(secret: [UInt8], unixSeconds: Int64, parameters: OTPParameters) -> UInt32 {
        let step = timeStep(at: unixSeconds, parameters: parameters)
        return hotp(secret: secret, counter: UInt64(bitPattern: step), parameters: parameters)
    }

    /// The code as the user types it: exactly `digits` ASCII digits, zero-padded.
    public static func format(_ value: UInt32, digits: Int) -> String {
        var text = String(value)
        while text.count < digits { text = "0" + text }
        return text
    }

    /// Parses what the user typed: exactly `digits` ASCII digits, nothing else.
    public static func parse(_ text: String, digits: Int) -> UInt32? {
        let bytes = Array(text.utf8)
        guard bytes.count == digits, OTPParameters.digitRange.contains(digits) else { return nil }
        var value: UInt32 = 0
        for byte in bytes {
            guard byte >= 0x30, byte <= 0x39 else { return nil }
            value = value * 10 + UInt32(byte - 0x30)
        }
        return value
    }

    static func mac(secret: [UInt8], message: [UInt8], algorithm: OTPHashAlgorithm) -> [UInt8] {
        let key = SymmetricKey(data: secret)
        switch algorithm {
        case .sha1: return Array(HMAC<Insecure.SHA1>.authenticationCode(for: message, using: key))
        case .sha256: return Array(HMAC<SHA256>.authenticationCode(for: message, using: key))
        case .sha512: return Array(HMAC<SHA512>.authenticationCode(for: message, using: key))
        }
    }

    /// RFC 4226 §5.3 dynamic truncation. Every MAC here is at least 20 bytes, so the offset
    /// (at most 15) plus 4 is always in range.
    static func truncate(_ mac: [UInt8], digits: Int) -> UInt32 {
        guard let last = mac.last else { return 0 }
        let offset = Int(last & 0x0F)
        guard offset + 3 < mac.count else { return 0 }
        let binary = (UInt32(mac[offset] & 0x7F) << 24) | (UInt32(mac[offset + 1]) << 16)
            | (UInt32(mac[offset + 2]) << 8) | UInt32(mac[offset + 3])
        var modulus: UInt32 = 1
        for _ in 0..<digits { modulus *= 10 }
        return binary % modulus
    }
}

/// HOTP values of one secret for many counters: the HMAC key is set up once, and each counter
/// costs a copy of the keyed state plus the message (a login tries up to 2 × window + 1 TOTP
/// steps, or the HOTP look-ahead).
public struct HOTPGenerator {
    enum Keyed {
        case sha1(HMAC<Insecure.SHA1>)
        case sha256(HMAC<SHA256>)
        case sha512(HMAC<SHA512>)
    }

    let keyed: Keyed
    let digits: Int

    public init(secret: [UInt8], parameters: OTPParameters) {
        let key = SymmetricKey(data: secret)
        switch parameters.algorithm {
        case .sha1: keyed = .sha1(HMAC(key: key))
        case .sha256: keyed = .sha256(HMAC(key: key))
        case .sha512: keyed = .sha512(HMAC(key: key))
        }
        digits = parameters.digits
    }

    public func value(counter: UInt64) -> UInt32 {
        withUnsafeBytes(of: counter.bigEndian) { message in
            switch keyed {
            case .sha1(let keyedState): Self.code(keyedState, message, digits: digits)
            case .sha256(let keyedState): Self.code(keyedState, message, digits: digits)
            case .sha512(let keyedState): Self.code(keyedState, message, digits: digits)
            }
        }
    }

    static func code<H: HashFunction>(_ keyedState: HMAC<H>, _ message: UnsafeRawBufferPointer, digits: Int) -> UInt32 {
        var state = keyedState
        state.update(data: message)
        return OneTimePassword.truncate(Array(state.finalize()), digits: digits)
    }
}

/// Comparison whose time does not depend on where two values differ.
public enum ConstantTime {
    public static func equal(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
        guard lhs.count == rhs.count else { return false }
        var difference: UInt8 = 0
        for index in lhs.indices { difference |= lhs[index] ^ rhs[index] }
        return difference == 0
    }

    public static func equal(_ lhs: UInt32, _ rhs: UInt32) -> Bool {
        var difference = lhs ^ rhs
        difference |= difference >> 16
        difference |= difference >> 8
        return difference & 0xFF == 0
    }
}
