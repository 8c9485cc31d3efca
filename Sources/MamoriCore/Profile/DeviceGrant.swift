/// A one-off exception (持ち出し申請): one terminal may use one device beyond its profile for a
/// limited time, for a reason and under an approval reference. A grant can only add an allow
/// entry for that device on that host; it never changes anything else.
///
/// Body (canonical JSON, the member `grant` of the envelope):
/// `{"expires":T,"host":ID,"id":ID,"issued":T,"mode":"read-write","product":HEX|null,
///   "reason":TEXT,"ref":TEXT,"serial":TEXT,"vendor":HEX|null}`
public struct DeviceGrant: Sendable, Equatable, Hashable {
    /// The longest a grant may last: approvals are for hours or days, not standing exceptions
    /// (those belong in the profile, reviewed and versioned).
    public static let maximumSeconds: Int64 = 7 * 86400
    public static let minimumSeconds: Int64 = 60
    /// How far `issued` may lie in the agent's future (clocks differ a little).
    public static let clockSkewSeconds: Int64 = 300
    static let members: Set<String> = ["id", "host", "vendor", "product", "serial", "mode", "issued", "expires", "reason", "ref"]

    public var id: String
    /// The collector's id of the one terminal the grant is for.
    public var host: String
    /// Four lower-case hex digits, or nil for "whatever vendor and product carry this serial".
    public var vendor: String?
    public var product: String?
    /// The device's exact serial: never a wildcard.
    public var serial: String
    /// `read-write` (the usual take-out) or `read-only`.
    public var mode: MediaAction
    public var issued: Timestamp
    public var expires: Timestamp
    public var reason: String
    /// The approval reference (申請番号).
    public var reference: String

    public init(id: String, host: String, vendor: String?, product: String?, serial: String, mode: MediaAction,
                issued: Timestamp, expires: Timestamp, reason: String, reference: String) {
        self.id = id
        self.host = host
        self.vendor = vendor
        self.product = product
        self.serial = serial
        self.mode = mode
        self.issued = issued
        self.expires = expires
        self.reason = reason
        self.reference = reference
    }

    public var json: JSONValue {
        .object([
            "id": .string(id), "host": .string(host), "vendor": vendor.map { .string($0) } ?? .null,
            "product": product.map { .string($0) } ?? .null, "serial": .string(serial), "mode": .string(mode.rawValue),
            "issued": .string(issued.description), "expires": .string(expires.description), "reason": .string(reason),
            "ref": .string(reference),
        ])
    }

    /// `vendor:product:serial` with `*` for an unnamed vendor or product.
    public var deviceLabel: String { "\(vendor ?? "*"):\(product ?? "*"):\(serial)" }

    /// Whether this grant names the device (serial exactly; vendor and product when given).
    public func names(_ usb: USBIdentity) -> Bool {
        usb.serial == serial && (vendor == nil || vendor == usb.vendor) && (product == nil || product == usb.product)
    }

    /// Why the body is not a valid grant, or nil. Shared by the signer (nothing invalid is
    /// signed), the verifier and the collector.
    public func problem() -> String? {
        if !Self.isIdentifier(id) { return "`id` must be 1 to 64 letters, digits, `.`, `_` or `-`" }
        if !Self.isIdentifier(host) { return "`host` must be a host id: 1 to 64 letters, digits, `.`, `_` or `-`" }
        for (name, value) in [("vendor", vendor), ("product", product)] {
            if let value, !(value.utf8.count == 4 && value.utf8.allSatisfy({ Hex.lowerNibble($0) <= 15 })) {
                return "`\(name)` must be four lower-case hex digits"
            }
        }
        if serial == "*" { return "`serial` must name one device: a grant never uses the wildcard `*`" }
        if !(1...126).contains(serial.utf8.count) || !serial.unicodeScalars.allSatisfy({ (0x21...0x7E).contains($0.value) }) {
            return "`serial` must be 1 to 126 printable ASCII characters without spaces"
        }
        if mode != .readWrite && mode != .readOnly { return "`mode` must be read-write or read-only" }
        let seconds = (expires.microsecondsSinceEpoch - issued.microsecondsSinceEpoch) / 1_000_000
        if seconds < Self.minimumSeconds || seconds > Self.maximumSeconds {
            return "a grant lasts from 1 minute to 7 days (`expires` - `issued` is \(seconds) s)"
        }
        if let problem = Self.textProblem(reason, name: "reason", maximumBytes: 500) { return problem }
        if let problem = Self.textProblem(reference, name: "ref", maximumBytes: 128) { return problem }
        return nil
    }

