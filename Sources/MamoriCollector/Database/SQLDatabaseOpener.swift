import Foundation
public import Logging

/// Chooses the engine from `--database`: none → SQLite in the data directory; a postgres:// URL →
/// PostgreSQL. Errors and logs name the URL without its password.
public enum SQLDatabaseOpener {
    /// The SQLite file's name inside the data directory.
    public static let sqliteFileName = "collector.sqlite3"

    public static func open(url: String?, dataDirectory: String, logger: Logger) async throws -> any SQLDatabase {
        guard let url else {
            return try await SQLiteDatabase.open(path: sqlitePath(dataDirectory: dataDirectory), logger: logger)
        }
        guard PostgresURL.isPostgres(url) else {
            throw SQLDatabaseError(
                "unsupported database URL (\(schemeOnly(url))); leave --database out for SQLite in the data "
                    + "directory, or give \(PostgresURL.acceptedForms)",
                code: .invalidConfiguration)
        }
        return try await PostgresDatabase.open(url: url, logger: logger)
    }

    public static func sqlitePath(dataDirectory: String) -> String {
        dataDirectory.hasSuffix("/") ? dataDirectory + sqliteFileName : dataDirectory + "/" + sqliteFileName
    }

    /// Only the scheme is echoed: the rest of a mistyped URL may hold a password.
    private static func schemeOnly(_ url: String) -> String {
        guard let end = url.firstRange(of: "://") else { return "no scheme" }
        return "scheme \(url[..<end.lowerBound])"
    }
}
