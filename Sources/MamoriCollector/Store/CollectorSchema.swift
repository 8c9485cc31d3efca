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
    ]
}
