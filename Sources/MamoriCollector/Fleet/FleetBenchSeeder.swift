public import MamoriCore

/// BENCHMARK ONLY: writes a large fleet's rows directly, as ingest would have written them, so
/// the fleet benchmark (scripts/fleet-bench.sh, through `mamori-fleet-seed`) can time queries
/// over 100,000 hosts without enrolling them one by one. Not reachable from the collector's
/// server or from mamorictl. Hosts get placeholder keys (they cannot ship journals).
///
/// For each host, the rows are those `PostureState.apply` writes for one complete report (the
/// host's first, at `time`, journal seq `seq`): each check in `posture_current` with `since`
/// = `updated_at` = `time`, one `posture_history` row per check, and the host's roll-up.
/// FleetBenchSeederTests checks this against a report shipped through the real ingest path.
public enum FleetBenchSeeder {
    public struct Host: Sendable {
        public var id: String
        public var hostname: String
        public var organisation: Organisation
        public var checks: [PostureCheckResult]

        public init(id: String, hostname: String, organisation: Organisation, checks: [PostureCheckResult]) {
            self.id = id
            self.hostname = hostname
            self.organisation = organisation
            self.checks = checks
        }
    }

    /// Inserts `hosts`, 100 to a transaction; on PostgreSQL four transactions at a time.
    public static func seed(_ hosts: [Host], into database: any SQLDatabase, time: Timestamp, seq: Int64 = 1) async throws {
        let chunks = stride(from: 0, to: hosts.count, by: 100).map { Array(hosts[$0..<min(hosts.count, $0 + 100)]) }
        let parallel = database.engine == .postgres ? 4 : 1
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (index, chunk) in chunks.enumerated() {
                if index >= parallel { try await group.next() }
                group.addTask {
                    try await database.transaction { sql in
                        try await insertHosts(chunk, sql: sql, time: time)
                        try await insertPosture(chunk, sql: sql, time: time, seq: seq)
                    }
                }
            }
            try await group.waitForAll()
        }
    }

    static func insertHosts(_ hosts: [Host], sql: any SQLExecutor, time: Timestamp) async throws {
        var binds: [SQLValue] = []
        for host in hosts {
            let failing = host.checks.filter { !$0.status.isCompliant }.count
            binds += [.text(host.id), .text(host.hostname), .text(host.organisation.rawValue), .text("bench-seed:" + host.id),
                      .text("bench-seed"), .text(time.description), .text(Digest32.zero.hex), .text("bench-seed"), .text(time.description),
                      .int(Int64(host.checks.count)), .int(Int64(failing)), .text(time.description)]
        }
        let row = "(?, ?, ?, NULL, ?, ?, ?, 0, ?, 0, ?, 0, 0, ?, ?, ?, ?)"
        try await sql.query("""
            INSERT INTO hosts (id, hostname, org, host_group, public_key, k0_sealed, enrolled_at, next_seq, head_hash, epoch,
                               epoch_key_sealed, records, last_request, last_seen_at, posture_checks, posture_failing, posture_at)
            VALUES \(Array(repeating: row, count: hosts.count).joined(separator: ", "))
            """, binds)
    }

    static func insertPosture(_ hosts: [Host], sql: any SQLExecutor, time: Timestamp, seq: Int64) async throws {
        var current: [SQLValue] = []
        var history: [SQLValue] = []
        var rows = 0
        for host in hosts {
            for check in host.checks {
                let clause: SQLValue = check.clause.map { .text($0) } ?? .null
                current += [.text(host.id), .text(check.id), .text(check.status.rawValue), .text(check.title), clause, .text(check.evidence),
                            .text(time.description), .text(time.description), .int(seq)]
                history += [.text(host.id), .text(check.id), .int(seq), .text(check.status.rawValue), .text(check.evidence), clause,
                            .text(check.title), .text(time.description)]
                rows += 1
            }
        }
        guard rows > 0 else { return }
        try await sql.query("""
            INSERT INTO posture_current (host_id, check_id, status, title, clause, evidence, since, updated_at, seq)
            VALUES \(Array(repeating: "(?, ?, ?, ?, ?, ?, ?, ?, ?)", count: rows).joined(separator: ", "))
            """, current)
        try await sql.query("""
            INSERT INTO posture_history (host_id, check_id, seq, status, evidence, clause, title, changed_at)
            VALUES \(Array(repeating: "(?, ?, ?, ?, ?, ?, ?, ?)", count: rows).joined(separator: ", "))
            """, history)
    }
}
