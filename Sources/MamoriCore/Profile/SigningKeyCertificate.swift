/// A root's statement that a key may sign profiles until `expires`.
///
/// Form: canonical JSON `{"expires":T,"format":"mamori-signing-certificate-v1","issued":T,
/// "root_key":HEX,"signature":HEX,"signing_key":HEX}`. The signature is Ed25519 by the root over
/// `"mamori-profile-v1/certificate\n" ‖ canonical JSON of the same object without "signature"`.
public struct SigningKeyCertificate: Sendable, Equatable {
    public static let format = "mamori-signing-certificate-v1"

    public let signingKey: ProfilePublicKey
    public let rootKey: ProfilePublicKey
    public let issued: Timestamp
    public let expires: Timestamp
    public let signature: [UInt8]

    /// The root certifies `signingKey` from `issued` until `expires`.
    public static func issue(for signingKey: ProfilePublicKey, by root: ProfilePrivateKey,
                             issued: Timestamp, expires: Timestamp) throws -> SigningKeyCertificate {
        guard root.role == .root else { throw ProfileKeyError("only a root key can certify a signing key; this key's role is \(root.role.rawValue)") }
        guard issued < expires else { throw ProfileKeyError("the certificate must expire after it is issued") }
        let unsigned = SigningKeyCertificate(signingKey: signingKey, rootKey: root.publicKey, issued: issued, expires: expires, signature: [])
        let signature = try root.sign(unsigned.signedMessage)
        return SigningKeyCertificate(signingKey: signingKey, rootKey: root.publicKey, issued: issued, expires: expires, signature: signature)
    }

    var bodyMembers: [String: JSONValue] {
        [
            "format": .string(Self.format), "signing_key": .string(signingKey.hex), "root_key": .string(rootKey.hex),
            "issued": .string(issued.description), "expires": .string(expires.description),
        ]
    }

    var signedMessage: [UInt8] { ProfileSignatureDomain.certificate + JSONValue.object(bodyMembers).canonicalBytes }

    public var json: JSONValue {
        var members = bodyMembers
        members["signature"] = .string(Hex.encode(signature))
        return .object(members)
    }

    public var fileBytes: [UInt8] { json.canonicalBytes + [0x0A] }

    /// Whether `root` made this certificate (the time is checked separately).
    public func isSigned(by root: ProfilePublicKey) -> Bool {
        rootKey == root && root.isValidSignature(signature, for: signedMessage)
    }

    /// Strict decoding: exactly the documented members, canonical spellings.
    public static func decode(_ value: JSONValue) -> SigningKeyCertificate? {
        guard let members = StrictJSON.members(value, exactly: ["format", "signing_key", "root_key", "issued", "expires", "signature"]),
              members["format"]?.stringValue == format,
              let signingKey = members["signing_key"]?.stringValue.flatMap({ ProfilePublicKey(hex: $0) }),
              let rootKey = members["root_key"]?.stringValue.flatMap({ ProfilePublicKey(hex: $0) }),
              let issued = StrictJSON.timestamp(members["issued"]),
              let expires = StrictJSON.timestamp(members["expires"]),
              let signature = StrictJSON.signature(members["signature"]) else { return nil }
        return SigningKeyCertificate(signingKey: signingKey, rootKey: rootKey, issued: issued, expires: expires, signature: signature)
    }

    public static func parse(fileBytes: [UInt8]) -> Result<SigningKeyCertificate, ProfileKeyError> {
        guard let json = try? JSONValue.parse(fileBytes), let certificate = decode(json) else {
            return .failure(ProfileKeyError("not a signing-key certificate (\(format))"))
        }
        return .success(certificate)
    }
}

