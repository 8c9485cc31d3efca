public import Crypto
public import MamoriCore

/// Roles of administrators' bearer tokens (DESIGN "Collector and fleet queries").
public enum AdminRole: String, Sendable, CaseIterable {
    case admin
    case auditor
    case viewer
}

/// Who an admin request comes from: a role over some organisations (nil: all of them).
public struct AdminPrincipal: Sendable, Equatable {
    public var id: String
    public var role: AdminRole
    public var organisations: [Organisation]?
    public var label: String

    public func covers(_ organisation: Organisation) -> Bool { organisations?.contains(organisation) ?? true }
}

/// An enrolled terminal as the collector holds it; `point` is where its next batch continues.
public struct HostRecord: Sendable, Equatable {
    public var id: String
    public var hostname: String
    public var organisation: Organisation
    public var hostGroup: String?
    public var publicKeyHex: String
    public var k0Sealed: String
    public var point: JournalResumePoint
    public var epochKeySealed: String
    public var records: Int64
    public var lastRequest: Int64
    public var lastSeenAt: String?
    public var tamperedAt: String?

    public var publicKey: Curve25519.Signing.PublicKey? {
        Hex.decode(publicKeyHex).flatMap { try? Curve25519.Signing.PublicKey(rawRepresentation: $0) }
    }

    /// The head the collector holds: the last stored record, if any.
    public var head: JournalHead? {
        point.nextSeq == 0 ? nil : JournalHead(seq: point.nextSeq - 1, hash: point.prev)
    }
}

/// An alert raised by the collector: tampering found in a batch, a replayed request, a forged
/// request signature.
public struct CollectorAlert: Sendable, Equatable {
    public var id: String
    public var hostId: String?
    public var organisation: String?
    public var kind: String
    public var failure: String
    public var seq: Int64?
    public var detail: String
    public var evidenceId: String?
    public var createdAt: String
    public var acknowledgedAt: String?
    public var acknowledgedBy: String?
    public var acknowledgementReason: String?
    /// How many times it happened while the alert was open (one open alert per host and kind).
    public var occurrences: Int64 = 1
    /// The last time it happened; nil when only once.
    public var lastAt: String?

    /// Journal verification failures: the host counts as tampered until each is acknowledged.
    public static let tamperKind = "tamper"
}

/// The collector's domain queries over either engine.
public struct CollectorStore: Sendable {
    public let database: any SQLDatabase
    /// Request numbers and batch appends from concurrent requests share commits, in lanes by host.
    let committer: GroupCommitLanes
    /// Serialises raising alerts, so one stays open per host and kind.
    let alertLock = AsyncLock()

    /// `commitLanes`: parallel group-commit transactions (nil: one for SQLite, four for PostgreSQL).
    public init(database: any SQLDatabase, commitLanes: Int? = nil) {
        self.database = database
        self.committer = GroupCommitLanes(database: database,
                                          lanes: commitLanes ?? GroupCommitLanes.defaultCount(for: database.engine))
    }

    // MARK: Admin tokens

    /// Creates a bearer token; returns it in clear text, the only time it exists as such.
    public func createAdminToken(role: AdminRole, organisations: [Organisation]?, label: String, now: Timestamp) async throws -> (id: String, token: String) {
        let token = Random.token(prefix: "mamori_admin")
        let id = Random.identifier(prefix: "adm")
        let orgs = organisations.map { $0.map(\.rawValue).joined(separator: ",") } ?? "*"
        try await database.query("INSERT INTO admin_tokens (id, token_hash, role, orgs, label, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                                 [.text(id), .text(tokenHash(token)), .text(role.rawValue), .text(orgs), .text(label), .text(now.description)])
        return (id, token)
    }

    public func adminPrincipal(token: String) async throws -> AdminPrincipal? {
        let rows = try await database.query("SELECT id, role, orgs, label FROM admin_tokens WHERE token_hash = ? AND revoked_at IS NULL",
                                            [.text(tokenHash(token))])
        guard let row = rows.first, let id = row["id"].text, let role = row["role"].text.flatMap(AdminRole.init(rawValue:)),
              let orgs = row["orgs"].text else { return nil }
        let organisations: [Organisation]? = orgs == "*" ? nil : orgs.split(separator: ",").compactMap { Organisation(rawValue: String($0)) }
        return AdminPrincipal(id: id, role: role, organisations: organisations, label: row["label"].text ?? "")
    }

    // MARK: Enrolment

    public func createEnrollToken(organisation: Organisation, hostGroup: String?, expires: Timestamp, createdBy: String,
                                  now: Timestamp) async throws -> (id: String, token: String) {
        let token = Random.token(prefix: "mamori_enrol")
        let id = Random.identifier(prefix: "enr")
        try await database.query(
            "INSERT INTO enroll_tokens (id, token_hash, org, host_group, created_by, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [.text(id), .text(tokenHash(token)), .text(organisation.rawValue), hostGroup.map { .text($0) } ?? .null,
             .text(createdBy), .text(now.description), .text(expires.description)])
        return (id, token)
    }

