import Crypto

/// An Ed25519 public key of the profile trust chain (a root or a profile-signing key).
/// Text form: 64 lower-case hex digits.
public struct ProfilePublicKey: Sendable, Hashable, CustomStringConvertible {
    public let rawRepresentation: [UInt8]

    public init?(rawRepresentation: [UInt8]) {
        guard rawRepresentation.count == 32,
              (try? Curve25519.Signing.PublicKey(rawRepresentation: rawRepresentation)) != nil else { return nil }
        self.rawRepresentation = rawRepresentation
    }

    /// Strict: exactly 64 lower-case hex digits (one spelling per key).
    public init?(hex: some StringProtocol) {
        guard hex.utf8.count == 64, hex.utf8.allSatisfy({ Hex.lowerNibble($0) <= 15 }),
              let bytes = Hex.decode(hex) else { return nil }
        self.init(rawRepresentation: bytes)
    }

    public var hex: String { Hex.encode(rawRepresentation) }
    public var description: String { hex }

    /// A short name for messages: the first 16 hex digits of SHA-256 of the key.
    public var keyId: String { String(Hex.encode(SHA256.hash(data: rawRepresentation)).prefix(16)) }

    public func isValidSignature(_ signature: [UInt8], for message: [UInt8]) -> Bool {
        guard signature.count == 64, let key = try? Curve25519.Signing.PublicKey(rawRepresentation: rawRepresentation) else {
            return false
        }
        return key.isValidSignature(signature, for: message)
    }
}

/// What a private key may sign. Recorded in the key file so a root key is never used to sign a
/// profile, nor a signing key to certify another key.
public enum ProfileKeyRole: String, Sendable, CaseIterable {
    case root
    case signing
}

/// An Ed25519 private key with its role. File form (mode 0600):
/// `{"format":"mamori-profile-key-v1","private_key":"<64 hex>","role":"root"}` and a newline.
public struct ProfilePrivateKey: Sendable {
    public static let fileFormat = "mamori-profile-key-v1"

    public let role: ProfileKeyRole
    let seed: [UInt8]

    public static func generate(role: ProfileKeyRole) -> ProfilePrivateKey {
        ProfilePrivateKey(role: role, seed: Array(Curve25519.Signing.PrivateKey().rawRepresentation))
    }

    init(role: ProfileKeyRole, seed: [UInt8]) {
        self.role = role
        self.seed = seed
    }

    public var publicKey: ProfilePublicKey {
        // The seed came from a valid key (generated or checked on load), so this cannot fail.
        let key = (try? Curve25519.Signing.PrivateKey(rawRepresentation: seed))?.publicKey.rawRepresentation
        return ProfilePublicKey(rawRepresentation: key.map { Array($0) } ?? []) ?? ProfilePublicKey.invalidPlaceholder
    }

    func sign(_ message: [UInt8]) throws -> [UInt8] {
        let key = try Curve25519.Signing.PrivateKey(rawRepresentation: seed)
        return Array(try key.signature(for: message))
    }

    public var fileBytes: [UInt8] {
        JSONValue.object([
            "format": .string(Self.fileFormat), "role": .string(role.rawValue), "private_key": .string(Hex.encode(seed)),
        ]).canonicalBytes + [0x0A]
    }

    public static func parse(fileBytes: [UInt8]) -> Result<ProfilePrivateKey, ProfileKeyError> {
        guard let json = try? JSONValue.parse(fileBytes), let members = json.objectValue,
              Set(members.keys) == ["format", "role", "private_key"],
              json["format"]?.stringValue == fileFormat else {
            return .failure(ProfileKeyError("not a Mamori profile key file (\(fileFormat))"))
        }
        guard let role = json["role"]?.stringValue.flatMap(ProfileKeyRole.init(rawValue:)) else {
            return .failure(ProfileKeyError("the key file names no valid role"))
        }
        guard let hex = json["private_key"]?.stringValue, let seed = Hex.decode(hex), seed.count == 32,
              (try? Curve25519.Signing.PrivateKey(rawRepresentation: seed)) != nil else {
            return .failure(ProfileKeyError("the private key is not 64 hex digits"))
        }
        return .success(ProfilePrivateKey(role: role, seed: seed))
    }
}

extension ProfilePublicKey {
    /// Never matches a real key's signatures; stands in where a key cannot exist.
    static let invalidPlaceholder = ProfilePublicKey(unchecked: [UInt8](repeating: 0, count: 32))

    private init(unchecked bytes: [UInt8]) { self.rawRepresentation = bytes }
}

/// A key file, certificate or rotation statement that cannot be used.
public struct ProfileKeyError: Error, Sendable, Equatable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Domain-separation prefixes: a signature made for one purpose never verifies for another.
enum ProfileSignatureDomain {
    static let certificate: [UInt8] = Array("mamori-profile-v1/certificate\n".utf8)
    static let rootRotation: [UInt8] = Array("mamori-profile-v1/root-rotation\n".utf8)
    static let profile: [UInt8] = Array("mamori-profile-v1/profile\n".utf8)
    static let deviceGrant: [UInt8] = Array("mamori-profile-v1/device-grant\n".utf8)
}

/// Strict decoding helpers shared by the certificate, rotation and envelope formats.
enum StrictJSON {
    static func members(_ value: JSONValue, exactly keys: Set<String>) -> [String: JSONValue]? {
        guard let members = value.objectValue, Set(members.keys) == keys else { return nil }
        return members
    }

    static func signature(_ value: JSONValue?) -> [UInt8]? {
        guard let text = value?.stringValue, text.utf8.count == 128,
              text.utf8.allSatisfy({ Hex.lowerNibble($0) <= 15 }) else { return nil }
        return Hex.decode(text)
    }

    static func timestamp(_ value: JSONValue?) -> Timestamp? {
        guard let text = value?.stringValue, let time = Timestamp(parsing: text), time.description == text else { return nil }
        return time
    }
}
