public import Logging
import NIOCore
import NIOPosix
import SQLiteNIO
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The collector's default store: one SQLite file in WAL mode with `synchronous=FULL` (a commit is
/// on disk before it is acknowledged). sqlite-nio gives one shared connection, so every statement
/// and every transaction takes `lock` in turn: nothing runs inside another caller's transaction.
public final class SQLiteDatabase: SQLDatabase {
    public let engine: SQLEngine = .sqlite
    public let path: String
    private let connection: SQLiteConnection
    /// This database's own thread for the blocking sqlite3 calls. A statement waiting on another
    /// connection's lock (busy_timeout) blocks it; on a shared pool it could block the very
    /// thread that connection needs to finish and release the lock.
    private let threadPool: NIOThreadPool
    let lock = AsyncLock()  // internal: tests wait for a known queue
    private let isClosed = Atomic<Bool>(false)

    /// How long a statement waits for another process's write lock before failing with `.retryable`.
    public static let busyTimeoutMilliseconds = 5_000

    private init(path: String, connection: SQLiteConnection, threadPool: NIOThreadPool) {
        self.path = path
        self.connection = connection
        self.threadPool = threadPool
    }

    /// Opens (creating with mode 0600 if needed) the database file at `path`.
    public static func open(path: String, logger: Logger) async throws -> SQLiteDatabase {
        try createPrivateFile(path)
        let threadPool = NIOThreadPool(numberOfThreads: 1)
        threadPool.start()
        let connection: SQLiteConnection
        do {
            connection = try await SQLiteConnection.open(
                storage: .file(path: path), threadPool: threadPool, logger: logger,
                on: MultiThreadedEventLoopGroup.singleton.any())
        } catch {
            try? await threadPool.shutdownGracefully()
            throw SQLiteDatabase.translate(error, statement: nil)
        }
        let database = SQLiteDatabase(path: path, connection: connection, threadPool: threadPool)
        do {
            try await database.configure()
        } catch {
            try? await connection.close()
            try? await threadPool.shutdownGracefully()
            throw error
        }
        logger.info("opened SQLite database", metadata: ["path": "\(path)"])
        return database
    }

    private func configure() async throws {
        // busy_timeout first: switching to WAL needs a moment of exclusive access to the file.
        try await run("PRAGMA busy_timeout=\(Self.busyTimeoutMilliseconds)", [])
        let mode = try await run("PRAGMA journal_mode=WAL", [])
        guard mode.first?["journal_mode"].text?.lowercased() == "wal" else {
            throw SQLDatabaseError("SQLite refused WAL mode for \(path)", statement: "PRAGMA journal_mode=WAL")
        }
        try await run("PRAGMA synchronous=FULL", [])
        try await run("PRAGMA foreign_keys=ON", [])
    }

    @discardableResult
    public func query(_ sql: String, _ binds: [SQLValue]) async throws -> [SQLRow] {
        try OpenTransactions.checkNotInside(self, sql)
        return try await lock.withLock {
            try checkOpen(sql)
            return try await run(sql, binds)
        }
    }

    public func transaction<T: Sendable>(
        _ body: @Sendable (any SQLExecutor) async throws -> T
    ) async throws -> T {
        try OpenTransactions.checkNotInside(self, "BEGIN IMMEDIATE")
        return try await lock.withLock {
            try checkOpen("BEGIN IMMEDIATE")
            // IMMEDIATE takes the write lock now, so a second process fails fast at BEGIN
            // instead of deadlocking when both try to upgrade a read transaction.
            try await run("BEGIN IMMEDIATE", [])
            let scope = TransactionScope()
            do {
                let result = try await OpenTransactions.inside(self) {
                    try await body(SQLiteTransactionExecutor(database: self, scope: scope))
                }
                scope.end()
                try await run("COMMIT", [])
                return result
            } catch {
                scope.end()
                await rollback()
                throw error
            }
        }
    }

    public func close() async throws {
        guard !isClosed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        // Even in a cancelled task: an unclosed connection is a leak (and a debug assertion).
        do {
            try await lock.withLockIgnoringCancellation { try await connection.close() }
        } catch {
            try? await threadPool.shutdownGracefully()
            throw SQLiteDatabase.translate(error, statement: nil)
        }
        try await threadPool.shutdownGracefully()
    }

