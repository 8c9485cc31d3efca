import ArgumentParser
import Foundation
import Logging
import MamoriCollector
import MamoriCore

@main
struct MamoriCollectorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mamori-collector",
        abstract: "Mamori's collector: enrolment, verified journal ingest, profile distribution.",
        version: MamoriVersion.current,
        subcommands: [InitCommand.self, ServeCommand.self, AdminTokenCommand.self]
    )
}

struct DatabaseOptions: ParsableArguments {
    @Option(help: "The collector's data directory (keys, certificates, the SQLite database).")
    var data: String

    @Option(help: ArgumentHelp("postgres://USER:PASSWORD@HOST:PORT/DB to use PostgreSQL instead of SQLite in the data directory.",
                               discussion: "Without it, the environment variable \(Self.databaseVariable) (kept out of the process list; empty means SQLite)."))
    var database: String?

    /// The packaged unit reads it from /etc/default/mamori-collector, so the password is not on the command line.
    static let databaseVariable = "MAMORI_COLLECTOR_DATABASE"

    /// `--database`, else a non-empty MAMORI_COLLECTOR_DATABASE, else nil (SQLite).
    var databaseURL: String? {
        if let database { return database }
        guard let value = ProcessInfo.processInfo.environment[Self.databaseVariable], !value.isEmpty else { return nil }
        return value
    }

    func open(logger: Logger) async throws -> any SQLDatabase {
        let database = try await SQLDatabaseOpener.open(url: databaseURL, dataDirectory: data, logger: logger)
        do {
            _ = try await SQLMigrator(migrations: CollectorSchema.migrations).migrate(database, logger: logger)
        } catch {
            try? await database.close()
            throw error
        }
        return database
    }
}

