import Foundation
public import Logging

/// One schema step. Versions are positive and strictly increasing; a released migration is never
/// edited, only followed by a new one.
public struct SQLMigration: Sendable, Hashable {
    public var version: Int
    public var name: String
    public var statements: [String]
    /// Run after `statements` on PostgreSQL only: storage tuning with no SQLite counterpart.
    public var postgresStatements: [String]
    /// Run after `statements` on SQLite only.
    public var sqliteStatements: [String]

    public init(version: Int, name: String, statements: [String], postgresStatements: [String] = [], sqliteStatements: [String] = []) {
        self.version = version
        self.name = name
        self.statements = statements
        self.postgresStatements = postgresStatements
        self.sqliteStatements = sqliteStatements
    }
}

/// Brings a database to the newest schema this binary knows, each pending migration in its own
/// transaction, recorded in `schema_migrations`. Refuses (never downgrades) a database that has
/// migrations this binary does not know. On PostgreSQL each transaction first takes a
/// transaction-scoped advisory lock, so collectors starting together migrate one at a time and the
/// later ones find the work done; on SQLite `BEGIN IMMEDIATE` does the same.
public struct SQLMigrator: Sendable {
    public let migrations: [SQLMigration]

    /// The advisory lock key on PostgreSQL ("mamori" in ASCII).
    static let advisoryLockKey: Int64 = 0x6D61_6D6F_7269

    public init(migrations: [SQLMigration]) throws {
        let versions = migrations.map(\.version)
        guard versions.allSatisfy({ $0 > 0 }), versions == versions.sorted(), Set(versions).count == versions.count else {
            throw SQLDatabaseError(
                "migration versions must be positive and strictly increasing: \(versions)", code: .migrationMismatch)
        }
        self.migrations = migrations
    }

    /// Applies what is pending; returns the migrations this call applied (empty when up to date).
    @discardableResult
    public func migrate(_ database: any SQLDatabase, logger: Logger) async throws -> [SQLMigration] {
        var applied: [SQLMigration] = []
        for migration in migrations {
            let didApply = try await database.transaction { executor in
                try await apply(migration, engine: database.engine, executor)
            }
            if didApply {
                logger.info("applied schema migration", metadata: ["version": "\(migration.version)", "name": "\(migration.name)"])
                applied.append(migration)
            }
        }
        if migrations.isEmpty {  // still refuse a database from a newer binary
            _ = try await database.transaction { executor in
                try await appliedVersions(engine: database.engine, executor)
            }
        }
        return applied
    }

    /// The versions recorded in the database, oldest first (empty for a fresh one).
    public func appliedVersions(_ database: any SQLDatabase) async throws -> [Int] {
        try await database.transaction { executor in
            try await appliedVersions(engine: database.engine, executor).map { $0.version }
        }
    }

    private func apply(_ migration: SQLMigration, engine: SQLEngine, _ executor: any SQLExecutor) async throws -> Bool {
        let recorded = try await appliedVersions(engine: engine, executor)
        guard !recorded.contains(where: { $0.version == migration.version }) else { return false }
        for statement in migration.statements + (engine == .postgres ? migration.postgresStatements : migration.sqliteStatements) {
            try await executor.query(statement, [])
        }
        try await executor.query(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
            [.int(Int64(migration.version)), .text(migration.name), .text(Date.now.ISO8601Format())])
        return true
    }

    /// Locks (PostgreSQL), creates the bookkeeping table if needed, reads it and checks it against
    /// this binary's list.
    private func appliedVersions(
        engine: SQLEngine, _ executor: any SQLExecutor
    ) async throws -> [(version: Int, name: String)] {
        if engine == .postgres {
            try await executor.query("SELECT 1 AS locked FROM pg_advisory_xact_lock(?)", [.int(Self.advisoryLockKey)])
        }
        try await executor.query(
            "CREATE TABLE IF NOT EXISTS schema_migrations "
                + "(version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)", [])
        let rows = try await executor.query("SELECT version, name FROM schema_migrations ORDER BY version", [])
        let recorded = rows.map { (version: Int($0["version"].int ?? 0), name: $0["name"].text ?? "") }
        try check(recorded)
        return recorded
    }

    private func check(_ recorded: [(version: Int, name: String)]) throws {
        let known = Dictionary(uniqueKeysWithValues: migrations.map { ($0.version, $0.name) })
        let newest = migrations.last?.version ?? 0
        if let latest = recorded.last, latest.version > newest {
            throw SQLDatabaseError(
                "the database is at schema migration \(latest.version) (\(latest.name)), newer than this binary "
                    + "(which knows up to \(newest)); refusing to start rather than run an older collector on it",
                code: .schemaTooNew)
        }
        for (version, name) in recorded {
            guard let knownName = known[version] else {
                throw SQLDatabaseError(
                    "the database has schema migration \(version) (\(name)), which this binary does not know "
                        + "(another build's schema?); refusing to start",
                    code: .schemaTooNew)
            }
            guard knownName == name else {
                throw SQLDatabaseError(
                    "schema migration \(version) was applied as \"\(name)\" but this binary calls it \"\(knownName)\"",
                    code: .migrationMismatch)
            }
        }
    }
}
