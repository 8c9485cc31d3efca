import Foundation
import MamoriCollector
import Testing

/// The database layer on both engines: one suite, every case run on SQLite and on PostgreSQL.
@Suite struct SQLDatabaseTests {
    @Test(arguments: TestEngines.all)
    func roundTripsEveryValueType(engine: SQLEngine) async throws {
        let texts = ["", "ascii", "日本語のテキスト", "🔐🗝️👩‍💻", "e\u{301} vs é", "\u{FEFF}bom", "tab\tnew\nline",
                     "quotes ' \" and ? and $1", String(repeating: "長い", count: 5_000)]
        let ints: [Int64] = [.min, .min + 1, -1, 0, 1, 1 << 53 + 1, .max]
        let doubles: [Double] = [0, 1.5, -2.25e-300, .pi, .greatestFiniteMagnitude, .leastNonzeroMagnitude]
        var rows: [[SQLValue]] = texts.map { [.int(0), .double(0), .text($0)] }
        rows += ints.map { [.int($0), .null, .null] }
        rows += doubles.map { [.null, .double($0), .null] }
        rows.append([.null, .null, .null])
        try await withFreshDatabase(engine) { fresh in
            try await fresh.withOpen { db in
                try await db.query("CREATE TABLE v (n BIGINT PRIMARY KEY, i BIGINT, d DOUBLE PRECISION, t TEXT)", [])
                for (n, row) in rows.enumerated() {
                    try await db.query("INSERT INTO v (n, i, d, t) VALUES (?, ?, ?, ?)", [.int(Int64(n))] + row)
                }
                let read = try await db.query("SELECT i, d, t FROM v ORDER BY n", [])
                #expect(read.map { [$0["i"], $0["d"], $0["t"]] } == rows)
            }
        }
    }