    static func isIdentifier(_ text: String) -> Bool {
        (1...64).contains(text.utf8.count)
            && text.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) || $0 == 0x2E || $0 == 0x5F || $0 == 0x2D }
    }

    /// Free text (Japanese welcome) without controls or direction overrides, which would let a
    /// reason disguise itself in a listing.
    static func textProblem(_ text: String, name: String, maximumBytes: Int) -> String? {
        guard (1...maximumBytes).contains(text.utf8.count), text.contains(where: { !$0.isWhitespace }) else {
            return "`\(name)` must be 1 to \(maximumBytes) bytes of text"
        }
        for scalar in text.unicodeScalars {
            let value = scalar.value
            if value < 0x20 || (0x7F...0x9F).contains(value) || (0x202A...0x202E).contains(value) || (0x2066...0x2069).contains(value) {
                return "`\(name)` contains a control or text-direction character (U+\(String(value, radix: 16, uppercase: true)))"
            }
        }
        return nil
    }

    /// Strict decoding: exactly the documented members, canonical spellings, a valid body.
    public static func decode(_ value: JSONValue) -> Result<DeviceGrant, DeviceGrantRejection> {
        guard let members = StrictJSON.members(value, exactly: Self.members) else {
            return .failure(.malformed("`grant` must have exactly the members \(Self.members.sorted().joined(separator: ", "))"))
        }
        func optionalText(_ name: String) -> String?? {
            switch members[name] {
            case .null?: return .some(nil)
            case .string(let text)?: return .some(text)
            default: return nil
            }
        }
        guard let id = members["id"]?.stringValue, let host = members["host"]?.stringValue,
              let vendor = optionalText("vendor"), let product = optionalText("product"),
              let serial = members["serial"]?.stringValue,
              let mode = members["mode"]?.stringValue.flatMap(MediaAction.init(rawValue:)),
              let issued = StrictJSON.timestamp(members["issued"]), let expires = StrictJSON.timestamp(members["expires"]),
              let reason = members["reason"]?.stringValue, let reference = members["ref"]?.stringValue else {
            return .failure(.malformed("a member of `grant` has the wrong type or spelling"))
        }
        let grant = DeviceGrant(id: id, host: host, vendor: vendor, product: product, serial: serial, mode: mode, issued: issued,
                                expires: expires, reason: reason, reference: reference)
        if let problem = grant.problem() { return .failure(.invalid(problem)) }
        return .success(grant)
    }
}

/// The signed form of a grant: one line of canonical JSON and a newline,
/// `{"certificate":{…},"format":"mamori-signed-grant-v1","grant":{…},"root_rotations":[…],"signature":HEX}`.
/// The signature is Ed25519 by a certified profile-signing key over
/// `"mamori-profile-v1/device-grant\n" ‖ canonical JSON of the grant`: grants and profiles share
/// the trust chain, never a signature.
public struct SignedDeviceGrant: Sendable, Equatable {
    public static let format = "mamori-signed-grant-v1"
    static let members: Set<String> = ["format", "grant", "signature", "certificate", "root_rotations"]

    public var grant: DeviceGrant
    public var signature: [UInt8]
    public var certificate: SigningKeyCertificate
    public var rootRotations: [RootRotation]

    static func signedMessage(_ grant: DeviceGrant) -> [UInt8] { ProfileSignatureDomain.deviceGrant + grant.json.canonicalBytes }

