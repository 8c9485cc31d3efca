/// The collector's one SQL code path over two engines. Queries are written once, in the common
/// subset of SQLite and PostgreSQL, with `?` placeholders (the PostgreSQL backend numbers them
/// `$1…$n`); every value from outside is a bind, never spliced into the text.
///
/// Column types used by the schema: BIGINT (Int64), TEXT (String, also hex/base64 for bytes),
/// DOUBLE PRECISION (Double). Booleans are BIGINT 0/1. No BLOB/BYTEA, no engine-specific SQL.

/// A bound parameter or a column value.
public enum SQLValue: Sendable, Hashable {
    case int(Int64)
    case double(Double)
    case text(String)
    case null

    public var int: Int64? { if case .int(let v) = self { v } else { nil } }
    public var double: Double? {
        switch self {
        case .double(let v): v
        case .int(let v): Double(v)
        default: nil
        }
    }
    public var text: String? { if case .text(let v) = self { v } else { nil } }
    public var isNull: Bool { self == .null }
}

/// One result row; column names as the query spelled them (lower case).
public struct SQLRow: Sendable {
    public var values: [String: SQLValue]
    public init(values: [String: SQLValue]) { self.values = values }
    public subscript(_ column: String) -> SQLValue { values[column] ?? .null }
}

/// Runs statements. Inside `transaction`, the executor handed to the body runs on the
/// transaction's connection.
public protocol SQLExecutor: Sendable {
    /// Runs one statement and returns its rows (empty for statements without RETURNING).
    @discardableResult
    func query(_ sql: String, _ binds: [SQLValue]) async throws -> [SQLRow]
}

public enum SQLEngine: String, Sendable {
    case sqlite
    case postgres
}

public protocol SQLDatabase: SQLExecutor {
    var engine: SQLEngine { get }
    /// BEGIN … COMMIT around `body`; ROLLBACK if it throws. Transactions are serialisable with
    /// respect to each other on SQLite (one writer) and READ COMMITTED on PostgreSQL, so the
    /// collector's head updates are conditional (`WHERE head_seq = ?`) and checked with RETURNING.
    func transaction<T: Sendable>(_ body: @Sendable (any SQLExecutor) async throws -> T) async throws -> T
    /// Closes connections; further calls throw.
    func close() async throws
}

/// A failure of the database layer, with the statement that failed (never the binds: they may
/// hold secrets).
public struct SQLDatabaseError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public var statement: String?
    public init(_ message: String, statement: String? = nil) {
        self.message = message
        self.statement = statement
    }
    public var description: String {
        statement.map { "\(message) (in: \($0.prefix(120)))" } ?? message
    }
}
