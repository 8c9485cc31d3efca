import Crypto
public import MamoriCore
import Synchronization

/// The `media.grant-*` journal records.
public enum DeviceGrantJournalKind {
    /// A grant was verified and is in force: the device it names may be used as it says.
    public static let applied = "media.grant-applied"
    /// A served grant was refused (another host, expired, replayed, bad signature…).
    public static let rejected = "media.grant-rejected"
    /// The collector withdrew a grant before it expired (`mamorictl profile revoke-grant`).
    public static let revoked = "media.grant-revoked"
    /// A grant reached its expiry: the agent ends it by itself, collector or not.
    public static let expired = "media.grant-expired"
}

/// The one-off grants (持ち出し申請) in force on this terminal, and the ones that ended here.
///
/// - `profile/grants.jsonl`: the signed grants in force, one envelope per line, as the collector
///   served them. The udev helper reads it too, and verifies each line again.
/// - `profile/grant-ledger.json`: every grant that ended here (expired, withdrawn), kept until a
///   day after its expiry: a grant that ended is never taken again, whoever serves it.
///
/// Expiry needs no collector: the media guard asks `expireDue` twice a second.
public final class DeviceGrantBook: Sendable {
    public typealias Event = (kind: String, payload: [String: JSONValue])

    struct Ended: Sendable, Equatable {
        var state: String
        var expires: Timestamp
        var at: Timestamp
    }

    struct State: Sendable {
        var active: [SignedDeviceGrant] = []
        var ended: [String: Ended] = [:]
        /// Envelopes refused this run: journalled once, not at every poll.
        var rejected: Set<Digest32> = []
        /// Problems found when the files were read, journalled by the first `expireDue`.
        var pending: [Event] = []
    }

    public let layout: AgentLayout
    /// This terminal's host id; nil when it is not enrolled (no grant can name it).
    public let hostId: String?
    private let state: Mutex<State>

    public var grantsPath: String { layout.grantsPath }
    public var ledgerPath: String { layout.grantLedgerPath }

    /// Reads the files; a grant whose signature no longer verifies is dropped (and journalled).
    public init(layout: AgentLayout, hostId: String?, now: Timestamp) {
        self.layout = layout
        self.hostId = hostId
        var initial = State()
        let root = try? ProfileInstaller.pinnedRoot(path: layout.profileRootPath)
        if let bytes = try? FileSystem.readFile(layout.grantsPath), let hostId, let root {
            for line in bytes.split(separator: 0x0A) {
                let envelope = Array(line) + [0x0A]
                switch DeviceGrantVerifier.verify(envelope, pinnedRoot: root, host: hostId, now: now) {
                case .success(let signed): initial.active.append(signed)
                case .failure(.expired):
                    // Ended while the agent was down: still ended by `expireDue`, and journalled.
                    if case .success(let signed) = DeviceGrantVerifier.decode(envelope) { initial.active.append(signed) }
                case .failure(let rejection):
                    initial.pending.append(Self.rejectedEvent(rejection, envelope: envelope, served: false))
                }
            }
        }
        if let bytes = try? FileSystem.readFile(layout.grantLedgerPath), let json = try? JSONValue.parse(bytes),
           let items = json["ended"]?.arrayValue {
            for item in items {
                guard let id = item["id"]?.stringValue, let state = item["state"]?.stringValue,
                      let expires = item["expires"]?.stringValue.flatMap(Timestamp.init(parsing:)),
                      let at = item["at"]?.stringValue.flatMap(Timestamp.init(parsing:)) else { continue }
                initial.ended[id] = Ended(state: state, expires: expires, at: at)
            }
        }
        initial.active.removeAll { initial.ended[$0.grant.id] != nil }
        state = Mutex(initial)
    }

    /// The grants in force at `now`, for the media policy.
    public func grants(at now: Timestamp) -> [DeviceGrant] {
        state.withLock { $0.active.map(\.grant).filter { now < $0.expires } }
    }

    /// The earliest expiry of a grant in force.
    public var nextExpiry: Timestamp? { state.withLock { $0.active.map(\.grant.expires).min() } }

    /// Ends every grant whose time is up. Returns the records to journal (and any problem found
    /// when the files were read); `changed` says the media decisions must be taken again.
    public func expireDue(now: Timestamp) throws -> (events: [Event], changed: Bool) {
        try state.withLock { state in
            var events = state.pending
            state.pending = []
            let due = state.active.filter { $0.grant.expires <= now }
            guard !due.isEmpty else { return (events, false) }
            for signed in due {
                state.ended[signed.grant.id] = Ended(state: "expired", expires: signed.grant.expires, at: now)
                var payload = Self.describe(signed.grant)
                payload["ended_at"] = .string(now.description)
                events.append((DeviceGrantJournalKind.expired, payload))
            }
            state.active.removeAll { $0.grant.expires <= now }
            try persist(state, now: now)
            return (events, true)
        }
    }