    public var json: JSONValue {
        .object([
            "format": .string(Self.format), "grant": grant.json, "signature": .string(Hex.encode(signature)),
            "certificate": certificate.json, "root_rotations": .array(rootRotations.map(\.json)),
        ])
    }

    /// The exact bytes a verifier accepts: canonical JSON and one newline.
    public var bytes: [UInt8] { json.canonicalBytes + [0x0A] }

    /// Signs a valid grant; nothing invalid, and nothing with an expired certificate, is signed.
    public static func sign(_ grant: DeviceGrant, key: ProfilePrivateKey, certificate: SigningKeyCertificate,
                            rootRotations: [RootRotation] = [], now: Timestamp) -> Result<SignedDeviceGrant, DeviceGrantRejection> {
        if let problem = grant.problem() { return .failure(.invalid(problem)) }
        guard key.role == .signing else { return .failure(.invalid("grants are signed with a signing key, not a \(key.role.rawValue) key")) }
        guard certificate.signingKey == key.publicKey else { return .failure(.invalid("the certificate is for a different signing key")) }
        guard now < certificate.expires else { return .failure(.certificateExpired(expires: certificate.expires)) }
        guard let signature = try? key.sign(signedMessage(grant)) else { return .failure(.invalid("the key could not sign")) }
        return .success(SignedDeviceGrant(grant: grant, signature: signature, certificate: certificate, rootRotations: rootRotations))
    }
}

/// Why a grant was refused. Agents journal `code` and `description` in `media.grant-rejected`.
public enum DeviceGrantRejection: Error, Sendable, Equatable, CustomStringConvertible {
    case malformed(String)
    case invalid(String)
    case badSignature
    case signingKeyNotCertified(String)
    case certificateExpired(expires: Timestamp)
    case expired(expires: Timestamp)
    case notYetIssued(issued: Timestamp)
    case otherHost(grantHost: String, thisHost: String)
    /// The grant ended here before (expired, withdrawn or refused): it is never taken again.
    case replayed(String)

    public var code: String {
        switch self {
        case .malformed: return "malformed"
        case .invalid: return "invalid-grant"
        case .badSignature: return "bad-signature"
        case .signingKeyNotCertified: return "signing-key-not-certified"
        case .certificateExpired: return "certificate-expired"
        case .expired: return "grant-expired"
        case .notYetIssued: return "not-yet-issued"
        case .otherHost: return "other-host"
        case .replayed: return "replayed"
        }
    }

    public var description: String {
        switch self {
        case .malformed(let detail): return "not a valid signed-grant envelope: \(detail)"
        case .invalid(let detail): return "not a valid grant: \(detail)"
        case .badSignature: return "the grant's signature does not verify under the certified signing key"
        case .signingKeyNotCertified(let detail): return "the signing key is not certified by the pinned root: \(detail)"
        case .certificateExpired(let expires): return "the signing key's certificate expired at \(expires)"
        case .expired(let expires): return "the grant expired at \(expires)"
        case .notYetIssued(let issued): return "the grant is issued at \(issued), in this terminal's future (clock or replay)"
        case .otherHost(let grantHost, let thisHost): return "the grant is for host \(grantHost), this terminal is \(thisHost)"
        case .replayed(let detail): return "the grant was seen before and has ended here (\(detail)); it is not taken again"
        }
    }
}

/// Verifies signed grants. Pure: the caller passes the bytes, the pinned root, the host and the time.
public enum DeviceGrantVerifier {
    public static let maximumEnvelopeBytes = 64 << 10

