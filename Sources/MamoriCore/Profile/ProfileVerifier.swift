/// Why a signed profile was not accepted. The agent journals `code` and `description` in its
/// `profile.rejected` event and keeps enforcing the last good profile.
public enum ProfileRejection: Error, Sendable, Equatable, CustomStringConvertible {
    /// Not an envelope at all, not canonical, or a member is missing or misspelt.
    case malformed(String)
    /// A bare profile, or an envelope without a signature.
    case unsigned
    /// The signature does not verify under the certified signing key.
    case badSignature
    /// The certificate was not made by the pinned root (or a root reached by valid rotations).
    case signingKeyNotCertified(String)
    case certificateExpired(expires: Timestamp)
    /// The profile text no longer has the digest that was signed.
    case changedAfterSigning
    /// Signed, but not a valid profile for this build (fails closed: never partially applied).
    case invalidProfile([ProfileDiagnostic])
    case profileExpired(expires: Timestamp)
    case outOfScope(String)
    case versionNotNewer(version: Int64, current: Int64)

    /// A stable identifier for journals and scripts.
    public var code: String {
        switch self {
        case .malformed: return "malformed"
        case .unsigned: return "unsigned"
        case .badSignature: return "bad-signature"
        case .signingKeyNotCertified: return "signing-key-not-certified"
        case .certificateExpired: return "certificate-expired"
        case .changedAfterSigning: return "changed-after-signing"
        case .invalidProfile: return "invalid-profile"
        case .profileExpired: return "profile-expired"
        case .outOfScope: return "out-of-scope"
        case .versionNotNewer: return "version-not-newer"
        }
    }

    public var description: String {
        switch self {
        case .malformed(let detail): return "not a valid signed-profile envelope: \(detail)"
        case .unsigned: return "the profile is not signed"
        case .badSignature: return "the profile's signature does not verify under the certified signing key"
        case .signingKeyNotCertified(let detail): return "the signing key is not certified by the pinned root: \(detail)"
        case .certificateExpired(let expires): return "the signing key's certificate expired at \(expires)"
        case .changedAfterSigning: return "the profile was changed after signing (its SHA-256 differs from the signed one)"
        case .invalidProfile(let diagnostics):
            return "the signed profile is not valid: " + diagnostics.prefix(5).map(\.description).joined(separator: "; ")
        case .profileExpired(let expires): return "the profile expired at \(expires)"
        case .outOfScope(let detail): return "the profile is out of scope: \(detail)"
        case .versionNotNewer(let version, let current):
            return "version \(version) is not greater than the current version \(current) (rollback refused)"
        }
    }
}

/// A profile that passed every check, with what the agent needs to record and to re-pin.
public struct VerifiedProfile: Sendable, Equatable {
    public let profile: Profile
    public let source: String
    public let sha256: Digest32
    public let signingKey: ProfilePublicKey
    /// The root that certified the signing key: the pinned root, or the last root reached through
    /// the envelope's rotations. The agent pins this one from now on.
    public let root: ProfilePublicKey
    public let certificateExpires: Timestamp
}

/// Verifies signed profiles. Pure: no clock, no files; the caller passes the time and the bytes.
/// Checks run from the outside in (envelope, trust chain, signature, digest, content, freshness,
/// scope, version), and the first failure is the answer: nothing is trusted before it is verified.
public enum ProfileVerifier {
    public static let maximumEnvelopeBytes = 4 << 20

    /// - Parameters:
    ///   - currentVersion: the version of the profile in force for this scope; nil when none is.
    ///   - scope: the terminal's organisation; nil skips the organisation check.
    ///   - hostGroup: the terminal's host group; nil skips the host-group check.
    public static func verify(_ envelopeBytes: [UInt8], pinnedRoot: ProfilePublicKey, currentVersion: Int64? = nil,
                              scope: Organisation? = nil, hostGroup: String? = nil,
                              now: Timestamp) -> Result<VerifiedProfile, ProfileRejection> {
        let envelope: SignedProfileEnvelope
        switch decode(envelopeBytes) {
        case .success(let decoded): envelope = decoded
        case .failure(let rejection): return .failure(rejection)
        }
        let root: ProfilePublicKey
        switch trustedRoot(pinnedRoot, following: envelope.rootRotations) {
        case .success(let trusted): root = trusted
        case .failure(let rejection): return .failure(rejection)
        }
        if let rejection = checkSignature(envelope, root: root, now: now) { return .failure(rejection) }
        let profile: Profile
        switch ProfileParser.parse(envelope.profileSource) {
        case .success(let parsed): profile = parsed
        case .failure(let error): return .failure(.invalidProfile(error.diagnostics))
        }
        if let rejection = checkApplicability(profile, currentVersion: currentVersion, scope: scope, hostGroup: hostGroup, now: now) {
            return .failure(rejection)
        }
        return .success(VerifiedProfile(profile: profile, source: envelope.profileSource, sha256: envelope.profileSHA256,
                                        signingKey: envelope.certificate.signingKey, root: root,
                                        certificateExpires: envelope.certificate.expires))
    }