    /// Takes the list the collector serves now (`GET /v1/agent/grants`): new valid grants are
    /// applied; grants in force that it no longer serves were withdrawn; anything else is refused.
    public func reconcile(served envelopes: [[UInt8]], now: Timestamp) throws -> (events: [Event], changed: Bool) {
        guard let hostId else { return ([], false) }
        let root = try ProfileInstaller.pinnedRoot(path: layout.profileRootPath)
        var (events, changed) = try expireDue(now: now)
        try state.withLock { state in
            var servedIds: Set<String> = []
            for envelope in envelopes {
                let digest = Digest32(Array(SHA256.hash(data: envelope)))!
                var outcome = DeviceGrantVerifier.verify(envelope, pinnedRoot: root, host: hostId, now: now)
                if case .success(let signed) = outcome {
                    let id = signed.grant.id
                    servedIds.insert(id)
                    if let held = state.active.first(where: { $0.grant.id == id }) {
                        if held.grant == signed.grant { continue }
                        outcome = .failure(.replayed("a different grant with id \(id) is already in force"))
                    } else if let ended = state.ended[id] {
                        outcome = .failure(.replayed("it \(ended.state == "expired" ? "expired" : "was withdrawn") at \(ended.at)"))
                    }
                }
                switch outcome {
                case .success(let signed):
                    state.active.append(signed)
                    var payload = Self.describe(signed.grant)
                    payload["signing_key"] = .string(signed.certificate.signingKey.keyId)
                    payload["envelope_sha256"] = .string(digest.hex)
                    events.append((DeviceGrantJournalKind.applied, payload))
                    changed = true
                case .failure(let rejection):
                    guard !state.rejected.contains(digest) else { continue }
                    state.rejected.insert(digest)
                    events.append(Self.rejectedEvent(rejection, envelope: envelope, served: true))
                }
            }
            let withdrawn = state.active.filter { !servedIds.contains($0.grant.id) && now < $0.grant.expires }
            for signed in withdrawn {
                state.ended[signed.grant.id] = Ended(state: "revoked", expires: signed.grant.expires, at: now)
                var payload = Self.describe(signed.grant)
                payload["ended_at"] = .string(now.description)
                payload["detail"] = .string("the collector no longer serves it: revoked before it expired")
                events.append((DeviceGrantJournalKind.revoked, payload))
                changed = true
            }
            state.active.removeAll { signed in withdrawn.contains { $0.grant.id == signed.grant.id } }
            if changed { try persist(state, now: now) }
        }
        return (events, changed)
    }

    /// The active file first, then the ledger, each by rename after a sync.
    private func persist(_ state: State, now: Timestamp) throws {
        try FileSystem.makeDirectory(layout.profileDirectory, mode: 0o755)
        try FileSystem.writeFileAtomically(grantsPath, state.active.flatMap(\.bytes), mode: 0o644)
        let keep = state.ended.filter { now < $0.value.expires.adding(seconds: 86400) }.sorted { $0.key < $1.key }
        let ledger = JSONValue.object(["ended": .array(keep.map { id, ended in
            .object(["id": .string(id), "state": .string(ended.state), "expires": .string(ended.expires.description),
                     "at": .string(ended.at.description)])
        })])
        try FileSystem.writeFileAtomically(ledgerPath, ledger.canonicalBytes + [0x0A], mode: 0o644)
    }

    static func describe(_ grant: DeviceGrant) -> [String: JSONValue] {
        [
            "grant": .string(grant.id), "host": .string(grant.host), "usb_vendor": grant.vendor.map { .string($0) } ?? .null,
            "usb_product": grant.product.map { .string($0) } ?? .null, "usb_serial": .string(grant.serial),
            "mode": .string(grant.mode.rawValue), "issued": .string(grant.issued.description),
            "expires": .string(grant.expires.description), "reason": .string(grant.reason), "ref": .string(grant.reference),
        ]
    }

    static func rejectedEvent(_ rejection: DeviceGrantRejection, envelope: [UInt8], served: Bool) -> Event {
        var payload: [String: JSONValue] = [:]
        // The refused grant as it describes itself; its own `reason` becomes `grant_reason`, so
        // `reason` is always why it was refused.
        if case .success(let signed) = DeviceGrantVerifier.decode(envelope) {
            payload = describe(signed.grant)
            payload["grant_reason"] = payload.removeValue(forKey: "reason")
        }
        payload["code"] = .string(rejection.code)
        payload["reason"] = .string(rejection.description)
        payload["envelope_sha256"] = .string(Hex.encode(Array(SHA256.hash(data: envelope))))
        payload["source"] = .string(served ? "collector" : "grants file")
        return (DeviceGrantJournalKind.rejected, payload)
    }

    /// For the udev helper and `media scan`: the grants in the file that verify now for this
    /// host. Anything unreadable counts as no grant (the profile alone applies: fail closed).
    public static func activeGrants(grantsPath path: String, rootPath: String, hostId: String?, now: Timestamp,
                                    requireTrustedFile: Bool) -> [DeviceGrant] {
        guard let hostId, FileSystem.exists(path) else { return [] }
        if requireTrustedFile, InstalledProfile.untrusted(path) != nil { return [] }
        guard let root = try? ProfileInstaller.pinnedRoot(path: rootPath), let bytes = try? FileSystem.readFile(path) else { return [] }
        return DeviceGrantVerifier.verifyLines(bytes, pinnedRoot: root, host: hostId, now: now).compactMap { try? $0.get().grant }
    }
}