    /// - Parameter host: this terminal's host id; nil skips the host check (the collector, which
    ///   checks the host against its own records).
    public static func verify(_ bytes: [UInt8], pinnedRoot: ProfilePublicKey, host: String?, now: Timestamp) -> Result<SignedDeviceGrant, DeviceGrantRejection> {
        let envelope: SignedDeviceGrant
        switch decode(bytes) {
        case .success(let decoded): envelope = decoded
        case .failure(let rejection): return .failure(rejection)
        }
        // The same trust chain as profiles: rotations from the pinned root, then the certificate.
        let trust = ProfileVerifier.trustedRoot(pinnedRoot, following: envelope.rootRotations).flatMap { root in
            ProfileVerifier.checkCertificate(envelope.certificate, root: root, now: now).map { Result.failure($0) } ?? .success(root)
        }
        switch trust {
        case .success: break
        case .failure(.certificateExpired(let expires)): return .failure(.certificateExpired(expires: expires))
        case .failure(.signingKeyNotCertified(let detail)): return .failure(.signingKeyNotCertified(detail))
        case .failure(let rejection): return .failure(.signingKeyNotCertified(rejection.description))
        }
        guard envelope.certificate.signingKey.isValidSignature(envelope.signature, for: SignedDeviceGrant.signedMessage(envelope.grant)) else {
            return .failure(.badSignature)
        }
        let grant = envelope.grant
        if let host, grant.host != host { return .failure(.otherHost(grantHost: grant.host, thisHost: host)) }
        guard now < grant.expires else { return .failure(.expired(expires: grant.expires)) }
        guard grant.issued <= now.adding(seconds: DeviceGrant.clockSkewSeconds) else { return .failure(.notYetIssued(issued: grant.issued)) }
        return .success(envelope)
    }

    /// Decodes an envelope without verifying it (to describe a refused grant).
    public static func decode(_ bytes: [UInt8]) -> Result<SignedDeviceGrant, DeviceGrantRejection> {
        guard bytes.count <= maximumEnvelopeBytes else { return .failure(.malformed("larger than \(maximumEnvelopeBytes) bytes")) }
        guard let json = try? JSONValue.parse(bytes), let members = json.objectValue else { return .failure(.malformed("not a JSON object")) }
        guard members["format"]?.stringValue == SignedDeviceGrant.format else {
            return .failure(.malformed("`format` is not \(SignedDeviceGrant.format)"))
        }
        guard Set(members.keys) == SignedDeviceGrant.members else {
            return .failure(.malformed("members must be exactly \(SignedDeviceGrant.members.sorted().joined(separator: ", "))"))
        }
        guard bytes == json.canonicalBytes + [0x0A] else { return .failure(.malformed("not in canonical form (re-encoded or edited after signing)")) }
        let grant: DeviceGrant
        switch DeviceGrant.decode(members["grant"] ?? .null) {
        case .success(let decoded): grant = decoded
        case .failure(let rejection): return .failure(rejection)
        }
        guard let signature = StrictJSON.signature(members["signature"]) else {
            return .failure(.malformed("`signature` is not 128 lower-case hex digits"))
        }
        guard let certificate = members["certificate"].flatMap(SigningKeyCertificate.decode) else {
            return .failure(.malformed("`certificate` is not a \(SigningKeyCertificate.format)"))
        }
        guard let items = members["root_rotations"]?.arrayValue else { return .failure(.malformed("`root_rotations` is not a list")) }
        var rotations: [RootRotation] = []
        for (index, item) in items.enumerated() {
            guard let rotation = RootRotation.decode(item) else { return .failure(.malformed("root rotation \(index + 1) is not a \(RootRotation.format)")) }
            rotations.append(rotation)
        }
        return .success(SignedDeviceGrant(grant: grant, signature: signature, certificate: certificate, rootRotations: rotations))
    }

    /// A file of signed grants: one envelope per line (what the agent keeps and the udev helper
    /// reads). Returns each line's outcome in order; blank lines are skipped.
    public static func verifyLines(_ bytes: [UInt8], pinnedRoot: ProfilePublicKey, host: String?, now: Timestamp)
        -> [Result<SignedDeviceGrant, DeviceGrantRejection>] {
        bytes.split(separator: 0x0A).map { line in verify(Array(line) + [0x0A], pinnedRoot: pinnedRoot, host: host, now: now) }
    }
}
