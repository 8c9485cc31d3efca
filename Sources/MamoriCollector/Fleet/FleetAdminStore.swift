public import MamoriCore

/// An admin token as listed (never its secret).
public struct AdminTokenInfo: Sendable, Equatable {
    public var id: String
    public var role: AdminRole
    public var organisations: [Organisation]?
    public var label: String
    public var createdAt: String
    public var createdBy: String?
    public var revokedAt: String?
    public var revokedBy: String?
}

extension CollectorStore {
    static let alertColumns = """
        id, host_id, org, kind, failure, seq, detail, evidence_id, created_at, acknowledged_at, acknowledged_by, ack_reason, occurrences, last_at
        """

    static func decodeAlert(_ row: SQLRow) -> CollectorAlert? {
        guard let id = row["id"].text, let kind = row["kind"].text, let failure = row["failure"].text,
              let detail = row["detail"].text, let created = row["created_at"].text else { return nil }
        return CollectorAlert(id: id, hostId: row["host_id"].text, organisation: row["org"].text, kind: kind, failure: failure,
                              seq: row["seq"].int, detail: detail, evidenceId: row["evidence_id"].text, createdAt: created,
                              acknowledgedAt: row["acknowledged_at"].text, acknowledgedBy: row["acknowledged_by"].text,
                              acknowledgementReason: row["ack_reason"].text, occurrences: row["occurrences"].int ?? 1,
                              lastAt: row["last_at"].text)
    }

    /// Alerts a principal may see, created at or after `since`, oldest first.
    public func alerts(visibleTo principal: AdminPrincipal, since: Timestamp?, hostId: String? = nil) async throws -> [CollectorAlert] {
        var sql = "SELECT \(Self.alertColumns) FROM alerts WHERE created_at >= ?"
        var binds: [SQLValue] = [.text(since?.description ?? "")]
        if let hostId {
            sql += " AND host_id = ?"
            binds.append(.text(hostId))
        }
        let rows = try await database.query(sql + " ORDER BY created_at, id", binds)
        return rows.compactMap(Self.decodeAlert).filter { principal.seesAlert(organisation: $0.organisation) }
    }

    /// Records who acknowledged an alert and why (never deleted). A host stays tampered until
    /// every tamper alert of it is acknowledged.
    public func acknowledgeAlert(id: String, principal: AdminPrincipal, reason: String, now: Timestamp) async throws -> CollectorAlert {
        try await database.transaction { sql in
            let rows = try await sql.query("SELECT \(Self.alertColumns) FROM alerts WHERE id = ?", [.text(id)])
            guard let alert = rows.first.flatMap(Self.decodeAlert), principal.seesAlert(organisation: alert.organisation) else {
                throw CollectorError.notFound("no alert \(id)")
            }
            guard alert.acknowledgedAt == nil else {
                throw CollectorError.conflict("alert \(id) was acknowledged at \(alert.acknowledgedAt ?? "") by \(alert.acknowledgedBy ?? "")")
            }
            let by = "\(principal.id) (\(principal.label))"
            try await sql.query("UPDATE alerts SET acknowledged_at = ?, acknowledged_by = ?, ack_reason = ? WHERE id = ? AND acknowledged_at IS NULL",
                                [.text(now.description), .text(by), .text(reason), .text(id)])
            if alert.kind == CollectorAlert.tamperKind, let host = alert.hostId {
                try await sql.query("""
                    UPDATE hosts SET tampered_at = NULL WHERE id = ? AND NOT EXISTS
                        (SELECT 1 FROM alerts WHERE host_id = ? AND kind = ? AND acknowledged_at IS NULL)
                    """, [.text(host), .text(host), .text(CollectorAlert.tamperKind)])
            }
            var acknowledged = alert
            acknowledged.acknowledgedAt = now.description
            acknowledged.acknowledgedBy = by
            acknowledged.acknowledgementReason = reason
            return acknowledged
        }
    }

    /// Marks a host out of scope (policy 4(2)) or back in, recording who and why.
    public func setOutOfScope(hostId: String, outOfScope: Bool, principal: AdminPrincipal, reason: String, now: Timestamp) async throws {
        try await database.transaction { sql in
            try await sql.query("UPDATE hosts SET out_of_scope = ? WHERE id = ?", [.int(outOfScope ? 1 : 0), .text(hostId)])
            try await sql.query("""
                INSERT INTO scope_changes (id, host_id, out_of_scope, changed_by, reason, changed_at) VALUES (?, ?, ?, ?, ?, ?)
                """, [.text(Random.identifier(prefix: "scp")), .text(hostId), .int(outOfScope ? 1 : 0),
                      .text("\(principal.id) (\(principal.label))"), .text(reason), .text(now.description)])
        }
    }

    // MARK: Admin tokens through the API

    public func createAdminToken(role: AdminRole, organisations: [Organisation]?, label: String, createdBy: String,
                                 now: Timestamp) async throws -> (id: String, token: String) {
        let created = try await createAdminToken(role: role, organisations: organisations, label: label, now: now)
        try await database.query("UPDATE admin_tokens SET created_by = ? WHERE id = ?", [.text(createdBy), .text(created.id)])
        return created
    }

    public func adminTokens() async throws -> [AdminTokenInfo] {
        let rows = try await database.query(
            "SELECT id, role, orgs, label, created_at, created_by, revoked_at, revoked_by FROM admin_tokens ORDER BY created_at, id", [])
        return rows.compactMap { row in
            guard let id = row["id"].text, let role = row["role"].text.flatMap(AdminRole.init(rawValue:)), let orgs = row["orgs"].text,
                  let created = row["created_at"].text else { return nil }
            return AdminTokenInfo(id: id, role: role, organisations: Self.decodeOrganisations(orgs), label: row["label"].text ?? "",
                                  createdAt: created, createdBy: row["created_by"].text, revokedAt: row["revoked_at"].text,
                                  revokedBy: row["revoked_by"].text)
        }
    }

    static func decodeOrganisations(_ text: String) -> [Organisation]? {
        text == "*" ? nil : text.split(separator: ",").compactMap { Organisation(rawValue: String($0)) }
    }

    /// Revokes a token; false if it was already revoked.
    public func revokeAdminToken(id: String, by: String, now: Timestamp) async throws -> Bool {
        !(try await database.query("UPDATE admin_tokens SET revoked_at = ?, revoked_by = ? WHERE id = ? AND revoked_at IS NULL RETURNING id",
                                    [.text(now.description), .text(by), .text(id)])).isEmpty
    }
}