    /// Runs one statement on the connection; the caller holds `lock`.
    @discardableResult
    fileprivate func run(_ sql: String, _ binds: [SQLValue]) async throws -> [SQLRow] {
        _ = try SQLPlaceholders.check(sql, binds: binds.count)
        let rows: [SQLiteRow]
        do {
            rows = try await connection.query(sql, binds.map(SQLiteDatabase.sqliteData))
        } catch {
            throw SQLiteDatabase.translate(error, statement: sql)
        }
        return try rows.map { try SQLiteDatabase.row($0, statement: sql) }
    }

    private func rollback() async {
        // After a failed COMMIT SQLite may already have ended the transaction; then ROLLBACK
        // fails with "no transaction is active", which is the state we want anyway.
        _ = try? await connection.query("ROLLBACK", [])
    }

    private func checkOpen(_ sql: String) throws {
        guard !isClosed.load(ordering: .acquiring) else {
            throw SQLDatabaseError("the SQLite database \(path) is closed", statement: sql, code: .closed)
        }
    }
}

/// The executor handed to a transaction's body: runs on the connection whose lock it holds.
private struct SQLiteTransactionExecutor: SQLExecutor {
    let database: SQLiteDatabase
    let scope: TransactionScope

    @discardableResult
    func query(_ sql: String, _ binds: [SQLValue]) async throws -> [SQLRow] {
        try scope.checkOpen(sql)
        return try await database.run(sql, binds)
    }
}

extension SQLiteDatabase {
    static func sqliteData(_ value: SQLValue) -> SQLiteData {
        switch value {
        case .int(let v): .integer(SQLiteInt64(v))
        case .double(let v): .float(v)
        case .text(let v): .text(v)
        case .null: .null
        }
    }

    static func row(_ row: SQLiteRow, statement: String) throws -> SQLRow {
        var values: [String: SQLValue] = [:]
        for column in row.columns {
            // Lower-cased like PostgreSQL folds unquoted names, so `AS headSeq` reads the same on both.
            values[column.name.lowercased()] = try value(column, statement: statement)
        }
        return SQLRow(values: values)
    }

    private static func value(_ column: SQLiteColumn, statement: String) throws -> SQLValue {
        switch column.data {
        case .integer(let v): return .int(Int64(v))
        case .float(let v): return .double(v)
        case .text(let v): return .text(v)
        case .null: return .null
        case .blob:
            throw SQLDatabaseError(
                "column \(column.name) holds a BLOB; the collector's schema stores bytes as TEXT",
                statement: statement, code: .unsupportedType)
        }
    }

    static func translate(_ error: any Error, statement: String?) -> any Error {
        guard let error = error as? SQLiteError else { return error }
        return SQLDatabaseError("SQLite: \(error.message)", statement: statement, code: code(error.reason))
    }

    private static func code(_ reason: SQLiteError.Reason) -> SQLDatabaseError.Code {
        switch reason {
        case .constraintUniqueFailed, .constraintPrimaryKeyFailed, .constraintUniqueRowIDFailed: .uniqueViolation
        case .constraintForeignKeyFailed: .foreignKeyViolation
        case .constraintNotNullFailed: .notNullViolation
        case .constraintCheckFailed: .checkViolation
        case .busy, .busyTimeout, .busyInRecovery, .busyInSnapshot, .locked, .lockedBySharedCache: .retryable
        case .cantOpen, .cantOpenDirectory, .cantOpenInvalidPath, .permission, .readOnly, .readonlyDirectory:
            .invalidConfiguration
        default: .other
        }
    }
}

/// Creates the file with mode 0600 before SQLite opens it (SQLite gives its -wal and -shm files
/// the same mode); an existing file is left as it is.
private func createPrivateFile(_ path: String) throws {
    var descriptor: Int32
    repeat {
        descriptor = open(path, O_CREAT | O_RDWR | O_CLOEXEC, 0o600)
    } while descriptor < 0 && errno == EINTR
    guard descriptor >= 0 else {
        let reason = String(cString: strerror(errno))
        throw SQLDatabaseError(
            "cannot create the SQLite database file \(path): \(reason)", code: .invalidConfiguration)
    }
    _ = close(descriptor)
}