    /// Spends an enrolment token and registers the host, in one transaction: a token works once,
    /// even with two collectors racing on one PostgreSQL.
    public func enrol(token: String, hostname: String, publicKeyHex: String, k0: EpochKey, box: SecretBox,
                      now: Timestamp) async throws -> HostRecord {
        let hash = tokenHash(token)
        let hostId = Random.identifier(prefix: "host")
        let k0Sealed = try box.seal(k0.keyBytes, context: "k0:" + hostId)
        let epochKeySealed = try box.seal(k0.keyBytes, context: "epoch-key:" + hostId)
        return try await database.transaction { sql in
            let rows = try await sql.query("SELECT id, org, host_group, expires_at, used_at FROM enroll_tokens WHERE token_hash = ?", [.text(hash)])
            guard let row = rows.first, let tokenId = row["id"].text else { throw CollectorError.unauthorized("unknown enrolment token") }
            guard row["used_at"].isNull else { throw CollectorError.unauthorized("this enrolment token has already been used") }
            guard let expires = row["expires_at"].text.flatMap(Timestamp.init(parsing:)), now < expires else {
                throw CollectorError.unauthorized("this enrolment token has expired")
            }
            guard let org = row["org"].text.flatMap(Organisation.init(rawValue:)) else {
                throw CollectorError.internalError("enrolment token names an unknown organisation")
            }
            let spent = try await sql.query("UPDATE enroll_tokens SET used_at = ?, used_by_host = ? WHERE id = ? AND used_at IS NULL RETURNING id",
                                            [.text(now.description), .text(hostId), .text(tokenId)])
            guard !spent.isEmpty else { throw CollectorError.unauthorized("this enrolment token has already been used") }
            let existing = try await sql.query("SELECT id FROM hosts WHERE public_key = ?", [.text(publicKeyHex)])
            guard existing.isEmpty else { throw CollectorError.conflict("a host with this key is already enrolled") }
            let group = row["host_group"]
            try await sql.query("""
                INSERT INTO hosts (id, hostname, org, host_group, public_key, k0_sealed, enrolled_at, next_seq, head_hash, epoch,
                                   epoch_key_sealed, records, last_request)
                VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, 0, ?, 0, 0)
                """,
                [.text(hostId), .text(hostname), .text(org.rawValue), group, .text(publicKeyHex), .text(k0Sealed),
                 .text(now.description), .text(Digest32.zero.hex), .text(epochKeySealed)])
            return HostRecord(id: hostId, hostname: hostname, organisation: org, hostGroup: group.text, publicKeyHex: publicKeyHex,
                              k0Sealed: k0Sealed, point: .genesis, epochKeySealed: epochKeySealed, records: 0, lastRequest: 0,
                              lastSeenAt: nil, tamperedAt: nil)
        }
    }

    // MARK: Hosts

    static let hostColumns = """
        id, hostname, org, host_group, public_key, k0_sealed, next_seq, head_hash, epoch, epoch_key_sealed, records,
        last_request, last_seen_at, tampered_at
        """

    public func host(id: String, using sql: (any SQLExecutor)? = nil) async throws -> HostRecord? {
        let rows = try await (sql ?? database).query("SELECT \(Self.hostColumns) FROM hosts WHERE id = ?", [.text(id)])
        return try rows.first.map(Self.decodeHost)
    }

    public func hosts(organisations: [Organisation]?) async throws -> [HostRecord] {
        let rows = try await database.query("SELECT \(Self.hostColumns) FROM hosts ORDER BY org, hostname, id", [])
        return try rows.map(Self.decodeHost).filter { host in organisations.map { $0.contains(host.organisation) } ?? true }
    }

