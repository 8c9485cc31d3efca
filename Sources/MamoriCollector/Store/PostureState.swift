import Crypto
import MamoriCore

/// Applies posture records to the current-state and history tables, inside the transaction that
/// stores their batch: the receipt is sent only after both are committed.
///
/// - A check's `since` moves only when its status changes; evidence, title or clause changes
///   update the current row but keep `since`.
/// - History gets a row when a check appears, changes status, or is removed (status `removed`),
///   keyed by (host, check, journal seq): it is append-only.
/// - A complete report (`posture.report`) removes checks it no longer lists.
/// - The host's roll-up (`posture_checks`, `posture_failing`, `posture_at`) is recomputed once
///   per batch that carried posture, so the fleet summary reads one row per host.
enum PostureState {
    struct Current {
        var status: String
        var evidence: String
        var title: String
        var clause: String?
    }

    static func apply(_ records: [PostureRecord], host: HostRecord, sql: any SQLExecutor, now: Timestamp) async throws {
        guard !records.isEmpty else { return }
        var latest: Timestamp?
        for record in records {
            switch record.result {
            case .success(let report):
                try await apply(report, seq: record.seq, time: record.time, hostId: host.id, sql: sql)
                latest = max(latest ?? record.time, record.time)
            case .failure(let error):
                try await CollectorStore.insertAlert(
                    sql: sql, host: host, kind: "posture-malformed", failure: "malformed-posture-record", seq: record.seq,
                    detail: error.description, route: "journal", body: Array(record.line.utf8), keep: .whole, now: now)
            }
        }
        try await sql.query("""
            UPDATE hosts SET
                posture_checks = (SELECT COUNT(*) FROM posture_current WHERE host_id = ?),
                posture_failing = (SELECT COUNT(*) FROM posture_current WHERE host_id = ? AND status IN ('fail', 'error')),
                posture_at = COALESCE(?, posture_at)
            WHERE id = ?
            """, [.text(host.id), .text(host.id), latest.map { .text($0.description) } ?? .null, .text(host.id)])
    }

    static func apply(_ report: PostureReport, seq: Int64, time: Timestamp, hostId: String, sql: any SQLExecutor) async throws {
        let rows = try await sql.query("SELECT check_id, status, evidence, title, clause FROM posture_current WHERE host_id = ?", [.text(hostId)])
        var current: [String: Current] = [:]
        for row in rows {
            guard let id = row["check_id"].text, let status = row["status"].text else { continue }
            current[id] = Current(status: status, evidence: row["evidence"].text ?? "", title: row["title"].text ?? "", clause: row["clause"].text)
        }
        let at = time.description
        for check in report.checks {
            let clause: SQLValue = check.clause.map { .text($0) } ?? .null
            if let held = current[check.id] {
                if held.status != check.status.rawValue {
                    try await sql.query("""
                        UPDATE posture_current SET status = ?, evidence = ?, title = ?, clause = ?, since = ?, updated_at = ?, seq = ?
                        WHERE host_id = ? AND check_id = ?
                        """, [.text(check.status.rawValue), .text(check.evidence), .text(check.title), clause, .text(at), .text(at), .int(seq),
                              .text(hostId), .text(check.id)])
                    try await history(hostId, check.id, seq, check.status.rawValue, check.evidence, clause, check.title, at, sql)
                } else if held.evidence != check.evidence || held.title != check.title || held.clause != check.clause {
                    try await sql.query("""
                        UPDATE posture_current SET evidence = ?, title = ?, clause = ?, updated_at = ?, seq = ? WHERE host_id = ? AND check_id = ?
                        """, [.text(check.evidence), .text(check.title), clause, .text(at), .int(seq), .text(hostId), .text(check.id)])
                }
            } else {
                try await sql.query("""
                    INSERT INTO posture_current (host_id, check_id, status, title, clause, evidence, since, updated_at, seq)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """, [.text(hostId), .text(check.id), .text(check.status.rawValue), .text(check.title), clause, .text(check.evidence),
                          .text(at), .text(at), .int(seq)])
                try await history(hostId, check.id, seq, check.status.rawValue, check.evidence, clause, check.title, at, sql)
            }
        }
        guard report.complete else { return }
        let listed = Set(report.checks.map(\.id))
        for (id, held) in current where !listed.contains(id) {
            try await sql.query("DELETE FROM posture_current WHERE host_id = ? AND check_id = ?", [.text(hostId), .text(id)])
            try await history(hostId, id, seq, "removed", "no longer listed by the profile", held.clause.map { .text($0) } ?? .null,
                              held.title, at, sql)
        }
    }

    static func history(_ hostId: String, _ checkId: String, _ seq: Int64, _ status: String, _ evidence: String, _ clause: SQLValue,
                        _ title: String, _ at: String, _ sql: any SQLExecutor) async throws {
        try await sql.query("""
            INSERT INTO posture_history (host_id, check_id, seq, status, evidence, clause, title, changed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """, [.text(hostId), .text(checkId), .int(seq), .text(status), .text(evidence), clause, .text(title), .text(at)])
    }
}
