import Crypto
import Foundation
import Logging
import MamoriClient
@testable import MamoriCollector
import MamoriCore
import Testing

/// A real collector for one test: a fresh data directory (keys, CA, server certificate), a fresh
/// database on the chosen engine, the HTTPS server on a free loopback port, a client that trusts
/// only this collector's CA, and the first admin token.
final class CollectorHarness: @unchecked Sendable {
    let directory: String
    let data: CollectorData
    let database: any SQLDatabase
    let service: CollectorService
    let client: CollectorClient
    let adminToken: String
    let profileRoot: ProfilePrivateKey
    let signingKey: ProfilePrivateKey
    let certificate: SigningKeyCertificate
    let serverTask: Task<Void, any Error>
    let port: Int
    private let dropDatabase: @Sendable () async -> Void

    static func start(_ engine: SQLEngine, limits: CollectorLimits = CollectorLimits()) async throws -> CollectorHarness {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mamori-collector-\(UUID().uuidString)").path
        let data = CollectorData(directory: directory)
        let root = ProfilePrivateKey.generate(role: .root)
        try data.create(serverNames: ["localhost", "127.0.0.1"], profileRoot: root.publicKey)
        var logger = Logger(label: "collector-test")
        logger.logLevel = .warning
        let (database, drop) = try await TestDatabases.make(engine, directory: directory, logger: logger)
        try await SQLMigrator(migrations: CollectorSchema.migrations).migrate(database)
        let store = CollectorStore(database: database)
        let token = try await store.createAdminToken(role: .admin, organisations: nil, label: "test", now: CollectorClock.now())
        let service = CollectorService(store: store, box: try data.secretBox(), receiptKey: try data.receiptKey(),
                                       profileRoot: try data.profileRoot(), limits: limits, logger: logger)
        let server = CollectorServer(service: service, data: data, host: "127.0.0.1", port: 0)
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        let task = Task { try await server.run { port in continuation.yield(port) } }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next(), port > 0 else { throw HarnessError("the server did not start") }
        let caPEM = try String(contentsOfFile: data.caCertificatePath, encoding: .utf8)
        let client = try CollectorClient(baseURL: "https://localhost:\(port)", caPEM: caPEM)
        let signing = ProfilePrivateKey.generate(role: .signing)
        let now = CollectorClock.now()
        let certificate = try SigningKeyCertificate.issue(for: signing.publicKey, by: root, issued: now.adding(seconds: -60),
                                                           expires: now.adding(seconds: 86400 * 30))
        return CollectorHarness(directory: directory, data: data, database: database, service: service, client: client,
                                adminToken: token.token, profileRoot: root, signingKey: signing, certificate: certificate,
                                serverTask: task, port: port, dropDatabase: drop)
    }

    private init(directory: String, data: CollectorData, database: any SQLDatabase, service: CollectorService, client: CollectorClient,
                 adminToken: String, profileRoot: ProfilePrivateKey, signingKey: ProfilePrivateKey, certificate: SigningKeyCertificate,
                 serverTask: Task<Void, any Error>, port: Int, dropDatabase: @escaping @Sendable () async -> Void) {
        self.directory = directory
        self.data = data
        self.database = database
        self.service = service
        self.client = client
        self.adminToken = adminToken
        self.profileRoot = profileRoot
        self.signingKey = signingKey
        self.certificate = certificate
        self.serverTask = serverTask
        self.port = port
        self.dropDatabase = dropDatabase
    }

    func stop() async {
        try? await client.shutdown()
        serverTask.cancel()
        _ = await serverTask.result
        try? await database.close()
        await dropDatabase()
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// A new host: an enrolment token for `org`, a synthetic journal, the host enrolled with it.
    func enrolHost(org: String = "mayor", group: String? = nil, name: String = "pc-\(Int.random(in: 1000...9999))") async throws -> (AgentIdentity, SyntheticJournal) {
        let reply = try await client.createEnrollToken(adminToken: adminToken, organisation: org, group: group, expiresSeconds: 3600)
        let token = try #require(reply["token"]?.stringValue)
        let journal = SyntheticJournal(host: name, seed: UInt64.random(in: 0...UInt64.max), start: CollectorClock.now())
        let identity = try await client.enrol(token: token, hostname: name, hostKey: journal.hostKey, k0: journal.k0)
        return (identity, journal)
    }

    /// The shipped standard profile with `version` set, signed by this harness's signing key.
    func signedProfile(version: Int64) throws -> [UInt8] {
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let source = try String(contentsOf: repo.appendingPathComponent("profiles/mynumber-standard.yaml"), encoding: .utf8)
            .replacingOccurrences(of: "version: 1 ", with: "version: \(version) ")
        return try ProfileSigner.sign(source: source, key: signingKey, certificate: certificate, now: CollectorClock.now()).get().bytes
    }

    func host(_ id: String) async throws -> HostRecord {
        try #require(try await service.store.host(id: id))
    }

    func alerts(host: String) async throws -> [CollectorAlert] {
        try await service.store.alerts(organisations: nil, hostId: host)
    }
}

struct HarnessError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Fresh databases for tests: SQLite in the test's directory; PostgreSQL as a new database on the
/// server named by MAMORI_TEST_POSTGRES_URL (started by `make test`), dropped afterwards.
enum TestDatabases {
    static func make(_ engine: SQLEngine, directory: String, logger: Logger) async throws -> (any SQLDatabase, @Sendable () async -> Void) {
        switch engine {
        case .sqlite:
            return (try await SQLDatabaseOpener.open(url: nil, dataDirectory: directory, logger: logger), {})
        case .postgres:
            guard let base = ProcessInfo.processInfo.environment["MAMORI_TEST_POSTGRES_URL"] else {
                throw HarnessError("MAMORI_TEST_POSTGRES_URL is not set: run through `make test`, which starts PostgreSQL")
            }
            let name = "mamori_t_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16)
            let admin = try await SQLDatabaseOpener.open(url: base, dataDirectory: directory, logger: logger)
            try await admin.query("CREATE DATABASE \(name)", [])
            let url = replacingDatabase(in: base, with: String(name))
            let database = try await SQLDatabaseOpener.open(url: url, dataDirectory: directory, logger: logger)
            let drop: @Sendable () async -> Void = {
                _ = try? await admin.query("DROP DATABASE IF EXISTS \(name) WITH (FORCE)", [])
                try? await admin.close()
            }
            return (database, drop)
        }
    }

    /// postgres://u:p@h:port/DB?q → postgres://u:p@h:port/NAME?q
    static func replacingDatabase(in url: String, with name: String) -> String {
        guard let scheme = url.range(of: "://") else { return url }
        let rest = url[scheme.upperBound...]
        let query = rest.firstIndex(of: "?")
        let authority = rest[..<(query ?? rest.endIndex)]
        let hostPart = authority.firstIndex(of: "/").map { authority[..<$0] } ?? authority
        return String(url[..<scheme.upperBound]) + hostPart + "/" + name + (query.map { String(rest[$0...]) } ?? "")
    }
}
