import Crypto

/// The signed form of a profile, as `mamorictl profile sign` writes it and the agent receives it.
///
/// One line of canonical JSON (docs/profile-reference.md, "Envelope") followed by a newline:
/// ```
/// {"certificate":{…},"format":"mamori-signed-profile-v1","profile":"<YAML source>",
///  "profile_sha256":"<64 hex>","root_rotations":[…],"signature":"<128 hex>"}
/// ```
/// The signature is Ed25519 by the certified signing key over
/// `"mamori-profile-v1/profile\n" ‖ canonical JSON {"format":…,"profile_sha256":…}`, and
/// `profile_sha256` is SHA-256 of the profile's exact UTF-8 source, comments included: what the
/// administrator reviewed is what is signed. `root_rotations` (oldest first) lets a terminal pinned
/// on an older root reach the root that certified the signing key.
public struct SignedProfileEnvelope: Sendable, Equatable {
    public static let format = "mamori-signed-profile-v1"
    static let members: Set<String> = ["format", "profile", "profile_sha256", "signature", "certificate", "root_rotations"]

    public var profileSource: String
    public var profileSHA256: Digest32
    public var signature: [UInt8]
    public var certificate: SigningKeyCertificate
    public var rootRotations: [RootRotation]

    static func signedMessage(profileSHA256: Digest32) -> [UInt8] {
        ProfileSignatureDomain.profile
            + JSONValue.object(["format": .string(format), "profile_sha256": .string(profileSHA256.hex)]).canonicalBytes
    }

    static func digest(of source: String) -> Digest32 {
        SHA256.hash(data: Array(source.utf8)).withUnsafeBytes { Digest32(raw: $0) }
    }

    public var json: JSONValue {
        .object([
            "format": .string(Self.format),
            "profile": .string(profileSource),
            "profile_sha256": .string(profileSHA256.hex),
            "signature": .string(Hex.encode(signature)),
            "certificate": certificate.json,
            "root_rotations": .array(rootRotations.map(\.json)),
        ])
    }

    /// The exact bytes a verifier accepts: canonical JSON and one newline.
    public var bytes: [UInt8] { json.canonicalBytes + [0x0A] }
}

/// Signing refused: the profile is not valid, or the key and certificate do not belong together.
public enum ProfileSigningError: Error, Sendable, Equatable, CustomStringConvertible {
    case invalidProfile(ProfileValidationError)
    case wrongKeyRole(ProfileKeyRole)
    case certificateDoesNotMatchKey
    case certificateExpired(Timestamp)

    public var description: String {
        switch self {
        case .invalidProfile(let error): return error.description
        case .wrongKeyRole(let role): return "profiles are signed with a signing key, not a \(role.rawValue) key"
        case .certificateDoesNotMatchKey: return "the certificate is for a different signing key"
        case .certificateExpired(let expires): return "the signing key's certificate expired at \(expires)"
        }
    }
}

public enum ProfileSigner {
    /// Validates `source`, then signs it. A profile that does not lint clean is never signed.
    public static func sign(source: String, key: ProfilePrivateKey, certificate: SigningKeyCertificate,
                            rootRotations: [RootRotation] = [], now: Timestamp) -> Result<SignedProfileEnvelope, ProfileSigningError> {
        if case .failure(let error) = ProfileParser.parse(source) { return .failure(.invalidProfile(error)) }
        guard key.role == .signing else { return .failure(.wrongKeyRole(key.role)) }
        guard certificate.signingKey == key.publicKey else { return .failure(.certificateDoesNotMatchKey) }
        guard now < certificate.expires else { return .failure(.certificateExpired(certificate.expires)) }
        let digest = SignedProfileEnvelope.digest(of: source)
        guard let signature = try? key.sign(SignedProfileEnvelope.signedMessage(profileSHA256: digest)) else {
            return .failure(.certificateDoesNotMatchKey)
        }
        return .success(SignedProfileEnvelope(profileSource: source, profileSHA256: digest, signature: signature,
                                              certificate: certificate, rootRotations: rootRotations))
    }
}
