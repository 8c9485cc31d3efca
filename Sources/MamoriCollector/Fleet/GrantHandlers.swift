public import MamoriCore
import Logging

/// A pushed grant as the collector holds it, with what the terminal's journal said about it.
public struct DeviceGrantRow: Sendable, Equatable {
    public var id: String
    public var hostId: String
    public var hostname: String
    public var organisation: String
    public var vendor: String?
    public var product: String?
    public var serial: String
    public var mode: String
    public var issuedAt: String
    public var expiresAt: String
    public var reason: String
    public var reference: String
    public var signingKey: String
    public var envelope: String
    public var pushedBy: String
    public var pushedAt: String
    public var revokedAt: String?
    public var revokedBy: String?
    public var revokeReason: String?
    public var appliedAt: String?
    public var endedAt: String?
    public var endState: String?
    public var rejectedCode: String?
    public var uses: Int64
    public var lastUsedAt: String?

    /// `pending` (pushed, not yet taken by the terminal), `active`, `expired`, `revoked`, or
    /// `rejected` (the terminal refused it).
    public func state(now: Timestamp) -> String {
        if revokedAt != nil || endState == "revoked" { return "revoked" }
        if rejectedCode != nil && appliedAt == nil { return "rejected" }
        if endState == "expired" || expiresAt <= now.description { return "expired" }
        return appliedAt == nil ? "pending" : "active"
    }

    public func json(now: Timestamp) -> JSONValue {
        var members: [String: JSONValue] = [
            "id": .string(id), "host": .string(hostId), "hostname": .string(hostname), "org": .string(organisation),
            "serial": .string(serial), "mode": .string(mode), "issued": .string(issuedAt), "expires": .string(expiresAt),
            "reason": .string(reason), "ref": .string(reference), "signing_key": .string(signingKey), "pushed_by": .string(pushedBy),
            "pushed_at": .string(pushedAt), "state": .string(state(now: now)), "uses": .int(uses),
        ]
        let optional: [(String, String?)] = [
            ("vendor", vendor), ("product", product), ("revoked_at", revokedAt), ("revoked_by", revokedBy),
            ("revoke_reason", revokeReason), ("applied_at", appliedAt), ("ended_at", endedAt), ("rejected_code", rejectedCode),
            ("last_used_at", lastUsedAt),
        ]
        for (key, value) in optional { if let value { members[key] = .string(value) } }
        return .object(members)
    }

    static let columns = """
        g.id, g.host_id, h.hostname, g.org, g.vendor, g.product, g.serial, g.mode, g.issued_at, g.expires_at, g.reason, g.reference,
        g.signing_key, g.envelope, g.pushed_by, g.pushed_at, g.revoked_at, g.revoked_by, g.revoke_reason, g.applied_at, g.ended_at,
        g.end_state, g.rejected_code, g.uses, g.last_used_at
        """

    static func decode(_ row: SQLRow) -> DeviceGrantRow? {
        guard let id = row["id"].text, let hostId = row["host_id"].text, let serial = row["serial"].text,
              let expires = row["expires_at"].text else { return nil }
        return DeviceGrantRow(
            id: id, hostId: hostId, hostname: row["hostname"].text ?? "", organisation: row["org"].text ?? "",
            vendor: row["vendor"].text, product: row["product"].text, serial: serial, mode: row["mode"].text ?? "",
            issuedAt: row["issued_at"].text ?? "", expiresAt: expires, reason: row["reason"].text ?? "",
            reference: row["reference"].text ?? "", signingKey: row["signing_key"].text ?? "", envelope: row["envelope"].text ?? "",
            pushedBy: row["pushed_by"].text ?? "", pushedAt: row["pushed_at"].text ?? "", revokedAt: row["revoked_at"].text,
            revokedBy: row["revoked_by"].text, revokeReason: row["revoke_reason"].text, appliedAt: row["applied_at"].text,
            endedAt: row["ended_at"].text, endState: row["end_state"].text, rejectedCode: row["rejected_code"].text,
            uses: row["uses"].int ?? 0, lastUsedAt: row["last_used_at"].text)
    }
}

/// A USB identity a host's media guard decided about.
public struct HostDeviceRow: Sendable, Equatable {
    public var vendor: String
    public var product: String
    public var serial: String
    public var vendorName: String?
    public var modelName: String?
    public var deviceClass: String
    public var firstSeen: String
    public var lastSeen: String
    public var lastDecision: String
    public var lastRule: String

    public var json: JSONValue {
        var members: [String: JSONValue] = [
            "vendor": .string(vendor), "product": .string(product), "serial": serial.isEmpty ? .null : .string(serial),
            "class": .string(deviceClass), "first_seen": .string(firstSeen), "last_seen": .string(lastSeen),
            "last_decision": .string(lastDecision), "last_rule": .string(lastRule),
        ]
        if let vendorName { members["vendor_name"] = .string(vendorName) }
        if let modelName { members["model_name"] = .string(modelName) }
        return .object(members)
    }
}

