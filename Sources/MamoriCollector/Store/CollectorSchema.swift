/// The collector's schema, one migration a version. Written once for both engines (see
/// SQLDatabase): BIGINT, TEXT and DOUBLE PRECISION only; times are RFC 3339 UTC text, which
/// sorts as time does; bytes are hex.
public enum CollectorSchema {
    public static let migrations: [SQLMigration] = [
        SQLMigration(version: 1, name: "enrolment, hosts, journal batches, evidence, alerts, profiles", statements: [
            """
            CREATE TABLE admin_tokens (
                id TEXT PRIMARY KEY,
                token_hash TEXT NOT NULL UNIQUE,
                role TEXT NOT NULL,
                orgs TEXT NOT NULL,
                label TEXT NOT NULL,
                created_at TEXT NOT NULL,
                revoked_at TEXT
            )
            """,
            """
            CREATE TABLE enroll_tokens (
                id TEXT PRIMARY KEY,
                token_hash TEXT NOT NULL UNIQUE,
                org TEXT NOT NULL,
                host_group TEXT,
                created_by TEXT NOT NULL,
                created_at TEXT NOT NULL,
                expires_at TEXT NOT NULL,
                used_at TEXT,
                used_by_host TEXT
            )
            """,
            """
            CREATE TABLE hosts (
                id TEXT PRIMARY KEY,
                hostname TEXT NOT NULL,
                org TEXT NOT NULL,
                host_group TEXT,
                public_key TEXT NOT NULL UNIQUE,
                k0_sealed TEXT NOT NULL,
                enrolled_at TEXT NOT NULL,
                next_seq BIGINT NOT NULL,
                head_hash TEXT NOT NULL,
                epoch BIGINT NOT NULL,
                epoch_key_sealed TEXT NOT NULL,
                records BIGINT NOT NULL,
                last_request BIGINT NOT NULL,
                last_seen_at TEXT,
                tampered_at TEXT
            )
            """,
            "CREATE INDEX hosts_org ON hosts (org)",
            """
            CREATE TABLE journal_batches (
                host_id TEXT NOT NULL REFERENCES hosts (id),
                first_seq BIGINT NOT NULL,
                last_seq BIGINT NOT NULL,
                last_hash TEXT NOT NULL,
                records BIGINT NOT NULL,
                received_at TEXT NOT NULL,
                lines TEXT NOT NULL,
                PRIMARY KEY (host_id, first_seq)
            )
            """,
            """
            CREATE TABLE evidence (
                id TEXT PRIMARY KEY,
                host_id TEXT,
                received_at TEXT NOT NULL,
                route TEXT NOT NULL,
                body_sha256 TEXT NOT NULL,
                body TEXT NOT NULL
            )
            """,
            """
            CREATE TABLE alerts (
                id TEXT PRIMARY KEY,
                host_id TEXT,
                org TEXT,
                kind TEXT NOT NULL,
                failure TEXT NOT NULL,
                seq BIGINT,
                detail TEXT NOT NULL,
                evidence_id TEXT REFERENCES evidence (id),
                created_at TEXT NOT NULL,
                acknowledged_at TEXT
            )
            """,
            "CREATE INDEX alerts_host ON alerts (host_id, created_at)",
            """
            CREATE TABLE profiles (
                id TEXT PRIMARY KEY,
                org TEXT NOT NULL,
                host_groups TEXT NOT NULL,
                version BIGINT NOT NULL,
                name TEXT NOT NULL,
                sha256 TEXT NOT NULL,
                envelope TEXT NOT NULL,
                uploaded_by TEXT NOT NULL,
                uploaded_at TEXT NOT NULL,
                UNIQUE (org, host_groups, version)
            )
            """,
        ], postgresStatements: [
            // Batches are already-compact JSON lines, written once and read rarely: storing them
            // out of line without pglz compression saves the CPU that ingest needs.
            "ALTER TABLE journal_batches ALTER COLUMN lines SET STORAGE EXTERNAL",
            "ALTER TABLE evidence ALTER COLUMN body SET STORAGE EXTERNAL",
        ]),
        SQLMigration(version: 2, name: "hosts rows updated in place", statements: [], postgresStatements: [
            // Every journal request rewrites its host's row (head, request number, last seen).
            // Room left in each page lets PostgreSQL update the row in place (a HOT update: no
            // index entries, less WAL, less for autovacuum), so a fleet's steady writes do not
            // turn into index churn and vacuum stalls. Takes effect for pages written from now on.
            "ALTER TABLE hosts SET (fillfactor = 50)",
        ]),
        SQLMigration(version: 3, name: "posture state and history, out-of-scope hosts, alert acknowledgements, token audit", statements: [
            // The current status of each check on each host, written at ingest in the batch's commit.
            """
            CREATE TABLE posture_current (
                host_id TEXT NOT NULL REFERENCES hosts (id),
                check_id TEXT NOT NULL,
                status TEXT NOT NULL,
                title TEXT NOT NULL,
                clause TEXT,
                evidence TEXT NOT NULL,
                since TEXT NOT NULL,
                updated_at TEXT NOT NULL,
                seq BIGINT NOT NULL,
                PRIMARY KEY (host_id, check_id)
            )
            """,
            "CREATE INDEX posture_current_check ON posture_current (check_id, status)",
            // Append-only: one row each time a check's status changes (or it appears or is
            // removed, status `removed`), keyed by the journal record that said so.
            """
            CREATE TABLE posture_history (
                host_id TEXT NOT NULL REFERENCES hosts (id),
                check_id TEXT NOT NULL,
                seq BIGINT NOT NULL,
                status TEXT NOT NULL,
                evidence TEXT NOT NULL,
                clause TEXT,
                title TEXT NOT NULL,
                changed_at TEXT NOT NULL,
                PRIMARY KEY (host_id, check_id, seq)
            )
            """,
            "CREATE INDEX posture_history_time ON posture_history (host_id, changed_at)",
            // The per-host roll-up the fleet summary reads instead of posture_current.
            "ALTER TABLE hosts ADD COLUMN posture_checks BIGINT NOT NULL DEFAULT 0",
            "ALTER TABLE hosts ADD COLUMN posture_failing BIGINT NOT NULL DEFAULT 0",
            "ALTER TABLE hosts ADD COLUMN posture_at TEXT",
            "ALTER TABLE hosts ADD COLUMN out_of_scope BIGINT NOT NULL DEFAULT 0",
            "CREATE INDEX hosts_hostname ON hosts (hostname)",
            // Who marked a host out of (or back into) scope, and why: never deleted.
            """
            CREATE TABLE scope_changes (
                id TEXT PRIMARY KEY,
                host_id TEXT NOT NULL REFERENCES hosts (id),
                out_of_scope BIGINT NOT NULL,
                changed_by TEXT NOT NULL,
                reason TEXT NOT NULL,
                changed_at TEXT NOT NULL
            )
            """,
            "ALTER TABLE alerts ADD COLUMN acknowledged_by TEXT",
            "ALTER TABLE alerts ADD COLUMN ack_reason TEXT",
            "CREATE INDEX alerts_created ON alerts (created_at)",
            "ALTER TABLE admin_tokens ADD COLUMN created_by TEXT",
            "ALTER TABLE admin_tokens ADD COLUMN revoked_by TEXT",
        ]),
        SQLMigration(version: 4, name: "SQLite: the fleet summary reads an index, not the hosts rows", statements: [], sqliteStatements: [
            // Every column the host state (FleetHostState.sql) and the summary's GROUP BY need, so
            // SQLite answers `fleet summary` from this narrow index instead of scanning the wide
            // hosts rows (keys, heads). Not on PostgreSQL: indexing last_seen_at there would stop
            // the per-request host update from being a HOT update (migration 2).
            "CREATE INDEX hosts_fleet_state ON hosts (org, out_of_scope, tampered_at, last_seen_at, enrolled_at, posture_failing, posture_checks)",
        ]),
        SQLMigration(version: 5, name: "evidence: size and what was kept; alerts: one open per host and kind, with a count", statements: [
            "ALTER TABLE evidence ADD COLUMN body_size BIGINT",
            // `whole`, or `prefix` (the first 4 KiB of an unauthenticated or over-cap body).
            "ALTER TABLE evidence ADD COLUMN kept TEXT NOT NULL DEFAULT 'whole'",
            "ALTER TABLE alerts ADD COLUMN occurrences BIGINT NOT NULL DEFAULT 1",
            "ALTER TABLE alerts ADD COLUMN last_at TEXT",
            "CREATE INDEX alerts_open ON alerts (host_id, kind, acknowledged_at)",
            "CREATE INDEX evidence_host ON evidence (host_id, body_sha256)",
        ]),
        SQLMigration(version: 6, name: "one-off device grants (持ち出し申請) and the devices each host has seen", statements: [
            // A signed grant as pushed, with what the terminal's own journal later said about it:
            // applied, each use, expired or withdrawn there, or refused. Never deleted.
            """
            CREATE TABLE device_grants (
                id TEXT PRIMARY KEY,
                host_id TEXT NOT NULL REFERENCES hosts (id),
                org TEXT NOT NULL,
                vendor TEXT,
                product TEXT,
                serial TEXT NOT NULL,
                mode TEXT NOT NULL,
                issued_at TEXT NOT NULL,
                expires_at TEXT NOT NULL,
                reason TEXT NOT NULL,
                reference TEXT NOT NULL,
                signing_key TEXT NOT NULL,
                envelope TEXT NOT NULL,
                pushed_by TEXT NOT NULL,
                pushed_at TEXT NOT NULL,
                revoked_at TEXT,
                revoked_by TEXT,
                revoke_reason TEXT,
                applied_at TEXT,
                ended_at TEXT,
                end_state TEXT,
                rejected_code TEXT,
                uses BIGINT NOT NULL DEFAULT 0,
                last_used_at TEXT
            )
            """,
            "CREATE INDEX device_grants_host ON device_grants (host_id, expires_at)",
            // Every USB identity a host's media guard decided about, from its journal: what
            // `mamorictl profile allow-device` turns into allow-list entries.
            """
            CREATE TABLE host_devices (
                host_id TEXT NOT NULL REFERENCES hosts (id),
                vendor TEXT NOT NULL,
                product TEXT NOT NULL,
                serial TEXT NOT NULL,
                vendor_name TEXT,
                model_name TEXT,
                class TEXT NOT NULL,
                first_seen TEXT NOT NULL,
                last_seen TEXT NOT NULL,
                last_decision TEXT NOT NULL,
                last_rule TEXT NOT NULL,
                PRIMARY KEY (host_id, vendor, product, serial)
            )
            """,
        ]),
    ]
}
