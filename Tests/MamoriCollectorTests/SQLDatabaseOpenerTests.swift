import Foundation
import MamoriCollector
import Testing

/// Choosing and opening the engine; engine-specific settings.
@Suite struct SQLDatabaseOpenerTests {
    /// Run by hand without a server, the PostgreSQL cases are not generated; this one fails by name.
    @Test func postgresTestServerIsConfigured() {
        #expect(
            TestEngines.postgresURL != nil,
            "MAMORI_TEST_POSTGRES_URL is unset, so the storage suites ran on SQLite only: run `make test` or `bash scripts/pg-test-server.sh run -- swift test --filter MamoriCollectorTests`")
    }

    @Test(arguments: [
        ("mysql://root:hunter2@db/collector", "scheme mysql"),
        ("/var/lib/mamori/collector.sqlite3", "no scheme"),
        ("postgres://hunter2host/db", "no user"),
        ("postgres://user:hunter2@/db", "no host"),
        ("postgres://user:hunter2@db:99999/db", "port 99999"),
        ("postgres://user:hunter2@db/db?sslmode=sometimes", "sslmode"),
        ("postgres://user:pw@db/db?password=hunter2", "unsupported query parameter"),
        ("postgresql://user:hunter2@db/db?host=relative/dir", "not an absolute directory"),
    ])
    func badURLsAreRefusedClearly(url: String, reason: String) async throws {
        let error = await #expect(throws: SQLDatabaseError.self) {
            try await SQLDatabaseOpener.open(url: url, dataDirectory: "/nonexistent", logger: testLogger)
        }
        let text = error.map { "\($0)" } ?? ""
        #expect(error?.code == .invalidConfiguration)
        #expect(text.contains(reason), "\(text)")
        #expect(text.contains("postgres://"), "the accepted forms are named: \(text)")
        #expect(!text.contains("hunter2"), "\(text)")
    }

    @Test func unreachableServerGivesAClearErrorWithoutThePassword() async throws {
        // Port 1 on loopback: nothing listens there, the connection is refused at once.
        let error = await #expect(throws: SQLDatabaseError.self) {
            try await SQLDatabaseOpener.open(
                url: "postgres://mamori:hunter2@127.0.0.1:1/collector?sslmode=disable",
                dataDirectory: "/nonexistent", logger: testLogger)
        }
        let text = error.map { "\($0)" } ?? ""
        #expect(error?.code == .connection)
        #expect(text.contains("cannot open the PostgreSQL database postgres://mamori:***@127.0.0.1:1/collector"), "\(text)")
        #expect(!text.contains("hunter2"), "\(text)")
    }

    @Test(.enabled(if: TestEngines.hasPostgres))
    func wrongPasswordIsReportedWithoutEitherPassword() async throws {
        let url = try #require(TestEngines.postgresURL, "MAMORI_TEST_POSTGRES_URL is unset")
        let real = try #require(password(in: url))
        let wrong = url.replacingOccurrences(of: ":\(real)@", with: ":not-the-password@")
        let error = await #expect(throws: SQLDatabaseError.self) {
            try await SQLDatabaseOpener.open(url: wrong, dataDirectory: "/nonexistent", logger: testLogger)
        }
        let text = error.map { "\($0)" } ?? ""
        #expect(error?.code == .connection)
        #expect(text.contains("password authentication failed"), "\(text)")
        #expect(!text.contains("not-the-password") && !text.contains(real), "\(text)")
    }

    @Test(.enabled(if: TestEngines.hasPostgres))
    func unixSocketURLConnects() async throws {
        // pg-test-server.sh also listens on a socket in its directory (trust login there).
        let url = try #require(TestEngines.postgresURL, "MAMORI_TEST_POSTGRES_URL is unset")
        let directory = try #require(
            ProcessInfo.processInfo.environment["MAMORI_TEST_POSTGRES_SOCKET_DIR"], "run under pg-test-server.sh")
        let port = try #require(url.split(separator: ":").last?.split(separator: "/").first)
        let db = try await SQLDatabaseOpener.open(
            url: "postgresql://mamori@:\(port)/mamori_test?host=\(directory)", dataDirectory: "/nonexistent",
            logger: testLogger)
        #expect(db.engine == .postgres)
        #expect(try await db.query("SELECT current_user AS u", []).first?["u"] == .text("mamori"))
        try await db.close()
    }

    @Test func sqliteFileIsPrivateWalAndFullySynchronous() async throws {
        try await withFreshDatabase(.sqlite) { fresh in
            try await fresh.withOpen { db in
                #expect(db.engine == .sqlite)
                let path = SQLDatabaseOpener.sqlitePath(dataDirectory: fresh.dataDirectory)
                let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
                #expect(mode == 0o600)
                #expect(try await db.query("PRAGMA journal_mode", []).first?["journal_mode"] == .text("wal"))
                #expect(try await db.query("PRAGMA synchronous", []).first?["synchronous"] == .int(2))  // FULL
                #expect(try await db.query("PRAGMA foreign_keys", []).first?["foreign_keys"] == .int(1))
                #expect(try await db.query("PRAGMA busy_timeout", []).first?["timeout"] == .int(5_000))
            }
        }
    }

    @Test func sqliteRefusesBlobs() async throws {
        try await withFreshDatabase(.sqlite) { fresh in
            try await fresh.withOpen { db in
                let error = await #expect(throws: SQLDatabaseError.self) { try await db.query("SELECT x'00ff' AS b", []) }
                #expect(error?.code == .unsupportedType)
            }
        }
    }

    @Test(.enabled(if: TestEngines.hasPostgres))
    func postgresRefusesTypesTheSchemaNeverUses() async throws {
        try await withFreshDatabase(.postgres) { fresh in
            try await fresh.withOpen { db in
                let error = await #expect(throws: SQLDatabaseError.self) { try await db.query("SELECT now() AS t", []) }
                #expect(error?.code == .unsupportedType)
                let numeric = try await db.query("SELECT CAST(2.5 AS NUMERIC) AS n, true AS b, CAST('x' AS VARCHAR) AS v", [])
                #expect(numeric.first?["n"] == .double(2.5))
                #expect(numeric.first?["b"] == .int(1))
                #expect(numeric.first?["v"] == .text("x"))
            }
        }
    }
}
