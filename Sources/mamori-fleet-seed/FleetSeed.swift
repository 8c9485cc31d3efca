import ArgumentParser
import Logging
import MamoriClient
import MamoriCollector
import MamoriCore

/// BENCHMARK ONLY (scripts/fleet-bench.sh): fills a collector's database with a simulated fleet
/// that has each reported posture once, as ingest would have stored it (FleetBenchSeeder). Run
/// against a collector made by `mamori-collector init` for the benchmark, never a real one.
@main
struct FleetSeed: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mamori-fleet-seed",
        abstract: "Benchmark only: write N simulated hosts with posture straight into a benchmark collector's database.")

    @Option(help: "The benchmark collector's data directory.") var data: String
    @Option(help: "postgres:// URL (default: SQLite in the data directory).") var database: String?
    @Option(help: "Hosts to write.") var hosts = 100_000
    @Option(help: "Checks per host.") var checks = 20
    @Option(name: .customLong("fail-rate"), help: "Fraction of checks that fail (as mamori-loadgen --fail-rate).") var failRate = 0.05
    @Option(help: "Organisations, comma-separated; hosts are spread over them in turn.")
    var orgs = "mayor,education,assembly,election,audit,agriculture"

    func validate() throws {
        guard hosts > 0, (1...PostureReport.maxChecks).contains(checks), (0...1).contains(failRate) else {
            throw ValidationError("--hosts must be positive, --checks 1 to 256, --fail-rate 0 to 1")
        }
    }

    func run() async throws {
        let organisations = try orgs.split(separator: ",").map { name in
            guard let org = Organisation(identifierOrName: String(name)) else { throw ValidationError("unknown organisation \(name)") }
            return org
        }
        var logger = Logger(label: "mamori-fleet-seed")
        logger.logLevel = .warning
        let db = try await SQLDatabaseOpener.open(url: database, dataDirectory: data, logger: logger)
        let time = CollectorClock.now()
        let fleet = (0..<hosts).map { index in
            FleetBenchSeeder.Host(id: "host-seed-" + String(index), hostname: "seed-" + String(index),
                                  organisation: organisations[index % organisations.count],
                                  checks: SimulatedPosture.checks(host: index, count: checks, failRate: failRate))
        }
        do {
            try await FleetBenchSeeder.seed(fleet, into: db, time: time)
        } catch {
            try? await db.close()
            throw error
        }
        try await db.close()
        print("seeded \(hosts) hosts x \(checks) checks")
    }
}