    static func decodeHost(_ row: SQLRow) throws -> HostRecord {
        guard let id = row["id"].text, let hostname = row["hostname"].text,
              let org = row["org"].text.flatMap(Organisation.init(rawValue:)), let key = row["public_key"].text,
              let k0 = row["k0_sealed"].text, let nextSeq = row["next_seq"].int, nextSeq >= 0,
              let head = row["head_hash"].text.flatMap({ Digest32(hex: $0) }), let epoch = row["epoch"].int, epoch >= 0,
              let epochKey = row["epoch_key_sealed"].text, let records = row["records"].int, let last = row["last_request"].int
        else { throw CollectorError.internalError("a hosts row does not decode") }
        return HostRecord(id: id, hostname: hostname, organisation: org, hostGroup: row["host_group"].text, publicKeyHex: key,
                          k0Sealed: k0, point: JournalResumePoint(nextSeq: UInt64(nextSeq), prev: head, epoch: UInt64(epoch)),
                          epochKeySealed: epochKey, records: records, lastRequest: last, lastSeenAt: row["last_seen_at"].text,
                          tamperedAt: row["tampered_at"].text)
    }

    /// Accepts an agent's request number only if it is above the last one accepted: one
    /// conditional UPDATE, so a replay loses even against a concurrent collector instance.
    public func acceptRequestNumber(hostId: String, request: Int64, now: Timestamp) async throws -> Bool {
        try await committer.submit(key: hostId) { sql in
            let rows = try await sql.query(
                "UPDATE hosts SET last_request = ?, last_seen_at = ? WHERE id = ? AND last_request < ? RETURNING id",
                [.int(request), .text(now.description), .text(hostId), .int(request)])
            return !rows.isEmpty
        }
    }

    // MARK: Journal batches

    /// Stored lines with seq in `range`, by seq.
    public func storedLines(hostId: String, seqs range: ClosedRange<UInt64>) async throws -> [UInt64: String] {
        let rows = try await database.query(
            "SELECT first_seq, lines FROM journal_batches WHERE host_id = ? AND first_seq <= ? AND last_seq >= ? ORDER BY first_seq",
            [.text(hostId), .int(Int64(range.upperBound)), .int(Int64(range.lowerBound))])
        var out: [UInt64: String] = [:]
        for row in rows {
            guard let first = row["first_seq"].int, let lines = row["lines"].text else { continue }
            for (offset, line) in lines.split(separator: "\n", omittingEmptySubsequences: false).dropLast().enumerated() {
                let seq = UInt64(first) + UInt64(offset)
                if range.contains(seq) { out[seq] = String(line) }
            }
        }
        return out
    }