    @Test(arguments: TestEngines.all)
    func questionMarksInsideLiteralsAreNotPlaceholders(engine: SQLEngine) async throws {
        try await withFreshDatabase(engine) { fresh in
            try await fresh.withOpen { db in
                let rows = try await db.query(
                    "SELECT '?' AS q, 'it''s ?' AS r, ? AS v /* ? */ -- ?\n, \"t\".\"w?\" AS w FROM (SELECT 7 AS \"w?\") AS \"t\"",
                    [.int(5)])
                #expect(rows.count == 1)
                #expect(rows.first?["q"] == .text("?"))
                #expect(rows.first?["r"] == .text("it's ?"))
                #expect(rows.first?["v"] == .int(5))
                #expect(rows.first?["w"] == .int(7))
                let error = await #expect(throws: SQLDatabaseError.self) {
                    try await db.query("SELECT ? AS a, '?' AS b", [])
                }
                #expect(error?.code == .bindCountMismatch)
            }
        }
    }

    @Test(arguments: TestEngines.all)
    func transactionCommitsAndReturnsItsResult(engine: SQLEngine) async throws {
        try await withFreshDatabase(engine) { fresh in
            try await fresh.withOpen { db in
                try await db.query("CREATE TABLE t (id BIGINT PRIMARY KEY, name TEXT NOT NULL)", [])
                let returned = try await db.transaction { tx in
                    try await tx.query("INSERT INTO t (id, name) VALUES (?, ?)", [.int(1), .text("one")])
                    return try await tx.query("INSERT INTO t (id, name) VALUES (?, ?) RETURNING id", [.int(2), .text("two")])
                        .first?["id"].int
                }
                #expect(returned == 2)
            }
            // Reopened: what was acknowledged is there.
            let names = try await fresh.withOpen { db in
                try await db.query("SELECT name FROM t ORDER BY id", []).map { $0["name"] }
            }
            #expect(names == [.text("one"), .text("two")])
        }
    }

    struct BodyFailure: Error, Equatable {}

    @Test(arguments: TestEngines.all)
    func throwingBodyRollsBackEverything(engine: SQLEngine) async throws {
        try await withFreshDatabase(engine) { fresh in
            try await fresh.withOpen { db in
                try await db.query("CREATE TABLE t (id BIGINT PRIMARY KEY)", [])
                await #expect(throws: BodyFailure()) {
                    try await db.transaction { tx in
                        try await tx.query("INSERT INTO t (id) VALUES (?)", [.int(1)])
                        try await tx.query("INSERT INTO t (id) VALUES (?)", [.int(2)])
                        throw BodyFailure()
                    }
                }
                let error = await #expect(throws: SQLDatabaseError.self) {
                    try await db.transaction { tx in
                        try await tx.query("INSERT INTO t (id) VALUES (?)", [.int(3)])
                        try await tx.query("INSERT INTO t (id) VALUES (?)", [.int(3)])
                    }
                }
                #expect(error?.code == .uniqueViolation)
                #expect(try await db.query("SELECT id FROM t", []).isEmpty)
                // The connection is usable afterwards (no transaction left open).
                _ = try await db.transaction { tx in try await tx.query("INSERT INTO t (id) VALUES (?)", [.int(4)]) }
                #expect(try await db.query("SELECT id FROM t", []).map { $0["id"] } == [.int(4)])
            }
        }
    }

    /// Read, then a conditional UPDATE … RETURNING; an empty result means another transaction won
    /// and this one starts again. However they interleave, no increment is lost.
    @Test(arguments: TestEngines.all)
    func concurrentReadModifyWriteLosesNoUpdate(engine: SQLEngine) async throws {
        let workers = 24, incrementsEach = 5
        try await withFreshDatabase(engine) { fresh in
            try await fresh.withOpen { db in
                try await db.query("CREATE TABLE counter (id BIGINT PRIMARY KEY, value BIGINT NOT NULL)", [])
                try await db.query("INSERT INTO counter (id, value) VALUES (1, 0)", [])
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for _ in 0..<workers {
                        group.addTask {
                            for _ in 0..<incrementsEach { try await increment(db) }
                        }
                    }
                    try await group.waitForAll()
                }
                let value = try await db.query("SELECT value FROM counter WHERE id = 1", []).first?["value"]
                #expect(value == .int(Int64(workers * incrementsEach)))
            }
        }
    }

    private func increment(_ db: any SQLDatabase) async throws {
        while true {
            let won = try await db.transaction { tx in
                let current = try await tx.query("SELECT value FROM counter WHERE id = 1", []).first?["value"].int ?? -1
                let updated = try await tx.query(
                    "UPDATE counter SET value = ? WHERE id = 1 AND value = ? RETURNING value",
                    [.int(current + 1), .int(current)])
                return !updated.isEmpty
            }
            if won { return }
        }
    }

    @Test(arguments: TestEngines.all)
    func queryErrorCarriesTheStatementButNotTheBinds(engine: SQLEngine) async throws {
        let secret = "s3cret-bind-value-\(UUID().uuidString)"
        try await withFreshDatabase(engine) { fresh in
            try await fresh.withOpen { db in
                try await db.query("CREATE TABLE t (id BIGINT PRIMARY KEY, n BIGINT NOT NULL)", [])
                let statements = [
                    "SELECT * FROM no_such_table WHERE name = ?",
                    // PostgreSQL fails the cast and quotes the value; SQLite fails on the duplicate id.
                    "INSERT INTO t (id, n) VALUES (1, CAST(? AS BIGINT)), (1, 2)",
                ]
                for statement in statements {
                    let error = await #expect(throws: SQLDatabaseError.self) {
                        try await db.query(statement, [.text(secret)])
                    }
                    #expect(error?.statement == statement)
                    #expect(error.map { "\($0)" }?.contains(statement.prefix(20)) == true)
                    #expect(error.map { "\($0) \(String(reflecting: $0))" }?.contains(secret) == false)
                }
            }
        }
    }

    @Test(arguments: TestEngines.all)
    func executorOutlivingItsTransactionAndReentrantCallsAreRefused(engine: SQLEngine) async throws {
        try await withFreshDatabase(engine) { fresh in
            try await fresh.withOpen { db in
                let escaped = try await db.transaction { tx in tx }
                let late = await #expect(throws: SQLDatabaseError.self) { try await escaped.query("SELECT 1 AS one", []) }
                #expect(late?.code == .closed)
                let reentrant = await #expect(throws: SQLDatabaseError.self) {
                    try await db.transaction { _ in try await db.query("SELECT 1 AS one", []) }
                }
                #expect(reentrant?.code == .reentrantUse)
                #expect(try await db.query("SELECT 1 AS one", []).first?["one"] == .int(1))
            }
        }
    }

    @Test(arguments: TestEngines.all)
    func closedDatabaseRefusesQueries(engine: SQLEngine) async throws {
        try await withFreshDatabase(engine) { fresh in
            let db = try await fresh.open()
            try await db.close()
            let error = await #expect(throws: SQLDatabaseError.self) { try await db.query("SELECT 1 AS one", []) }
            #expect(error?.code == .closed)
        }
    }

    @Test(arguments: TestEngines.all)
    func openingNeverLogsThePassword(engine: SQLEngine) async throws {
        try await withFreshDatabase(engine) { fresh in
            let logs = CapturedLogs()
            let db = try await fresh.open(logger: logs.logger())
            try await db.query("SELECT 1 AS one", [])
            try await db.close()
            #expect(!logs.all.isEmpty)
            if let password = fresh.url.flatMap(password(in:)) {
                #expect(logs.all.allSatisfy { !$0.contains(password) })
            }
        }
    }
}