extension CollectorStore {
    /// Stores a verified grant once: a grant id pushed again is a replay (409).
    public func storeGrant(_ signed: SignedDeviceGrant, envelope: [UInt8], host: HostRecord, pushedBy: String, now: Timestamp) async throws {
        let grant = signed.grant
        try await database.transaction { sql in
            guard try await sql.query("SELECT id FROM device_grants WHERE id = ?", [.text(grant.id)]).isEmpty else {
                throw CollectorError.conflict("grant \(grant.id) was pushed before: a grant is pushed once (sign a new one)")
            }
            try await sql.query("""
                INSERT INTO device_grants (id, host_id, org, vendor, product, serial, mode, issued_at, expires_at, reason, reference,
                                           signing_key, envelope, pushed_by, pushed_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
                [.text(grant.id), .text(host.id), .text(host.organisation.rawValue), grant.vendor.map(SQLValue.text) ?? .null,
                 grant.product.map(SQLValue.text) ?? .null, .text(grant.serial), .text(grant.mode.rawValue),
                 .text(grant.issued.description), .text(grant.expires.description), .text(grant.reason), .text(grant.reference),
                 .text(signed.certificate.signingKey.keyId), .text(String(decoding: envelope, as: UTF8.self)), .text(pushedBy),
                 .text(now.description)])
        }
    }

    /// Grants of hosts in `organisations`, newest first; `includeEnded` false keeps only those
    /// not revoked and not expired at `now`.
    public func grants(organisations: [Organisation], hostId: String? = nil, includeEnded: Bool, now: Timestamp,
                       limit: Int = 1000) async throws -> [DeviceGrantRow] {
        guard !organisations.isEmpty else { return [] }
        var sql = "SELECT \(DeviceGrantRow.columns) FROM device_grants g JOIN hosts h ON h.id = g.host_id WHERE g.org IN ("
            + organisations.map { _ in "?" }.joined(separator: ", ") + ")"
        var binds: [SQLValue] = organisations.map { .text($0.rawValue) }
        if let hostId {
            sql += " AND g.host_id = ?"
            binds.append(.text(hostId))
        }
        if !includeEnded {
            sql += " AND g.revoked_at IS NULL AND g.expires_at > ? AND (g.end_state IS NULL)"
            binds.append(.text(now.description))
        }
        sql += " ORDER BY g.pushed_at DESC, g.id LIMIT \(max(1, min(limit, 10000)))"
        return try await database.query(sql, binds).compactMap(DeviceGrantRow.decode)
    }

    /// Grants of one organisation in force at some time in [from, to].
    public func grants(organisation: Organisation, from: Timestamp, to: Timestamp) async throws -> [DeviceGrantRow] {
        try await database.query("""
            SELECT \(DeviceGrantRow.columns) FROM device_grants g JOIN hosts h ON h.id = g.host_id
            WHERE g.org = ? AND g.pushed_at <= ? AND g.expires_at >= ? ORDER BY g.pushed_at, g.id
            """, [.text(organisation.rawValue), .text(to.description), .text(from.description)]).compactMap(DeviceGrantRow.decode)
    }

    public func grant(id: String) async throws -> DeviceGrantRow? {
        try await database.query("SELECT \(DeviceGrantRow.columns) FROM device_grants g JOIN hosts h ON h.id = g.host_id WHERE g.id = ?",
                                 [.text(id)]).first.flatMap(DeviceGrantRow.decode)
    }

    /// Withdraws a grant: the collector stops serving it, and the terminal ends it at its next poll.
    public func revokeGrant(id: String, by principal: String, reason: String, now: Timestamp) async throws -> Bool {
        !(try await database.query(
            "UPDATE device_grants SET revoked_at = ?, revoked_by = ?, revoke_reason = ? WHERE id = ? AND revoked_at IS NULL RETURNING id",
            [.text(now.description), .text(principal), .text(reason), .text(id)])).isEmpty
    }

    /// The envelopes a host is served: not revoked, not expired.
    public func servedGrants(hostId: String, now: Timestamp) async throws -> [String] {
        try await database.query(
            "SELECT envelope FROM device_grants WHERE host_id = ? AND revoked_at IS NULL AND expires_at > ? ORDER BY pushed_at, id",
            [.text(hostId), .text(now.description)]).compactMap { $0["envelope"].text }
    }

    public func hostDevices(hostId: String) async throws -> [HostDeviceRow] {
        try await database.query("""
            SELECT vendor, product, serial, vendor_name, model_name, class, first_seen, last_seen, last_decision, last_rule
            FROM host_devices WHERE host_id = ? ORDER BY last_seen DESC, vendor, product, serial
            """, [.text(hostId)]).map { row in
            HostDeviceRow(vendor: row["vendor"].text ?? "", product: row["product"].text ?? "", serial: row["serial"].text ?? "",
                          vendorName: row["vendor_name"].text, modelName: row["model_name"].text, deviceClass: row["class"].text ?? "",
                          firstSeen: row["first_seen"].text ?? "", lastSeen: row["last_seen"].text ?? "",
                          lastDecision: row["last_decision"].text ?? "", lastRule: row["last_rule"].text ?? "")
        }
    }
}

extension CollectorService {
    /// POST /v1/admin/grants: a signed grant (`mamorictl profile grant-device`), verified here
    /// against the profile root and the host it names before any terminal is served it.
    public func pushGrant(_ request: CollectorRequest) async throws -> CollectorResponse {
        let principal = try await authorise(request, .pushProfiles)
        guard let root = profileRoot else {
            throw CollectorError.conflict("this collector has no profile root key (init --profile-root ROOT.pub); it cannot verify grants")
        }
        let signed: SignedDeviceGrant
        switch DeviceGrantVerifier.verify(request.body, pinnedRoot: root, host: nil, now: now()) {
        case .failure(let rejection):
            return .error(.unprocessable("grant rejected: \(rejection.description)"), extra: ["code": .string(rejection.code)])
        case .success(let verified): signed = verified
        }
        // A host the token may not see in detail is answered as one that does not exist.
        guard let host = try await store.host(id: signed.grant.host), principal.seesDetails(of: host.organisation) else {
            throw CollectorError.notFound("no host \(signed.grant.host)")
        }
        try await store.storeGrant(signed, envelope: request.body, host: host, pushedBy: principal.id, now: now())
        logger.notice("device grant pushed", metadata: ["grant": "\(signed.grant.id)", "host": "\(host.id)", "by": "\(principal.id)"])
        return .json(201, .object([
            "id": .string(signed.grant.id), "host": .string(host.id), "hostname": .string(host.hostname),
            "device": .string(signed.grant.deviceLabel), "expires": .string(signed.grant.expires.description),
        ]))
    }

    /// POST /v1/admin/grants/revoke {"id","reason"}: the terminal ends the grant at its next poll.
    public func revokeGrant(_ request: CollectorRequest) async throws -> CollectorResponse {
        let principal = try await authorise(request, .pushProfiles)
        let body = try StrictObject(parsing: request.body, allowed: ["id", "reason"])
        let id = try body.string("id")
        let reason = try Self.reason(body)
        guard let row = try await store.grant(id: id), let org = Organisation(rawValue: row.organisation), principal.seesDetails(of: org) else {
            throw CollectorError.notFound("no grant \(id)")
        }
        let state = row.state(now: now())
        guard state != "revoked" else { throw CollectorError.conflict("grant \(id) is already revoked") }
        guard state != "expired" else { throw CollectorError.conflict("grant \(id) has already expired (\(row.expiresAt))") }
        guard try await store.revokeGrant(id: id, by: principal.id, reason: reason, now: now()) else {
            throw CollectorError.conflict("grant \(id) is already revoked")
        }
        logger.notice("device grant revoked", metadata: ["grant": "\(id)", "by": "\(principal.id)"])
        let revoked = try await store.grant(id: id) ?? row
        return .json(200, revoked.json(now: now()))
    }

    /// GET /v1/admin/grants[?host=NAME][&all=true]: auditors and admins, hosts they see in detail.
    public func listGrants(_ request: CollectorRequest) async throws -> CollectorResponse {
        let principal = try await authorise(request, .readAudit)
        var hostId: String?
        if let name = request.query["host"], !name.isEmpty {
            var lookup = request
            lookup.query["name"] = name
            hostId = try await namedHost(lookup, principal).id
        }
        let all: Bool
        switch request.query["all"] {
        case nil, "", "false": all = false
        case "true": all = true
        default: throw CollectorError.badRequest("`all` must be true or false")
        }
        let time = now()
        let rows = try await store.grants(organisations: principal.detailOrganisations, hostId: hostId, includeEnded: all, now: time)
        return .json(200, .object(["grants": .array(rows.map { $0.json(now: time) })]))
    }

    /// GET /v1/admin/fleet/devices?name=HOST: the USB devices the host's media guard decided about.
    public func hostDevices(_ request: CollectorRequest) async throws -> CollectorResponse {
        let principal = try await authorise(request, .readAudit)
        let host = try await namedHost(request, principal)
        let devices = try await store.hostDevices(hostId: host.id)
        return .json(200, .object(["host": host.json, "devices": .array(devices.map(\.json))]))
    }

    /// GET /v1/agent/grants: the grants this host is served now (signed envelopes as text).
    public func agentGrants(_ request: CollectorRequest) async throws -> CollectorResponse {
        let host = try await authenticateAgent(request)
        let envelopes = try await store.servedGrants(hostId: host.id, now: now())
        return .json(200, .object(["grants": .array(envelopes.map { .string($0) })]))
    }
}