/// A root handing over to a new root, signed by both: a terminal pinned on the old root follows the
/// statement to the new one (TUF's root rotation, simplified). Signing with the old key proves the
/// hand-over is authorised; signing with the new key proves its holder accepted it.
///
/// Form: canonical JSON `{"format":"mamori-root-rotation-v1","issued":T,"new_root":HEX,
/// "new_signature":HEX,"old_root":HEX,"old_signature":HEX}`; both signatures cover
/// `"mamori-profile-v1/root-rotation\n" ‖ canonical JSON without the two signature members`.
public struct RootRotation: Sendable, Equatable {
    public static let format = "mamori-root-rotation-v1"

    public let oldRoot: ProfilePublicKey
    public let newRoot: ProfilePublicKey
    public let issued: Timestamp
    public let oldSignature: [UInt8]
    public let newSignature: [UInt8]

    public static func make(from oldRoot: ProfilePrivateKey, to newRoot: ProfilePrivateKey, issued: Timestamp) throws -> RootRotation {
        guard oldRoot.role == .root, newRoot.role == .root else { throw ProfileKeyError("a root rotation needs two root keys") }
        guard oldRoot.publicKey != newRoot.publicKey else { throw ProfileKeyError("the new root must differ from the old one") }
        let unsigned = RootRotation(oldRoot: oldRoot.publicKey, newRoot: newRoot.publicKey, issued: issued, oldSignature: [], newSignature: [])
        let message = unsigned.signedMessage
        return RootRotation(oldRoot: oldRoot.publicKey, newRoot: newRoot.publicKey, issued: issued,
                            oldSignature: try oldRoot.sign(message), newSignature: try newRoot.sign(message))
    }

    var bodyMembers: [String: JSONValue] {
        ["format": .string(Self.format), "old_root": .string(oldRoot.hex), "new_root": .string(newRoot.hex), "issued": .string(issued.description)]
    }

    var signedMessage: [UInt8] { ProfileSignatureDomain.rootRotation + JSONValue.object(bodyMembers).canonicalBytes }

    /// Both signatures verify.
    public var isValid: Bool {
        let message = signedMessage
        return oldRoot.isValidSignature(oldSignature, for: message) && newRoot.isValidSignature(newSignature, for: message)
    }

    public var json: JSONValue {
        var members = bodyMembers
        members["old_signature"] = .string(Hex.encode(oldSignature))
        members["new_signature"] = .string(Hex.encode(newSignature))
        return .object(members)
    }

    public static func decode(_ value: JSONValue) -> RootRotation? {
        guard let members = StrictJSON.members(value, exactly: ["format", "old_root", "new_root", "issued", "old_signature", "new_signature"]),
              members["format"]?.stringValue == format,
              let oldRoot = members["old_root"]?.stringValue.flatMap({ ProfilePublicKey(hex: $0) }),
              let newRoot = members["new_root"]?.stringValue.flatMap({ ProfilePublicKey(hex: $0) }),
              let issued = StrictJSON.timestamp(members["issued"]),
              let oldSignature = StrictJSON.signature(members["old_signature"]),
              let newSignature = StrictJSON.signature(members["new_signature"]) else { return nil }
        return RootRotation(oldRoot: oldRoot, newRoot: newRoot, issued: issued, oldSignature: oldSignature, newSignature: newSignature)
    }

    /// A rotations file: a JSON array of statements, oldest first.
    public static func parseChain(fileBytes: [UInt8]) -> Result<[RootRotation], ProfileKeyError> {
        guard let json = try? JSONValue.parse(fileBytes), let items = json.arrayValue else {
            return .failure(ProfileKeyError("not a root-rotations file (a JSON array of \(format) statements)"))
        }
        var chain: [RootRotation] = []
        for (index, item) in items.enumerated() {
            guard let rotation = decode(item) else { return .failure(ProfileKeyError("root rotation \(index + 1) is not a \(format) statement")) }
            chain.append(rotation)
        }
        return .success(chain)
    }

    public static func chainFileBytes(_ chain: [RootRotation]) -> [UInt8] {
        JSONValue.array(chain.map(\.json)).canonicalBytes + [0x0A]
    }
}
