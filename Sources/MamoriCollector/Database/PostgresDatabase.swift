import Foundation
public import Logging
import NIOSSL
import PostgresNIO
import Synchronization

/// PostgreSQL for several collector instances on one server: a PostgresClient pool whose `run()`
/// lives in a task owned by this object (the opener returns `any SQLDatabase`, so there is no
/// ServiceGroup to hand it to) and ends in `close()`.
public final class PostgresDatabase: SQLDatabase {
    public let engine: SQLEngine = .postgres
    /// The URL without its password.
    public let redactedURL: String
    private let client: PostgresClient
    private let runTask: Task<Void, Never>
    private let logger: Logger
    private let isClosed = Atomic<Bool>(false)

    private init(redactedURL: String, client: PostgresClient, logger: Logger) {
        self.redactedURL = redactedURL
        self.client = client
        self.logger = logger
        // The pool's lifetime task; cancelled and awaited in close().
        self.runTask = Task { await client.run() }
    }

    /// Connects once to check the server, the login and the database (so a wrong URL fails here
    /// with the server's reason instead of later in the pool), then starts the pool.
    public static func open(
        url: String, logger: Logger, maximumConnections: Int = 20
    ) async throws -> PostgresDatabase {
        let parsed = try PostgresURL(url)
        let libraryLogger = quietened(logger)
        try await probe(parsed, logger: libraryLogger)
        var configuration = try clientConfiguration(parsed)
        configuration.options.maximumConnections = maximumConnections
        let client = PostgresClient(configuration: configuration, backgroundLogger: libraryLogger)
        logger.info("opened PostgreSQL database", metadata: ["url": "\(parsed.redacted)"])
        return PostgresDatabase(redactedURL: parsed.redacted, client: client, logger: libraryLogger)
    }

    @discardableResult
    public func query(_ sql: String, _ binds: [SQLValue]) async throws -> [SQLRow] {
        try OpenTransactions.checkNotInside(self, sql)
        try checkOpen(sql)
        let query = try Self.postgresQuery(sql, binds)
        do {
            return try await Self.rows(client.query(query, logger: logger), statement: sql)
        } catch {
            throw Self.translate(error, statement: sql)
        }
    }

    public func transaction<T: Sendable>(
        _ body: @Sendable (any SQLExecutor) async throws -> T
    ) async throws -> T {
        try OpenTransactions.checkNotInside(self, "BEGIN")
        try checkOpen("BEGIN")
        do {
            return try await client.withTransaction(logger: logger) { connection in
                let scope = TransactionScope()
                defer { scope.end() }
                let executor = PostgresTransactionExecutor(connection: connection, scope: scope, logger: logger)
                return try await OpenTransactions.inside(self) { try await body(executor) }
            }
        } catch let error as PostgresTransactionError {
            throw Self.unwrap(error)
        } catch {
            throw Self.translate(error, statement: "BEGIN")
        }
    }

    public func close() async throws {
        guard !isClosed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        runTask.cancel()
        await runTask.value
    }

    private func checkOpen(_ sql: String) throws {
        guard !isClosed.load(ordering: .acquiring) else {
            throw SQLDatabaseError("the PostgreSQL database \(redactedURL) is closed", statement: sql, code: .closed)
        }
    }

    /// The body's own error comes out unchanged; BEGIN and COMMIT failures are translated.
    private static func unwrap(_ error: PostgresTransactionError) -> any Error {
        if let closureError = error.closureError { return closureError }
        if let commitError = error.commitError { return translate(commitError, statement: "COMMIT") }
        if let beginError = error.beginError { return translate(beginError, statement: "BEGIN") }
        return SQLDatabaseError("the PostgreSQL transaction failed", statement: "COMMIT")
    }

    /// postgres-nio logs bind values at trace level; the collector's binds may hold secrets.
    private static func quietened(_ logger: Logger) -> Logger {
        var logger = logger
        if logger.logLevel < .debug { logger.logLevel = .debug }
        return logger
    }
}

/// The executor handed to a transaction's body: runs on the leased connection.
private struct PostgresTransactionExecutor: SQLExecutor {
    let connection: PostgresConnection
    let scope: TransactionScope
    let logger: Logger

    @discardableResult
    func query(_ sql: String, _ binds: [SQLValue]) async throws -> [SQLRow] {
        try scope.checkOpen(sql)
        let query = try PostgresDatabase.postgresQuery(sql, binds)
        do {
            return try await PostgresDatabase.rows(connection.query(query, logger: logger), statement: sql)
        } catch {
            throw PostgresDatabase.translate(error, statement: sql)
        }
    }
}
