import Foundation
import Logging
import NIOSSL
import PostgresNIO

extension PostgresDatabase {
    static func postgresQuery(_ sql: String, _ binds: [SQLValue]) throws -> PostgresQuery {
        let placeholders = try SQLPlaceholders.check(sql, binds: binds.count)
        var bindings = PostgresBindings(capacity: binds.count)
        for bind in binds {
            switch bind {
            case .int(let v): bindings.append(v)
            case .double(let v): bindings.append(v)
            case .text(let v): bindings.append(v)
            case .null: bindings.appendNull()
            }
        }
        return PostgresQuery(unsafeSQL: placeholders.numberedSQL, binds: bindings)
    }

    static func rows(_ sequence: PostgresRowSequence, statement: String) async throws -> [SQLRow] {
        var rows: [SQLRow] = []
        for try await row in sequence {
            var values: [String: SQLValue] = [:]
            for cell in row {
                values[cell.columnName] = try value(of: cell, statement: statement)
            }
            rows.append(SQLRow(values: values))
        }
        return rows
    }

    private static func value(of cell: PostgresCell, statement: String) throws -> SQLValue {
        guard cell.bytes != nil else { return .null }
        do {
            switch cell.dataType {
            case .int2, .int4, .int8: return .int(try cell.decode(Int64.self))
            case .float4, .float8: return .double(try cell.decode(Double.self))
            case .numeric: return try numeric(cell, statement: statement)
            case .text, .varchar, .name, .bpchar: return .text(try cell.decode(String.self))
            // SQLite has no booleans (its comparisons give 0/1), so EXISTS(…) reads alike on both.
            case .bool: return .int(try cell.decode(Bool.self) ? 1 : 0)
            default: break
            }
        } catch let error as PostgresDecodingError {
            throw SQLDatabaseError(
                "cannot decode column \(cell.columnName) of PostgreSQL type \(cell.dataType): \(error.code)",
                statement: statement, code: .unsupportedType)
        }
        throw SQLDatabaseError(
            "column \(cell.columnName) has PostgreSQL type \(cell.dataType), which the collector does not use "
                + "(BIGINT, DOUBLE PRECISION, NUMERIC, TEXT, BOOLEAN only)",
            statement: statement, code: .unsupportedType)
    }

    private static func numeric(_ cell: PostgresCell, statement: String) throws -> SQLValue {
        let decimal = try cell.decode(Decimal.self)
        guard let double = Double(decimal.description) else {
            throw SQLDatabaseError(
                "cannot read NUMERIC column \(cell.columnName) as a double", statement: statement,
                code: .unsupportedType)
        }
        return .double(double)
    }
}

// MARK: - Errors

extension PostgresDatabase {
    static func translate(_ error: any Error, statement: String?) -> any Error {
        switch error {
        case let error as SQLDatabaseError: return error
        case let error as PSQLError: return translate(error, statement: statement)
        case is CancellationError: return error
        default:
            return SQLDatabaseError("PostgreSQL: \(error)", statement: statement, code: .connection)
        }
    }

    /// Never `String(reflecting: error)`: PSQLError's debug description holds the query's binds.
    private static func translate(_ error: PSQLError, statement: String?) -> SQLDatabaseError {
        guard error.code == .server, let info = error.serverInfo else {
            let underlying = error.underlying.map { ": \($0)" } ?? ""
            return SQLDatabaseError(
                "PostgreSQL connection failed (\(error.code))\(underlying)", statement: statement, code: .connection)
        }
        let sqlState = info[.sqlState] ?? "?????"
        let message = serverMessage(info[.message] ?? "unknown error", sqlState: sqlState)
        return SQLDatabaseError(
            "PostgreSQL: \(message) (SQLSTATE \(sqlState))", statement: statement, code: code(sqlState: sqlState))
    }

    /// Data exceptions (class 22) quote the offending value after a colon — a bind, perhaps a
    /// secret — so only the part before it is kept. DETAIL is never used (it quotes key values).
    private static func serverMessage(_ message: String, sqlState: String) -> String {
        guard sqlState.hasPrefix("22"), let colon = message.firstIndex(of: ":") else { return message }
        return String(message[..<colon])
    }

    static func code(sqlState: String) -> SQLDatabaseError.Code {
        switch sqlState {
        case "23505": .uniqueViolation
        case "23503": .foreignKeyViolation
        case "23502": .notNullViolation
        case "23514": .checkViolation
        case "40001", "40P01", "55P03": .retryable
        case _ where ["08", "28", "3D", "57"].contains(String(sqlState.prefix(2))): .connection
        default: .other
        }
    }
}

// MARK: - Connecting

extension PostgresDatabase {
    static func probe(_ url: PostgresURL, logger: Logger) async throws {
        let connection: PostgresConnection
        do {
            connection = try await PostgresConnection.connect(
                configuration: connectionConfiguration(url), id: 0, logger: logger)
        } catch {
            throw cannotOpen(url, error)
        }
        do {
            try await connection.query("SELECT 1", logger: logger)
        } catch {
            try? await connection.close()
            throw cannotOpen(url, error)
        }
        try? await connection.close()
    }

    private static func cannotOpen(_ url: PostgresURL, _ error: any Error) -> SQLDatabaseError {
        let reason: String
        switch translate(error, statement: nil) {
        case let error as SQLDatabaseError: reason = error.message
        case let other: reason = "\(other)"
        }
        return SQLDatabaseError("cannot open the PostgreSQL database \(url.redacted): \(reason)", code: .connection)
    }

    static func clientConfiguration(_ url: PostgresURL) throws -> PostgresClient.Configuration {
        switch url.endpoint {
        case .unixSocket(let path):
            return .init(unixSocketPath: path, username: url.username, password: url.password, database: url.database)
        case .tcp(let host, let port):
            let tls: PostgresClient.Configuration.TLS =
                switch (url.sslMode, tlsConfiguration(url.sslMode)) {
                case (.prefer, let configuration?): .prefer(configuration)
                case (_, let configuration?): .require(configuration)
                case (_, nil): .disable
                }
            return .init(
                host: host, port: port, username: url.username, password: url.password, database: url.database,
                tls: tls)
        }
    }

    private static func connectionConfiguration(_ url: PostgresURL) throws -> PostgresConnection.Configuration {
        switch url.endpoint {
        case .unixSocket(let path):
            return .init(unixSocketPath: path, username: url.username, password: url.password, database: url.database)
        case .tcp(let host, let port):
            let tls: PostgresConnection.Configuration.TLS
            switch (url.sslMode, try tlsConfiguration(url.sslMode).map { try NIOSSLContext(configuration: $0) }) {
            case (.prefer, let context?): tls = .prefer(context)
            case (_, let context?): tls = .require(context)
            case (_, nil): tls = .disable
            }
            return .init(
                host: host, port: port, username: url.username, password: url.password, database: url.database,
                tls: tls)
        }
    }

    /// libpq's meanings: `prefer` and `require` encrypt without checking the certificate;
    /// `verify-full` checks it against the system's trust roots and the host name.
    private static func tlsConfiguration(_ mode: PostgresURL.SSLMode) -> TLSConfiguration? {
        var configuration = TLSConfiguration.makeClientConfiguration()
        switch mode {
        case .disable: return nil
        case .prefer, .require: configuration.certificateVerification = .none
        case .verifyFull: break
        }
        return configuration
    }
}
