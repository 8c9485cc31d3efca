import Crypto
public import MamoriCore

/// Verifies a signed profile for this terminal and installs it atomically, or rejects it and keeps
/// the last good one. Every outcome but "unchanged" is a journal record (`profile.applied`,
/// `profile.rejected`); a rejected envelope is journalled once, not at every poll.
public final class ProfileInstaller {
    public static let appliedKind = "profile.applied"
    public static let rejectedKind = "profile.rejected"

    public enum Outcome: Sendable, Equatable {
        case applied(Profile)
        case rejected(ProfileRejection)
        /// The same envelope as the one installed, or one already rejected.
        case unchanged
    }

    let layout: AgentLayout
    let organisation: Organisation
    let hostGroup: String?
    private var lastRejected: Digest32?

    public init(layout: AgentLayout, organisation: Organisation, hostGroup: String?) {
        self.layout = layout
        self.organisation = organisation
        self.hostGroup = hostGroup
    }

    /// The pinned root (from enrolment, or the last verified rotation).
    public func pinnedRoot() throws -> ProfilePublicKey { try Self.pinnedRoot(path: layout.profileRootPath) }

    /// The root key in a `profile-root.pub` file (one line of hex).
    public static func pinnedRoot(path: String) throws -> ProfilePublicKey {
        let text = String(decoding: try FileSystem.readFile(path), as: UTF8.self)
        guard let key = ProfilePublicKey(hex: text.split(whereSeparator: { $0 == "\n" || $0 == " " }).first ?? "") else {
            throw AgentStateError("\(path): not a profile root public key")
        }
        return key
    }

    /// The envelope in force, if any.
    func installedEnvelopeDigest() -> Digest32? {
        guard let bytes = try? FileSystem.readFile(layout.profileEnvelopePath) else { return nil }
        return Digest32(Array(SHA256.hash(data: bytes)))!
    }

    /// The anti-rollback floor: the highest version ever accepted for this scope, from its own
    /// file, and never lower than the installed profile's version (read even when that profile
    /// has expired or its floor file is damaged). Expiry, corruption or a replaced profile file
    /// never lower it; only a signed profile with a higher version moves it.
    public func versionFloor() -> (version: Int64?, problem: String?) {
        var problem: String?
        var floor: Int64?
        if FileSystem.exists(layout.profileVersionFloorPath) {
            if let bytes = try? FileSystem.readFile(layout.profileVersionFloorPath), let json = try? JSONValue.parse(bytes),
               let version = json["version"]?.intValue, version >= 0,
               json["organisation"]?.stringValue == organisation.rawValue, json["host_group"]?.stringValue == hostGroup {
                floor = version
            } else {
                problem = "\(layout.profileVersionFloorPath) is unreadable, damaged or for another scope; the installed profile's version is the floor"
            }
        }
        if let bytes = try? FileSystem.readFile(layout.profilePath),
           case .success(let installed) = ProfileParser.parse(String(decoding: bytes, as: UTF8.self)),
           installed.scope.organisation == organisation {
            floor = max(floor ?? installed.version, installed.version)
        }
        return (floor, problem)
    }

    /// Considers `envelope`; returns what happened and the journal event to record (nil for unchanged).
    public func consider(_ envelope: [UInt8], current: Profile?, now: Timestamp) throws -> (Outcome, (kind: String, payload: [String: JSONValue])?) {
        let digest = Digest32(Array(SHA256.hash(data: envelope)))!
        if digest == installedEnvelopeDigest() || digest == lastRejected { return (.unchanged, nil) }
        let root = try pinnedRoot()
        let floor = versionFloor()
        // An expired profile in force still counts: the floor is what a rollback must beat.
        let minimum = [current?.version, floor.version].compactMap { $0 }.max()
        switch ProfileVerifier.verify(envelope, pinnedRoot: root, currentVersion: minimum, scope: organisation,
                                      hostGroup: hostGroup, now: now) {
        case .failure(let rejection):
            lastRejected = digest
            var payload: [String: JSONValue] = [
                "code": .string(rejection.code), "reason": .string(rejection.description),
                "envelope_sha256": .string(digest.hex),
                "kept_version": current.map { .int($0.version) } ?? .null,
                "version_floor": minimum.map { .int($0) } ?? .null,
            ]
            if let problem = floor.problem { payload["version_floor_problem"] = .string(problem) }
            return (.rejected(rejection), (Self.rejectedKind, payload))
        case .success(let verified):
            try install(verified, envelope: envelope)
            var payload: [String: JSONValue] = [
                "name": .string(verified.profile.name), "version": .int(verified.profile.version),
                "expires": .string(verified.profile.expires.description), "profile_sha256": .string(verified.sha256.hex),
                "envelope_sha256": .string(digest.hex), "signing_key": .string(verified.signingKey.keyId),
                "root": .string(verified.root.keyId), "previous_version": current.map { .int($0.version) } ?? .null,
                "version_floor": .int(verified.profile.version),
            ]
            if let problem = floor.problem { payload["version_floor_problem"] = .string(problem) }
            return (.applied(verified.profile), (Self.appliedKind, payload))
        }
    }

    /// Envelope first, then the profile every enforcer reads, each by rename after a sync: a crash
    /// leaves either the old profile or the new one in force. A rotated root is pinned last.
    func install(_ verified: VerifiedProfile, envelope: [UInt8]) throws {
        try FileSystem.makeDirectory(layout.profileDirectory, mode: 0o755)
        try FileSystem.writeFileAtomically(layout.profileEnvelopePath, envelope, mode: 0o644)
        try FileSystem.writeFileAtomically(layout.profilePath, Array(verified.source.utf8), mode: 0o644)
        // The floor last: a crash before it leaves the installed profile's version as the floor.
        let floor = JSONValue.object([
            "version": .int(verified.profile.version), "organisation": .string(organisation.rawValue),
            "host_group": hostGroup.map { .string($0) } ?? .null, "envelope_sha256": .string(Hex.encode(Array(SHA256.hash(data: envelope)))),
        ])
        try FileSystem.writeFileAtomically(layout.profileVersionFloorPath, floor.canonicalBytes + [0x0A], mode: 0o644)
        if (try? pinnedRoot()) != verified.root {
            try FileSystem.writeFileAtomically(layout.profileRootPath, Array((verified.root.hex + "\n").utf8), mode: 0o644)
        }
    }
}
