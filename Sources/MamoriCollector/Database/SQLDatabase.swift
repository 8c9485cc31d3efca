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
    /// What kind of failure, for callers that react to one (a unique violation means "already
    /// stored"); `.other` when the engine gave nothing more specific.
    public var code: Code = .other
    public init(_ message: String, statement: String? = nil) {
        self.message = message
        self.statement = statement
    }
    public init(_ message: String, statement: String? = nil, code: Code) {
        self.message = message
        self.statement = statement
        self.code = code
    }
    public var description: String {
        statement.map { "\(message) (in: \($0.prefix(120)))" } ?? message
    }
}

extension SQLDatabaseError {
    /// The same codes on both engines (SQLite result codes and PostgreSQL SQLSTATEs map onto them).
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// A UNIQUE or PRIMARY KEY constraint (SQLite constraint, PostgreSQL 23505).
        public static let uniqueViolation = Self(rawValue: "unique-violation")
        /// A FOREIGN KEY constraint (PostgreSQL 23503).
        public static let foreignKeyViolation = Self(rawValue: "foreign-key-violation")
        /// A NOT NULL constraint (PostgreSQL 23502).
        public static let notNullViolation = Self(rawValue: "not-null-violation")
        /// A CHECK constraint (PostgreSQL 23514).
        public static let checkViolation = Self(rawValue: "check-violation")
        /// Lock contention or a serialisation failure: the transaction may be retried
        /// (SQLite BUSY/LOCKED, PostgreSQL 40001, 40P01, 55P03).
        public static let retryable = Self(rawValue: "retryable")
        /// The server could not be reached, refused the login, or the connection broke.
        public static let connection = Self(rawValue: "connection")
        /// The database URL (or the data directory) is unusable.
        public static let invalidConfiguration = Self(rawValue: "invalid-configuration")
        /// A column of a type the collector's schema never uses (BLOB, BYTEA, JSON…).
        public static let unsupportedType = Self(rawValue: "unsupported-type")
        /// The statement's `?` count differs from the number of binds.
        public static let bindCountMismatch = Self(rawValue: "bind-count-mismatch")
        /// The database holds migrations this binary does not know: it is newer, or another build's.
        public static let schemaTooNew = Self(rawValue: "schema-too-new")
        /// The migration list itself is malformed, or disagrees with what was applied.
        public static let migrationMismatch = Self(rawValue: "migration-mismatch")
        /// The database was closed, or an executor was used after its transaction ended.
        public static let closed = Self(rawValue: "closed")
        /// The database itself is in use by this task's open transaction (use the executor
        /// handed to the body instead; the call would wait for itself forever).
        public static let reentrantUse = Self(rawValue: "reentrant-use")
        public static let other = Self(rawValue: "other")
    }
}