    /// Stores a verified batch that continues `from`, and moves the head to `to`. Returns false
    /// (storing nothing) if the host's head is no longer `from` — another request got there
    /// first — or, when `requestNumber` is given, if that number is not above the last one
    /// accepted: the request number, the head and the batch are one write, so a journal request
    /// costs one commit.
    public func appendBatch(hostId: String, from: JournalResumePoint, to: JournalResumePoint, epochKeySealed: String,
                            lines: String, records: Int64, requestNumber: Int64?, now: Timestamp,
                            posture: [PostureRecord] = [], media: MediaBatchFacts = MediaBatchFacts(),
                            host: HostRecord? = nil) async throws -> Bool {
        var sql = """
            UPDATE hosts SET next_seq = ?, head_hash = ?, epoch = ?, epoch_key_sealed = ?, records = records + ?, last_seen_at = ?
            """
        var binds: [SQLValue] = [.int(Int64(to.nextSeq)), .text(to.prev.hex), .int(Int64(to.epoch)), .text(epochKeySealed), .int(records),
                                 .text(now.description)]
        if let requestNumber {
            sql += ", last_request = ?"
            binds.append(.int(requestNumber))
        }
        sql += " WHERE id = ? AND next_seq = ? AND head_hash = ?"
        binds += [.text(hostId), .int(Int64(from.nextSeq)), .text(from.prev.hex)]
        if let requestNumber {
            sql += " AND last_request < ?"
            binds.append(.int(requestNumber))
        }
        sql += " RETURNING id"
        let update = sql
        let updateBinds = binds
        return try await committer.submit(key: hostId) { executor in
            guard !(try await executor.query(update, updateBinds)).isEmpty else { return false }
            try await executor.query(
                "INSERT INTO journal_batches (host_id, first_seq, last_seq, last_hash, records, received_at, lines) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [.text(hostId), .int(Int64(from.nextSeq)), .int(Int64(to.nextSeq) - 1), .text(to.prev.hex), .int(records),
                 .text(now.description), .text(lines)])
            if let host { try await PostureState.apply(posture, host: host, sql: executor, now: now) }
            if !media.isEmpty { try await MediaState.apply(media, hostId: hostId, sql: executor) }
            return true
        }
    }

    // MARK: Evidence and alerts

    /// How much of a request body an alert keeps as evidence.
    public enum EvidenceBody: Sendable {
        /// An authenticated batch that failed verification: kept whole (deduplicated by hash,
        /// up to the per-host cap; past it only the prefix).
        case whole
        /// Anything an unauthenticated peer sent (a bad signature) or an authenticated request
        /// that is not a journal batch (a replay): its SHA-256, its size and the first 4 KiB.
        case prefix
    }

    /// The most of a body kept when only a prefix is kept.
    public static let evidencePrefixBytes = 4 << 10
    /// Whole bodies kept per host in all; past it, prefixes only.
    public static let evidenceBytesPerHost: Int64 = 64 << 20

    /// Keeps evidence of the request and raises an alert, in one transaction. One alert stays
    /// open per host and kind: a repeat adds to its `occurrences` and moves `last_at` instead of
    /// making another. Raising is serialised in this process, so concurrent requests never open
    /// two.
    @discardableResult
    public func raiseAlert(host: HostRecord?, kind: String, failure: String, seq: Int64?, detail: String, route: String,
                           body: [UInt8], keep: EvidenceBody, now: Timestamp) async throws -> CollectorAlert {
        try await alertLock.withLock {
            try await database.transaction { sql in
                try await Self.insertAlert(sql: sql, host: host, kind: kind, failure: failure, seq: seq, detail: detail, route: route,
                                           body: body, keep: keep, now: now)
            }
        }
    }

    /// The evidence row and the alert (new, or the open one of this host and kind counted up),
    /// on a transaction's executor. An alert of kind `tamper` marks the host tampered until every
    /// tamper alert of it is acknowledged.
    @discardableResult
    static func insertAlert(sql: any SQLExecutor, host: HostRecord?, kind: String, failure: String, seq: Int64?, detail: String,
                            route: String, body: [UInt8], keep: EvidenceBody, now: Timestamp) async throws -> CollectorAlert {
        let evidenceId = try await storeEvidence(sql: sql, host: host, route: route, body: body, keep: keep, now: now)
        let open = host == nil ? [] : try await sql.query(
            "SELECT \(Self.alertColumns) FROM alerts WHERE host_id = ? AND kind = ? AND acknowledged_at IS NULL ORDER BY created_at LIMIT 1",
            [.text(host?.id ?? ""), .text(kind)])
        if var alert = open.first.flatMap(Self.decodeAlert) {
            try await sql.query("UPDATE alerts SET occurrences = occurrences + 1, last_at = ? WHERE id = ?", [.text(now.description), .text(alert.id)])
            alert.occurrences += 1
            alert.lastAt = now.description
            return alert
        }
        let alert = CollectorAlert(id: Random.identifier(prefix: "alr"), hostId: host?.id, organisation: host?.organisation.rawValue,
                                   kind: kind, failure: failure, seq: seq, detail: detail, evidenceId: evidenceId,
                                   createdAt: now.description)
        try await sql.query("""
            INSERT INTO alerts (id, host_id, org, kind, failure, seq, detail, evidence_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [.text(alert.id), alert.hostId.map { .text($0) } ?? .null, alert.organisation.map { .text($0) } ?? .null,
             .text(kind), .text(failure), seq.map { .int($0) } ?? .null, .text(detail), .text(evidenceId), .text(alert.createdAt)])
        if kind == CollectorAlert.tamperKind, let host {
            try await sql.query("UPDATE hosts SET tampered_at = ? WHERE id = ? AND tampered_at IS NULL", [.text(now.description), .text(host.id)])
        }
        return alert
    }

    /// One evidence row: the body whole (once per host and hash, up to the host's cap) or its
    /// first 4 KiB, always with its SHA-256 and size. Returns the row's id (an existing one when
    /// the same body is already kept whole for this host).
    static func storeEvidence(sql: any SQLExecutor, host: HostRecord?, route: String, body: [UInt8], keep: EvidenceBody,
                              now: Timestamp) async throws -> String {
        let digest = Hex.encode(SHA256.hash(data: body))
        var whole = keep == .whole
        if whole, let host {
            let same = try await sql.query("SELECT id FROM evidence WHERE host_id = ? AND body_sha256 = ? AND kept = 'whole' LIMIT 1",
                                           [.text(host.id), .text(digest)])
            if let id = same.first?["id"].text { return id }
            let used = try await sql.query("SELECT COALESCE(SUM(body_size), 0) AS used FROM evidence WHERE host_id = ? AND kept = 'whole'",
                                           [.text(host.id)])
            if (used.first?["used"].int ?? 0) + Int64(body.count) > evidenceBytesPerHost { whole = false }
        }
        let kept = whole ? body : Array(body.prefix(evidencePrefixBytes))
        let text = String(validating: kept, as: UTF8.self) ?? ("hex:" + Hex.encode(kept))
        let evidenceId = Random.identifier(prefix: "evd")
        try await sql.query("""
            INSERT INTO evidence (id, host_id, received_at, route, body_sha256, body, body_size, kept) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [.text(evidenceId), host.map { .text($0.id) } ?? .null, .text(now.description), .text(route),
             .text(digest), .text(text), .int(Int64(body.count)), .text(whole ? "whole" : "prefix")])
        return evidenceId
    }

    public func alerts(organisations: [Organisation]?, hostId: String? = nil) async throws -> [CollectorAlert] {
        let rows = try await database.query(
            "SELECT \(Self.alertColumns) FROM alerts ORDER BY created_at, id", [])
        return rows.compactMap(Self.decodeAlert).filter { alert in
            if let hostId, alert.hostId != hostId { return false }
            guard let organisations else { return true }
            // Alerts with no host (forged requests from nowhere) are for administrators of every organisation.
            guard let org = alert.organisation.flatMap(Organisation.init(rawValue:)) else { return organisations.count == Organisation.allCases.count }
            return organisations.contains(org)
        }
    }

    // MARK: Profiles

    public func storeProfile(_ verified: VerifiedProfile, envelope: [UInt8], uploadedBy: String, now: Timestamp) async throws -> String {
        let scope = verified.profile.scope
        let groups = scope.hostGroups.sorted().joined(separator: ",")
        let id = Random.identifier(prefix: "prf")
        return try await database.transaction { sql in
            let newest = try await sql.query("SELECT MAX(version) AS v FROM profiles WHERE org = ? AND host_groups = ?",
                                             [.text(scope.organisation.rawValue), .text(groups)])
            if let current = newest.first?["v"].int, current >= verified.profile.version {
                throw CollectorError.conflict("version \(verified.profile.version) is not newer than version \(current) already held for this scope")
            }
            try await sql.query("""
                INSERT INTO profiles (id, org, host_groups, version, name, sha256, envelope, uploaded_by, uploaded_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
                [.text(id), .text(scope.organisation.rawValue), .text(groups), .int(verified.profile.version),
                 .text(verified.profile.name), .text(verified.sha256.hex), .text(String(decoding: envelope, as: UTF8.self)),
                 .text(uploadedBy), .text(now.description)])
            return id
        }
    }

    /// The newest envelope for a host: among profiles of its organisation that name its group or
    /// no group, the highest version.
    public func newestProfile(organisation: Organisation, hostGroup: String?) async throws -> (version: Int64, envelope: String)? {
        let rows = try await database.query("SELECT host_groups, version, envelope FROM profiles WHERE org = ? ORDER BY version DESC",
                                            [.text(organisation.rawValue)])
        for row in rows {
            guard let groups = row["host_groups"].text, let version = row["version"].int, let envelope = row["envelope"].text else { continue }
            let names = groups.split(separator: ",").map(String.init)
            if names.isEmpty || hostGroup.map(names.contains) == true { return (version, envelope) }
        }
        return nil
    }

    // MARK: Metrics

    public func hostCountsByStatus(staleBefore: Timestamp) async throws -> [String: Int64] {
        let rows = try await database.query("SELECT tampered_at, last_seen_at FROM hosts", [])
        var counts: [String: Int64] = ["ok": 0, "stale": 0, "tampered": 0, "never-seen": 0]
        let stale = staleBefore.description
        for row in rows {
            let status: String
            if !row["tampered_at"].isNull { status = "tampered" }
            else if let seen = row["last_seen_at"].text { status = seen < stale ? "stale" : "ok" }
            else { status = "never-seen" }
            counts[status, default: 0] += 1
        }
        return counts
    }
}
