import ArgumentParser
import Foundation
import MamoriClient
import MamoriCore
import Synchronization

@main
struct LoadGenerator: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mamori-loadgen",
        abstract: "Enrol simulated terminals and stream real journals to a collector; print throughput and latency.",
        discussion: "Exit status: 0 the run completed with no unexpected errors (injected tampering must be refused); 1 otherwise; 2 bad input."
    )

    enum Injection: String, ExpressibleByArgument, CaseIterable {
        case gap, fork
        case badMAC = "bad-mac"
        case replay
    }

    @Option(help: "The collector's URL.") var server: String
    @Option(help: "The collector's CA certificate.") var ca: String
    @Option(help: "An admin token, or @FILE to read it from a file.") var token: String
    @Option(help: "Simulated terminals.") var hosts = 10
    @Option(name: .customLong("records-per-batch"), help: "Records in each batch.") var recordsPerBatch = 100
    @Option(help: "Seconds between a terminal's batches (0: back to back).") var interval = 0.0
    @Option(help: "Seconds to run after enrolment.") var duration = 10.0
    @Option(help: "Requests in flight at once (0: one per terminal).") var concurrency = 0
    @Option(help: "Organisation the terminals enrol in.") var org = "mayor"
    @Option(help: "Organisations, comma-separated (identifiers or Japanese names): terminals are spread over them in turn (overrides --org).")
    var orgs: String?
    @Option(help: "Posture checks each terminal reports (0: none): a posture.report in its first batch and every --posture-every batches.")
    var checks = 0
    @Option(name: .customLong("fail-rate"), help: "Fraction of checks that fail (0 to 1), the same checks on the same terminals every run.")
    var failRate = 0.0
    @Option(name: .customLong("posture-every"), help: "Batches between a terminal's posture reports.") var postureEvery = 10
    @Option(name: .customLong("evidence-suffix"), help: "Text appended to every check's evidence (hostile-input tests: escape sequences).")
    var evidenceSuffix = ""
    @Option(name: .customLong("name-prefix"), help: "Terminals are named PREFIX-000000, PREFIX-000001, …") var namePrefix = "loadgen"
    @Option(help: "HTTPS connections to keep open (a real fleet has one per terminal).") var connections = 64
    @Option(help: "Tamper on one terminal halfway through: gap, fork, bad-mac, replay.") var inject: Injection?
    @Option(name: .customLong("inject-host"), help: "Which terminal (0-based) to tamper on.") var injectHost = 0
    @Option(help: "text or json.") var format = "text"
    @Option(name: .customLong("latency-log"), help: "Write every request's start (s after the run began) and latency (ms) to this CSV file.")
    var latencyLog: String?

    func validate() throws {
        guard hosts > 0, recordsPerBatch > 0, duration > 0, interval >= 0, concurrency >= 0 else {
            throw ValidationError("--hosts, --records-per-batch and --duration must be positive; --interval and --concurrency not negative")
        }
        guard injectHost < hosts else { throw ValidationError("--inject-host must be below --hosts") }
        guard (1...1024).contains(connections) else { throw ValidationError("--connections must be between 1 and 1024") }
        guard ["text", "json"].contains(format) else { throw ValidationError("--format is text or json") }
        guard (0...PostureReport.maxChecks).contains(checks) else { throw ValidationError("--checks must be between 0 and \(PostureReport.maxChecks)") }
        guard (0...1).contains(failRate) else { throw ValidationError("--fail-rate must be between 0 and 1") }
        guard postureEvery > 0 else { throw ValidationError("--posture-every must be positive") }
        _ = try organisations()
    }

    func run() async throws {
        let adminToken = try readToken()
        let inFlight = concurrency == 0 ? hosts : concurrency
        let client = try CollectorClient(baseURL: server, caPEM: try readCA(), connectionsPerHost: connections)
        let enrolStart = ContinuousClock.now
        let terminals = try await enrolAll(client: client, adminToken: adminToken, limit: min(inFlight, 64))
        let enrolSeconds = (ContinuousClock.now - enrolStart).seconds
        let stats = Stats()
        // A paced fleet starts its clock once every terminal's task is waiting: creating and
        // scheduling 100,000 tasks takes this process a moment, which is the load generator's
        // cost, not the collector's latency.
        let start = ContinuousClock.now.advanced(by: interval > 0 ? .seconds(min(5, 1 + Double(hosts) / 50_000)) : .zero)
        let deadline = start.advanced(by: .seconds(duration))
        let gate = Gate(limit: inFlight)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (index, terminal) in terminals.enumerated() {
                group.addTask {
                    try await self.drive(terminal, index: index, client: client, stats: stats, gate: gate, start: start, deadline: deadline)
                }
            }
            try await group.waitForAll()
        }
        let elapsed = (ContinuousClock.now - start).seconds
        try? await client.shutdown()
        let report = stats.report(elapsed: elapsed, enrolSeconds: enrolSeconds, hosts: hosts)
        print(format == "json" ? report.json.canonicalString : report.text)
        if let latencyLog { try stats.writeLatencyLog(latencyLog) }
        if report.unexpected > 0 || (inject != nil && report.injectedRefused == 0) { throw ExitCode(1) }
    }

    func readCA() throws -> String {
        guard let pem = try? String(contentsOfFile: ca, encoding: .utf8) else { throw ValidationError("cannot read the CA \(ca)") }
        return pem
    }

    func readToken() throws -> String {
        guard token.hasPrefix("@") else { return token }
        guard let text = try? String(contentsOfFile: String(token.dropFirst()), encoding: .utf8) else {
            throw ValidationError("cannot read the token file \(token.dropFirst())")
        }
        return text.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    final class Terminal: @unchecked Sendable {
        let identity: AgentIdentity
        var journal: SyntheticJournal
        var lastBatch: [UInt8] = []
        var lastNumber: Int64 = 0
        /// Genuine lines held back by an injected fault, sent next.
        var pending: [[UInt8]]?
        let index: Int
        var batches = 0
        init(identity: AgentIdentity, journal: SyntheticJournal, index: Int) {
            self.identity = identity
            self.journal = journal
            self.index = index
        }
    }

    func enrolAll(client: CollectorClient, adminToken: String, limit: Int) async throws -> [Terminal] {
        try await withThrowingTaskGroup(of: (Int, Terminal).self) { group in
            var terminals: [Terminal?] = Array(repeating: nil, count: hosts)
            var next = 0
            func add() {
                let index = next
                next += 1
                group.addTask {
                    let organisations = try self.organisations()
                    let reply = try await client.createEnrollToken(adminToken: adminToken, organisation: organisations[index % organisations.count],
                                                                   group: nil, expiresSeconds: 3600)
                    guard let token = reply["token"]?.stringValue else { throw ValidationError("the collector gave no token") }
                    let name = self.namePrefix + String(format: "-%06d", index)
                    var journal = SyntheticJournal(host: name, seed: UInt64(index) &* 0x9E37_79B9_7F4A_7C15, start: SystemTime.now())
                    let identity = try await client.enrol(token: token, hostname: name, hostKey: journal.hostKey, k0: journal.k0)
                    journal.assignHost(identity.hostId)
                    return (index, Terminal(identity: identity, journal: journal, index: index))
                }
            }
            while next < min(limit, hosts) { add() }
            while let (index, terminal) = try await group.next() {
                terminals[index] = terminal
                if next < hosts { add() }
            }
            return terminals.compactMap { $0 }
        }
    }

    func drive(_ terminal: Terminal, index: Int, client: CollectorClient, stats: Stats, gate: Gate,
               start: ContinuousClock.Instant, deadline: ContinuousClock.Instant) async throws {
        // Terminals start spread over the first interval, as a real fleet's would be.
        var due = start.advanced(by: .seconds(interval * Double(index) / Double(hosts)))
        var injected = false
        while due < deadline {
            if interval > 0 { try await Task.sleep(until: due, clock: .continuous) }
            let tamper = !injected && inject != nil && index == injectHost && ContinuousClock.now >= start.advanced(by: .seconds(duration / 2))
            await gate.enter()
            let began = ContinuousClock.now
            let outcome = await ship(terminal, client: client, tamper: tamper ? inject : nil)
            let latency = ContinuousClock.now - began
            await gate.leave()
            stats.record(outcome, latency: latency, injected: tamper, at: (began - start).seconds)
            injected = injected || tamper
            due = interval > 0 ? due.advanced(by: .seconds(interval)) : ContinuousClock.now
        }
    }

    enum Outcome {
        case stored(records: Int)
        case refused(String)
        case failed(String)
    }

    func ship(_ terminal: Terminal, client: CollectorClient, tamper: Injection?) async -> Outcome {
        do {
            if tamper == .replay {
                let response = try await client.signed("POST", "/v1/agent/journal", identity: terminal.identity, body: terminal.lastBatch,
                                                       requestNumber: terminal.lastNumber)
                return response.status == 409 ? .refused("replay") : .failed("replay answered \(response.status)")
            }
            let genuine = terminal.pending ?? nextLines(terminal)
            // Held until the collector stores them: a failed or tampered send is followed by these.
            terminal.pending = genuine
            let lines = tamper.map { tampered(genuine, $0, previous: terminal.lastBatch) } ?? genuine
            let body: [UInt8] = lines.reduce(into: []) { out, line in out += line; out.append(0x0A) }
            let number = terminal.identity.nextRequestNumber()
            let response = try await client.signed("POST", "/v1/agent/journal", identity: terminal.identity, body: body, requestNumber: number)
            switch response.status {
            case 200:
                terminal.pending = nil
                terminal.lastBatch = body
                terminal.lastNumber = number
                return .stored(records: lines.count)
            case 422:
                let kind = (try? JSONValue.parse(response.body))?["kind"]?.stringValue ?? "?"
                return .refused(kind)
            default:
                return .failed("HTTP \(response.status): \(response.reason)")
            }
        } catch {
            return .failed("\(error)")
        }
    }

    /// The terminal's next batch: records, and a posture report when one is due.
    func nextLines(_ terminal: Terminal) -> [[UInt8]] {
        var lines = terminal.journal.lines(recordsPerBatch)
        if checks > 0, terminal.batches % postureEvery == 0 {
            var results = SimulatedPosture.checks(host: terminal.index, count: checks, failRate: failRate)
            for index in results.indices { results[index].evidence += evidenceSuffix }
            let bytes = terminal.journal.posture(PostureReport(complete: true, profileVersion: 1, checks: results))
            lines += bytes.dropLast().split(separator: 0x0A, omittingEmptySubsequences: false).map { Array($0) }
        }
        terminal.batches += 1
        return lines
    }

    func organisations() throws -> [String] {
        let names = (orgs ?? org).split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        return try names.map { name in
            guard let organisation = Organisation(identifierOrName: name) else { throw ValidationError("unknown organisation \(name)") }
            return organisation.rawValue
        }
    }

    /// The injected fault; the genuine lines are sent with the terminal's next batch, so only the
    /// tampered one is refused.
    func tampered(_ lines: [[UInt8]], _ tamper: Injection, previous: [UInt8]) -> [[UInt8]] {
        switch tamper {
        case .gap:
            return Array(lines.dropFirst())
        case .badMAC:
            var line = lines[0]
            if let index = line.lastIndex(of: UInt8(ascii: "\"")).map({ $0 - 1 }) {
                line[index] = line[index] == UInt8(ascii: "0") ? UInt8(ascii: "1") : UInt8(ascii: "0")
            }
            return [line] + lines.dropFirst()
        case .fork:
            // The last record already stored, changed: a second history at a stored seq.
            guard let last = previous.dropLast().split(separator: 0x0A).last else { return lines }
            var changed = Array(last)
            if let index = changed.firstIndex(of: UInt8(ascii: "0")) { changed[index] = UInt8(ascii: "1") }
            return [changed] + lines
        case .replay:
            return lines
        }
    }
}

