import MamoriCollector
import Testing

/// Schema migrations on both engines.
@Suite struct SQLMigratorTests {
    static let v1 = SQLMigration(version: 1, name: "hosts", statements: [
        "CREATE TABLE hosts (id BIGINT PRIMARY KEY, name TEXT NOT NULL)",
    ])
    static let v2 = SQLMigration(version: 2, name: "batches", statements: [
        "CREATE TABLE batches (host_id BIGINT NOT NULL REFERENCES hosts (id), seq BIGINT NOT NULL, PRIMARY KEY (host_id, seq))",
        "CREATE INDEX batches_seq ON batches (seq)",
    ])

    @Test(arguments: TestEngines.all)
    func appliesOnceAndIsIdempotentOnRestart(engine: SQLEngine) async throws {
        try await withFreshDatabase(engine) { fresh in
            let first = try await fresh.withOpen { db in
                try await SQLMigrator(migrations: [Self.v1]).migrate(db, logger: testLogger)
            }
            #expect(first.map(\.version) == [1])
            let second = try await fresh.withOpen { db in
                let applied = try await SQLMigrator(migrations: [Self.v1, Self.v2]).migrate(db, logger: testLogger)
                try await db.query("INSERT INTO hosts (id, name) VALUES (1, 'a')", [])
                try await db.query("INSERT INTO batches (host_id, seq) VALUES (1, 1)", [])
                return applied
            }
            #expect(second.map(\.version) == [2])
            let third = try await fresh.withOpen { db in
                let migrator = try SQLMigrator(migrations: [Self.v1, Self.v2])
                return (try await migrator.migrate(db, logger: testLogger), try await migrator.appliedVersions(db))
            }
            #expect(third.0.isEmpty)
            #expect(third.1 == [1, 2])
        }
    }

    @Test(arguments: TestEngines.all)
    func refusesASchemaNewerThanThisBinary(engine: SQLEngine) async throws {
        try await withFreshDatabase(engine) { fresh in
            try await fresh.withOpen { db in
                try await SQLMigrator(migrations: [Self.v1, Self.v2]).migrate(db, logger: testLogger)
            }
            for older in [[Self.v1], []] {
                let error = await #expect(throws: SQLDatabaseError.self) {
                    try await fresh.withOpen { db in
                        try await SQLMigrator(migrations: older).migrate(db, logger: testLogger)
                    }
                }
                #expect(error?.code == .schemaTooNew)
                #expect(error?.message.contains("migration 2") == true)
            }
            // Nothing was downgraded.
            let versions = try await fresh.withOpen { db in
                try await SQLMigrator(migrations: [Self.v1, Self.v2]).appliedVersions(db)
            }
            #expect(versions == [1, 2])
        }
    }

    @Test(arguments: TestEngines.all)
    func failingMigrationLeavesNoTrace(engine: SQLEngine) async throws {
        let broken = SQLMigration(version: 2, name: "broken", statements: [
            "CREATE TABLE half (id BIGINT PRIMARY KEY)",
            "CREATE TABLE oops (",
        ])
        try await withFreshDatabase(engine) { fresh in
            try await fresh.withOpen { db in
                await #expect(throws: SQLDatabaseError.self) {
                    try await SQLMigrator(migrations: [Self.v1, broken]).migrate(db, logger: testLogger)
                }
                #expect(try await SQLMigrator(migrations: [Self.v1]).appliedVersions(db) == [1])
                // `half` was rolled back with the rest of migration 2: creating it again works.
                try await db.query("CREATE TABLE half (id BIGINT PRIMARY KEY)", [])
            }
        }
    }

    /// Two collectors starting together on one database: each migration is applied exactly once.
    /// Several collector instances share a database only on PostgreSQL (docs/collector.md); on
    /// SQLite, three connections racing BEGIN IMMEDIATE under a loaded test run can exceed the busy
    /// time-out, which is not a deployment this covers.
    @Test(arguments: TestEngines.all.filter { $0 == .postgres })
    func concurrentMigratorsApplyEachMigrationOnce(engine: SQLEngine) async throws {
        let migrations = (1...6).map { version in
            SQLMigration(version: version, name: "m\(version)", statements: [
                "CREATE TABLE m\(version) (id BIGINT PRIMARY KEY)",
            ])
        }
        let migrator = try SQLMigrator(migrations: migrations)
        try await withFreshDatabase(engine) { fresh in
            let applied = try await withThrowingTaskGroup(of: [Int].self) { group in
                for _ in 0..<3 {
                    group.addTask {
                        try await fresh.withOpen { db in
                            try await migrator.migrate(db, logger: testLogger).map(\.version)
                        }
                    }
                }
                return try await group.reduce(into: [Int]()) { $0 += $1 }
            }
            #expect(applied.sorted() == Array(1...6))
            let recorded = try await fresh.withOpen { db in try await migrator.appliedVersions(db) }
            #expect(recorded == Array(1...6))
        }
    }

    @Test func rejectsAMalformedMigrationList() {
        #expect(throws: SQLDatabaseError.self) { try SQLMigrator(migrations: [Self.v2, Self.v1]) }
        #expect(throws: SQLDatabaseError.self) { try SQLMigrator(migrations: [Self.v1, Self.v1]) }
        #expect(throws: SQLDatabaseError.self) {
            try SQLMigrator(migrations: [SQLMigration(version: 0, name: "zero", statements: [])])
        }
    }
}