    static func decode(_ bytes: [UInt8]) -> Result<SignedProfileEnvelope, ProfileRejection> {
        guard bytes.count <= maximumEnvelopeBytes else { return .failure(.malformed("larger than \(maximumEnvelopeBytes) bytes")) }
        let json: JSONValue
        do {
            json = try JSONValue.parse(bytes)
        } catch {
            if let text = String(validating: bytes, as: UTF8.self), case .success = ProfileParser.parse(text) {
                return .failure(.unsigned)
            }
            return .failure(.malformed(error.description))
        }
        guard let members = json.objectValue else { return .failure(.malformed("not a JSON object")) }
        guard members["format"]?.stringValue == SignedProfileEnvelope.format else {
            return .failure(.malformed("`format` is not \(SignedProfileEnvelope.format)"))
        }
        if members["signature"] == nil || members["signature"] == .null { return .failure(.unsigned) }
        if let unknown = Set(members.keys).subtracting(SignedProfileEnvelope.members).sorted().first {
            return .failure(.malformed("unknown member `\(unknown)`"))
        }
        guard bytes == json.canonicalBytes + [0x0A] else {
            return .failure(.malformed("not in canonical form (re-encoded or edited after signing)"))
        }
        return decodeMembers(members)
    }

    static func decodeMembers(_ members: [String: JSONValue]) -> Result<SignedProfileEnvelope, ProfileRejection> {
        guard let source = members["profile"]?.stringValue else { return .failure(.malformed("`profile` is missing or not text")) }
        guard let digestText = members["profile_sha256"]?.stringValue, digestText.utf8.count == 64,
              digestText.utf8.allSatisfy({ Hex.lowerNibble($0) <= 15 }), let digest = Digest32(hex: digestText) else {
            return .failure(.malformed("`profile_sha256` is not 64 lower-case hex digits"))
        }
        guard let signature = StrictJSON.signature(members["signature"]) else {
            return .failure(.malformed("`signature` is not 128 lower-case hex digits"))
        }
        guard let certificateJSON = members["certificate"] else { return .failure(.signingKeyNotCertified("the envelope carries no certificate")) }
        guard let certificate = SigningKeyCertificate.decode(certificateJSON) else {
            return .failure(.malformed("`certificate` is not a \(SigningKeyCertificate.format)"))
        }
        guard let rotationItems = members["root_rotations"]?.arrayValue else { return .failure(.malformed("`root_rotations` is not a list")) }
        var rotations: [RootRotation] = []
        for (index, item) in rotationItems.enumerated() {
            guard let rotation = RootRotation.decode(item) else {
                return .failure(.malformed("root rotation \(index + 1) is not a \(RootRotation.format)"))
            }
            rotations.append(rotation)
        }
        return .success(SignedProfileEnvelope(profileSource: source, profileSHA256: digest, signature: signature,
                                              certificate: certificate, rootRotations: rotations))
    }

    /// Follows rotations from the pinned root; each must start at the root trusted so far and be
    /// signed by both roots.
    static func trustedRoot(_ pinned: ProfilePublicKey, following rotations: [RootRotation]) -> Result<ProfilePublicKey, ProfileRejection> {
        var trusted = pinned
        // A terminal that already followed part of the chain starts after the rotation it pinned.
        let start = rotations.lastIndex(where: { $0.newRoot == pinned }).map { $0 + 1 } ?? 0
        for (index, rotation) in rotations.enumerated() where index >= start {
            guard rotation.oldRoot == trusted else {
                return .failure(.signingKeyNotCertified("root rotation \(index + 1) starts at root \(rotation.oldRoot.keyId), not at the trusted root \(trusted.keyId)"))
            }
            guard rotation.isValid else {
                return .failure(.signingKeyNotCertified("root rotation \(index + 1) is not signed by both the old and the new root"))
            }
            trusted = rotation.newRoot
        }
        return .success(trusted)
    }

    /// The signing key's certificate: made by the trusted root and not expired. Shared by
    /// profiles and device grants (one trust chain).
    static func checkCertificate(_ certificate: SigningKeyCertificate, root: ProfilePublicKey, now: Timestamp) -> ProfileRejection? {
        guard certificate.rootKey == root else {
            return .signingKeyNotCertified("the certificate names root \(certificate.rootKey.keyId); the trusted root is \(root.keyId)")
        }
        guard certificate.isSigned(by: root) else { return .signingKeyNotCertified("the certificate's signature does not verify under the root") }
        guard now < certificate.expires else { return .certificateExpired(expires: certificate.expires) }
        return nil
    }

    static func checkSignature(_ envelope: SignedProfileEnvelope, root: ProfilePublicKey, now: Timestamp) -> ProfileRejection? {
        if let rejection = checkCertificate(envelope.certificate, root: root, now: now) { return rejection }
        let certificate = envelope.certificate
        let message = SignedProfileEnvelope.signedMessage(profileSHA256: envelope.profileSHA256)
        guard certificate.signingKey.isValidSignature(envelope.signature, for: message) else { return .badSignature }
        guard SignedProfileEnvelope.digest(of: envelope.profileSource) == envelope.profileSHA256 else { return .changedAfterSigning }
        return nil
    }

    static func checkApplicability(_ profile: Profile, currentVersion: Int64?, scope: Organisation?, hostGroup: String?,
                                   now: Timestamp) -> ProfileRejection? {
        guard now < profile.expires else { return .profileExpired(expires: profile.expires) }
        if let scope, profile.scope.organisation != scope {
            return .outOfScope("the profile is for \(profile.scope.organisation.rawValue) (\(profile.scope.organisation.japaneseName)), this terminal belongs to \(scope.rawValue) (\(scope.japaneseName))")
        }
        if let hostGroup, !profile.scope.covers(hostGroup: hostGroup) {
            return .outOfScope("host group `\(hostGroup)` is not covered by the profile's scope")
        }
        if let currentVersion, profile.version <= currentVersion {
            return .versionNotNewer(version: profile.version, current: currentVersion)
        }
        return nil
    }
}
