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

    /// Runs `body` against a fresh collector on `engine`, and always tears it down.
    static func run(_ engine: SQLEngine, limits: CollectorLimits = CollectorLimits(), commitLanes: Int? = nil,
                    _ body: (CollectorHarness) async throws -> Void) async throws {
        try await withFreshDatabase(engine) { fresh in
            let harness = try await start(fresh, limits: limits, commitLanes: commitLanes)
            do {
                try await body(harness)
            } catch {
                await harness.stop()
                throw error
            }
            await harness.stop()
        }
    }

    /// Cancelling the server at the end of a test makes Hummingbird log its shutdown as errors.
    static let serverLogger: Logger = {
        var logger = Logger(label: "collector-under-test")
        logger.logLevel = .critical
        return logger
    }()

    /// The scrape token every harness collector's `/metrics` requires.
    static let metricsToken = "mamori-test-scrape-token"

    static func start(_ fresh: FreshDatabase, limits: CollectorLimits, commitLanes: Int? = nil) async throws -> CollectorHarness {
        var limits = limits
        limits.metricsTokenSHA256 = CollectorLimits.scrapeTokenDigest(metricsToken)
        let directory = fresh.dataDirectory + "/collector"
        let data = CollectorData(directory: directory)
        let root = ProfilePrivateKey.generate(role: .root)
        try data.create(serverNames: ["localhost", "127.0.0.1"], profileRoot: root.publicKey)
        let database = try await fresh.open()
        _ = try await SQLMigrator(migrations: CollectorSchema.migrations).migrate(database, logger: testLogger)
        let store = CollectorStore(database: database, commitLanes: commitLanes)
        let token = try await store.createAdminToken(role: .admin, organisations: nil, label: "test", now: CollectorClock.now())
        let service = CollectorService(store: store, box: try data.secretBox(), receiptKey: try data.receiptKey(),
                                       profileRoot: try data.profileRoot(), limits: limits, logger: serverLogger)
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
                                serverTask: task, port: port)
    }

    private init(directory: String, data: CollectorData, database: any SQLDatabase, service: CollectorService, client: CollectorClient,
                 adminToken: String, profileRoot: ProfilePrivateKey, signingKey: ProfilePrivateKey, certificate: SigningKeyCertificate,
                 serverTask: Task<Void, any Error>, port: Int) {
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
    }

    func stop() async {
        try? await client.shutdown()
        serverTask.cancel()
        _ = await serverTask.result
        try? await database.close()
    }

    /// A new host: an enrolment token for `org`, a synthetic journal, the host enrolled with it.
    func enrolHost(org: String = "mayor", group: String? = nil, name: String = "pc-\(Int.random(in: 1000...9999))",
                   start: Timestamp = CollectorClock.now()) async throws -> (AgentIdentity, SyntheticJournal) {
        let reply = try await client.createEnrollToken(adminToken: adminToken, organisation: org, group: group, expiresSeconds: 3600)
        let token = try #require(reply["token"]?.stringValue)
        var journal = SyntheticJournal(host: name, seed: UInt64.random(in: 0...UInt64.max), start: start)
        let identity = try await client.enrol(token: token, hostname: name, hostKey: journal.hostKey, k0: journal.k0)
        journal.assignHost(identity.hostId)
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