enum CollectorLogging {
    static func logger(_ label: String) -> Logger {
        var logger = Logger(label: label)
        logger.logLevel = ProcessInfo.processInfo.environment["MAMORI_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .info
        return logger
    }
}

struct InitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Create the data directory: database, CA and server certificate, keys, and a first admin token (printed once)."
    )

    @OptionGroup var options: DatabaseOptions

    @Option(name: .customLong("server-name"), help: "A DNS name or IPv4 address agents use to reach this collector (repeatable).")
    var serverNames: [String] = []

    @Option(name: .customLong("profile-root"), help: "The profile root public key file (from `mamorictl keys init`); pushed profiles must chain to it.")
    var profileRoot: String?

    func run() async throws {
        let data = CollectorData(directory: options.data)
        var root: ProfilePublicKey?
        if let profileRoot {
            let text = try String(contentsOfFile: profileRoot, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            guard let key = ProfilePublicKey(hex: text) else { throw ValidationError("\(profileRoot): a public key is 64 lower-case hex digits") }
            root = key
        }
        let names = serverNames.isEmpty ? ["localhost", "127.0.0.1", ProcessInfo.processInfo.hostName] : serverNames
        try data.create(serverNames: Array(Set(names)).sorted(), profileRoot: root)
        let logger = CollectorLogging.logger("mamori-collector")
        let database = try await options.open(logger: logger)
        let store = CollectorStore(database: database)
        let token = try await store.createAdminToken(role: .admin, organisations: nil, label: "first admin (init)", now: CollectorClock.now())
        try await database.close()
        print("collector created in \(options.data)")
        print("CA certificate for agents and mamorictl: \(data.caCertificatePath)")
        print("first admin token (shown once, stored hashed):")
        print(token.token)
    }
}

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "serve", abstract: "Serve the HTTPS API until SIGTERM.")

    @OptionGroup var options: DatabaseOptions

    @Option(help: "ADDRESS:PORT to listen on.")
    var listen = "0.0.0.0:8443"

    @Option(name: .customLong("max-body-bytes"), help: "Largest request body accepted.")
    var maxBodyBytes = 8 << 20

    @Option(name: .customLong("rate-per-host"), help: "Requests per second one host may make (burst: twice this).")
    var ratePerHost = 10.0

    @Option(name: .customLong("commit-lanes"),
            help: "Journal writes committed in this many parallel transactions (default: 1 on SQLite, 4 on PostgreSQL).")
    var commitLanes: Int?

    @Option(name: .customLong("reporting-interval"),
            help: "Seconds between an agent's journal shipments (the profiles' reporting.interval; default 900).")
    var reportingInterval: Int64 = 900

    @Option(name: .customLong("stale-intervals"), help: "A host not heard from within this many reporting intervals is stale (default 4).")
    var staleIntervals: Int64 = 4

    @Option(name: .customLong("metrics-token-file"),
            help: "A file whose first line is the bearer token /metrics requires (like Prometheus' authorization setting); not readable by others. Without it /metrics answers nobody.")
    var metricsTokenFile: String?

    func validate() throws {
        guard parseListen() != nil else { throw ValidationError("--listen must be ADDRESS:PORT, e.g. 127.0.0.1:8443") }
        guard (1024...(256 << 20)).contains(maxBodyBytes) else { throw ValidationError("--max-body-bytes must be between 1 KiB and 256 MiB") }
        guard ratePerHost > 0 else { throw ValidationError("--rate-per-host must be positive") }
        if let commitLanes, !(1...16).contains(commitLanes) { throw ValidationError("--commit-lanes must be between 1 and 16") }
        guard (10...86_400).contains(reportingInterval) else { throw ValidationError("--reporting-interval must be between 10 and 86400 seconds") }
        guard (1...1000).contains(staleIntervals) else { throw ValidationError("--stale-intervals must be between 1 and 1000") }
    }

    /// The scrape token's SHA-256, from a file others cannot read; a clear error otherwise.
    static func metricsToken(_ path: String) throws -> [UInt8] {
        var info = stat()
        guard stat(path, &info) == 0 else { throw ValidationError("--metrics-token-file \(path): cannot be read") }
        guard info.st_mode & 0o004 == 0 else { throw ValidationError("--metrics-token-file \(path): readable by others; chmod o-r it") }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8),
              let token = text.split(whereSeparator: { $0 == "\n" || $0 == "\r" }).first.map(String.init), token.utf8.count >= 16 else {
            throw ValidationError("--metrics-token-file \(path): the first line must hold a token of at least 16 characters")
        }
        return CollectorLimits.scrapeTokenDigest(token)
    }

    func parseListen() -> (String, Int)? {
        guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]), (0...65535).contains(port) else { return nil }
        let host = String(listen[..<colon])
        return host.isEmpty ? nil : (host, port)
    }

    func run() async throws {
        let logger = CollectorLogging.logger("mamori-collector")
        let data = CollectorData(directory: options.data)
        let database = try await options.open(logger: logger)
        var limits = CollectorLimits()
        limits.maxBodyBytes = maxBodyBytes
        limits.requestsPerSecondPerHost = ratePerHost
        limits.burstPerHost = ratePerHost * 2
        limits.reportingIntervalSeconds = reportingInterval
        limits.staleIntervals = staleIntervals
        if let metricsTokenFile { limits.metricsTokenSHA256 = try Self.metricsToken(metricsTokenFile) }
        let service = CollectorService(store: CollectorStore(database: database, commitLanes: commitLanes), box: try data.secretBox(), receiptKey: try data.receiptKey(),
                                       profileRoot: try data.profileRoot(), limits: limits, logger: logger)
        let (host, port) = parseListen()!
        let server = CollectorServer(service: service, data: data, host: host, port: port)
        do {
            // Under systemd (Type=notify): READY=1 once the listener is bound, so `systemctl start`
            // returns only when the collector accepts connections; STOPPING=1 on the way out.
            let notifier = SystemdNotifier.fromProcess()
            try await server.run { port in
                logger.info("listening", metadata: ["address": "\(host):\(port)", "engine": "\(database.engine.rawValue)"])
                notifier.notify("READY=1\nSTATUS=listening on \(host):\(port)")
            }
            notifier.notify("STOPPING=1")
        } catch {
            try? await database.close()
            throw error
        }
        try await database.close()
    }
}

struct AdminTokenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "admin-token",
        abstract: "Create an administrator's bearer token on this collector (printed once, stored hashed)."
    )

    @OptionGroup var options: DatabaseOptions

    @Option(help: "admin, auditor or viewer.")
    var role: String

    @Option(help: "Organisation the token covers (repeatable); none: every organisation.")
    var org: [String] = []

    @Option(help: "Who holds the token, for the record.")
    var label: String

    func run() async throws {
        guard let role = AdminRole(rawValue: role) else { throw ValidationError("--role must be admin, auditor or viewer") }
        let organisations = try org.map { text -> Organisation in
            guard let org = Organisation(identifierOrName: text) else { throw ValidationError("unknown organisation \(text)") }
            return org
        }
        let database = try await options.open(logger: CollectorLogging.logger("mamori-collector"))
        let token = try await CollectorStore(database: database).createAdminToken(
            role: role, organisations: organisations.isEmpty ? nil : organisations, label: label, now: CollectorClock.now())
        try await database.close()
        print(token.token)
    }
}