/// Limits requests in flight.
actor Gate {
    let limit: Int
    var active = 0
    var waiting: [CheckedContinuation<Void, Never>] = []

    init(limit: Int) { self.limit = limit }

    func enter() async {
        if active < limit {
            active += 1
            return
        }
        await withCheckedContinuation { waiting.append($0) }
    }

    func leave() {
        if waiting.isEmpty {
            active -= 1
        } else {
            waiting.removeFirst().resume()
        }
    }
}

final class Stats: Sendable {
    struct State {
        var latencies: [Double] = []
        var started: [Double] = []
        var records = 0
        var stored = 0
        var refused: [String: Int] = [:]
        var failures: [String: Int] = [:]
        var injectedRefused = 0
        var unexpected = 0
    }

    let state = Mutex(State())

    func record(_ outcome: LoadGenerator.Outcome, latency: Duration, injected: Bool, at offset: Double) {
        state.withLock { state in
            state.latencies.append(latency.seconds * 1000)
            state.started.append(offset)
            switch outcome {
            case .stored(let records):
                state.stored += 1
                state.records += records
                if injected { state.unexpected += 1 }
            case .refused(let kind):
                state.refused[kind, default: 0] += 1
                if injected { state.injectedRefused += 1 } else { state.unexpected += 1 }
            case .failed(let reason):
                state.failures[String(reason.prefix(120)), default: 0] += 1
                state.unexpected += 1
            }
        }
    }

