/// Applies what a verified batch says about removable media (`MediaEventExtractor`), in the
/// batch's own commit: a host can only ever write its own rows.
enum MediaState {
    static func apply(_ facts: MediaBatchFacts, hostId: String, sql: any SQLExecutor) async throws {
        for device in facts.devices {
            try await sql.query("""
                INSERT INTO host_devices (host_id, vendor, product, serial, vendor_name, model_name, class, first_seen, last_seen,
                                          last_decision, last_rule)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (host_id, vendor, product, serial) DO UPDATE SET
                    vendor_name = excluded.vendor_name, model_name = excluded.model_name, class = excluded.class,
                    last_seen = excluded.last_seen, last_decision = excluded.last_decision, last_rule = excluded.last_rule
                """,
                [.text(hostId), .text(device.vendor), .text(device.product), .text(device.serial),
                 device.vendorName.map(SQLValue.text) ?? .null, device.modelName.map(SQLValue.text) ?? .null,
                 .text(device.deviceClass), .text(device.firstSeen), .text(device.lastSeen), .text(device.decision), .text(device.rule)])
        }
        for event in facts.grantEvents {
            let key: [SQLValue] = [.text(event.grantId), .text(hostId)]
            switch event.kind {
            case .applied:
                try await sql.query("UPDATE device_grants SET applied_at = COALESCE(applied_at, ?) WHERE id = ? AND host_id = ?",
                                    [.text(event.time)] + key)
            case .used:
                try await sql.query("UPDATE device_grants SET uses = uses + 1, last_used_at = ? WHERE id = ? AND host_id = ?",
                                    [.text(event.time)] + key)
            case .expired, .revoked:
                try await sql.query("""
                    UPDATE device_grants SET ended_at = COALESCE(ended_at, ?), end_state = COALESCE(end_state, ?) WHERE id = ? AND host_id = ?
                    """, [.text(event.time), .text(event.kind == .expired ? "expired" : "revoked")] + key)
            case .rejected(let code):
                try await sql.query("UPDATE device_grants SET rejected_code = ? WHERE id = ? AND host_id = ?", [.text(code)] + key)
            }
        }
    }
}
