import Foundation
import Logging
import MamoriCollector
import Synchronization
import Testing

/// The engines the storage suites run on. PostgreSQL is in the list when `make test` started a
/// server (MAMORI_TEST_POSTGRES_URL) or demands one (MAMORI_REQUIRE_POSTGRES=1, and then its cases
/// fail without the URL). Run by hand without either, the PostgreSQL cases are left out and
/// `postgresTestServerIsConfigured` fails by name instead.
enum TestEngines {
    static let postgresURL = ProcessInfo.processInfo.environment["MAMORI_TEST_POSTGRES_URL"].flatMap {
        $0.isEmpty ? nil : $0
    }
    static let postgresRequired = ProcessInfo.processInfo.environment["MAMORI_REQUIRE_POSTGRES"] == "1"
    static let all: [SQLEngine] = postgresURL != nil || postgresRequired ? [.sqlite, .postgres] : [.sqlite]
    static let hasPostgres = all.contains(.postgres)
}

struct TestSetupError: Error, CustomStringConvertible {
    var description: String
}

let testLogger: Logger = {
    var logger = Logger(label: "mamori.collector.tests")
    logger.logLevel = .warning
    return logger
}()

/// A database nobody else uses: a temporary directory for SQLite, a new database on the test
/// server for PostgreSQL. `open()` may be called more than once (a restart, a second collector).
struct FreshDatabase: Sendable {
    let engine: SQLEngine
    let url: String?
    let dataDirectory: String

    func open(logger: Logger = testLogger) async throws -> any SQLDatabase {
        try await SQLDatabaseOpener.open(url: url, dataDirectory: dataDirectory, logger: logger)
    }

    /// Opens, runs `body`, closes (also when `body` throws).
    @discardableResult
    func withOpen<T>(_ body: (any SQLDatabase) async throws -> T) async throws -> T {
        let database = try await open()
        do {
            let result = try await body(database)
            try await database.close()
            return result
        } catch {
            try? await database.close()
            throw error
        }
    }
}

@discardableResult
func withFreshDatabase<T>(_ engine: SQLEngine, _ body: (FreshDatabase) async throws -> T) async throws -> T {
    let directory = FileManager.default.temporaryDirectory
        .appendingPathComponent("mamori-db-test-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    switch engine {
    case .sqlite:
        return try await body(FreshDatabase(engine: .sqlite, url: nil, dataDirectory: directory))
    case .postgres:
        return try await withFreshPostgresDatabase { url in
            try await body(FreshDatabase(engine: .postgres, url: url, dataDirectory: directory))
        }
    }
}

private func withFreshPostgresDatabase<T>(_ body: (String) async throws -> T) async throws -> T {
    guard let serverURL = TestEngines.postgresURL else {
        throw TestSetupError(description:
            "MAMORI_TEST_POSTGRES_URL is unset but PostgreSQL is required: run `make test`, or "
            + "`bash scripts/pg-test-server.sh run -- swift test --filter MamoriCollectorTests`")
    }
    let name = "mamori_t_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
    let admin = try await SQLDatabaseOpener.open(url: serverURL, dataDirectory: "/nonexistent", logger: testLogger)
    do {
        try await admin.query("CREATE DATABASE \(name)", [])
        let result: T
        do {
            result = try await body(replacingDatabase(in: serverURL, with: name))
        } catch {
            _ = try? await admin.query("DROP DATABASE IF EXISTS \(name) WITH (FORCE)", [])
            throw error
        }
        try await admin.query("DROP DATABASE IF EXISTS \(name) WITH (FORCE)", [])
        try await admin.close()
        return result
    } catch {
        try? await admin.close()
        throw error
    }
}

/// `postgres://user:pw@host:port/DB?params` with DB replaced.
func replacingDatabase(in url: String, with database: String) -> String {
    let afterScheme = url.range(of: "://")!.upperBound
    let pathStart = url[afterScheme...].firstIndex(of: "/") ?? url.endIndex
    let queryStart = url[pathStart...].firstIndex(of: "?") ?? url.endIndex
    return String(url[..<pathStart]) + "/" + database + String(url[queryStart...])
}

/// The password in a postgres:// URL, to check that nothing repeats it.
func password(in url: String) -> String? {
    guard let afterScheme = url.range(of: "://")?.upperBound,
          let at = url[afterScheme...].lastIndex(of: "@") else { return nil }
    let userInfo = url[afterScheme..<at]
    return userInfo.firstIndex(of: ":").map { String(userInfo[userInfo.index(after: $0)...]) }
}

/// Keeps every log line (message and metadata), to check what would reach the journal.
final class CapturedLogs: Sendable {
    private let lines = Mutex<[String]>([])
    var all: [String] { lines.withLock { $0 } }

    func logger() -> Logger {
        var logger = Logger(label: "captured") { _ in CapturingHandler(logs: self) }
        logger.logLevel = .trace
        return logger
    }

    fileprivate func append(_ line: String) { lines.withLock { $0.append(line) } }
}

private struct CapturingHandler: LogHandler {
    let logs: CapturedLogs
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let merged = metadata.merging(event.metadata ?? [:]) { $1 }
        logs.append("\(event.level) \(event.message) \(merged)")
    }
}