    func writeLatencyLog(_ path: String) throws {
        let csv = state.withLock { state in
            zip(state.started, state.latencies).map { String(format: "%.4f,%.3f", $0, $1) }.joined(separator: "\n")
        }
        try Data(("start_s,latency_ms\n" + csv + "\n").utf8).write(to: URL(fileURLWithPath: path))
    }

    struct Report {
        var json: JSONValue
        var text: String
        var unexpected: Int
        var injectedRefused: Int
    }

    func report(elapsed: Double, enrolSeconds: Double, hosts: Int) -> Report {
        state.withLock { state in
            let sorted = state.latencies.sorted()
            func percentile(_ p: Double) -> Double {
                sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int((p * Double(sorted.count)).rounded(.up)) - 1)]
            }
            let requests = sorted.count
            let micros = { (value: Double) in Int64((value * 1000).rounded()) }
            let json = JSONValue.object([
                "hosts": .int(Int64(hosts)), "requests": .int(Int64(requests)), "stored_batches": .int(Int64(state.stored)),
                "records": .int(Int64(state.records)), "elapsed_ms": .int(Int64(elapsed * 1000)), "enrol_ms": .int(Int64(enrolSeconds * 1000)),
                "records_per_second": .int(Int64(Double(state.records) / elapsed)), "requests_per_second": .int(Int64(Double(requests) / elapsed)),
                "latency_us": .object(["p50": .int(micros(percentile(0.5))), "p90": .int(micros(percentile(0.9))), "p99": .int(micros(percentile(0.99))),
                                       "max": .int(micros(sorted.last ?? 0))]),
                "refused": .object(state.refused.mapValues { .int(Int64($0)) }),
                "failures": .object(state.failures.mapValues { .int(Int64($0)) }),
                "injected_refused": .int(Int64(state.injectedRefused)), "unexpected": .int(Int64(state.unexpected)),
            ])
            let text = """
                hosts \(hosts) (enrolled in \(String(format: "%.1f", enrolSeconds)) s)
                requests \(requests), batches stored \(state.stored), records \(state.records) in \(String(format: "%.2f", elapsed)) s
                throughput \(Int(Double(state.records) / elapsed)) records/s, \(Int(Double(requests) / elapsed)) requests/s
                latency ms: p50 \(String(format: "%.2f", percentile(0.5))) p90 \(String(format: "%.2f", percentile(0.9))) p99 \(String(format: "%.2f", percentile(0.99))) max \(String(format: "%.2f", sorted.last ?? 0))
                refused \(state.refused) (injected and refused: \(state.injectedRefused)); failures \(state.failures)
                """
            return Report(json: json, text: text, unexpected: state.unexpected, injectedRefused: state.injectedRefused)
        }
    }
}

enum SystemTime {
    static func now() -> Timestamp { Timestamp(microsecondsSinceEpoch: Int64(Date().timeIntervalSince1970 * 1_000_000)) }
}

extension Duration {
    var seconds: Double {
        let (s, attoseconds) = components
        return Double(s) + Double(attoseconds) / 1e18
    }
}
