import Dispatch
public import Logging
public import MamoriCore
public import ServiceLifecycle

/// Runs the posture checks every `posture.interval` (or `posture_interval` in agent.yaml) and
/// journals the results: `posture.changed` with the checks whose status or evidence changed, and
/// `posture.report` with every check at start, after a profile change, and once per reporting
/// interval. The last results are kept for `mamori-agent status`.
public struct PostureService: Service {
    public typealias Evaluator = @Sendable (AgentRuntime) -> [PostureCheckResult]

    let runtime: AgentRuntime
    let evaluate: Evaluator
    let logger: Logger

    public init(runtime: AgentRuntime, logger: Logger, evaluate: @escaping Evaluator) {
        self.runtime = runtime
        self.logger = logger
        self.evaluate = evaluate
    }

    public func run() async throws {
        var last: [String: PostureCheckResult] = [:]
        var lastReport: Timestamp?
        var reportedGeneration = -1
        var lastRun: Timestamp?
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            let rules = runtime.effectiveProfileRules
            let interval = runtime.configuration.postureIntervalSeconds ?? rules.posture.interval
            let generation = runtime.generation
            let due = lastRun.map { SystemClock.now() >= $0.adding(seconds: interval) } ?? true
            if due || generation != reportedGeneration {
                let now = SystemClock.now()
                let results = await Self.offPool { [evaluate, runtime] in evaluate(runtime) }
                lastRun = now
                let changed = results.filter { last[$0.id] != $0 }
                let reportDue = generation != reportedGeneration
                    || lastReport.map { now >= $0.adding(seconds: rules.reporting.interval) } ?? true
                let report = PostureReport(complete: reportDue, profileVersion: runtime.profileState.profile?.version,
                                           checks: reportDue ? results : changed)
                if reportDue || !changed.isEmpty {
                    do {
                        try await runtime.journal.append(kind: report.kind, payload: report.payload, now: now)
                        if reportDue {
                            lastReport = now
                            reportedGeneration = generation
                        }
                        last = Dictionary(results.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
                    } catch {
                        logger.error("posture: results could not be journalled", metadata: ["error": "\(error)"])
                    }
                }
                PostureSnapshot(time: now, profileVersion: report.profileVersion, checks: results).save(runtime.layout.postureStatePath, logger: logger)
                CodePages.releaseExecutableCode()
                for check in changed where !check.status.isCompliant {
                    logger.warning("posture: \(check.id) \(check.status.rawValue)", metadata: ["evidence": "\(check.evidence)"])
                }
            }
            // Wake often enough to notice a profile change promptly.
            guard await pause(seconds: 2) else { break }
        }
    }
}

extension PostureService {
    /// The checks read files, take locks and run `nft`: keep them off the cooperative pool.
    static func offPool(_ body: @escaping @Sendable () -> [PostureCheckResult]) async -> [PostureCheckResult] {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(returning: body()) }
        }
    }
}

/// The last posture run, as `mamori-agent status` shows it.
public struct PostureSnapshot: Sendable, Equatable {
    public var time: Timestamp
    public var profileVersion: Int64?
    public var checks: [PostureCheckResult]

    public init(time: Timestamp, profileVersion: Int64?, checks: [PostureCheckResult]) {
        self.time = time
        self.profileVersion = profileVersion
        self.checks = checks
    }

    func save(_ path: String, logger: Logger) {
        var members = PostureReport(complete: true, profileVersion: profileVersion, checks: checks).payload
        members["time"] = .string(time.description)
        do {
            try FileSystem.makeDirectory(String(path[..<(path.lastIndex(of: "/") ?? path.endIndex)]), mode: 0o755)
            try FileSystem.replaceFile(path, JSONValue.object(members).canonicalBytes + [0x0A], mode: 0o644, syncData: false)
        } catch {
            logger.warning("posture: could not save the last results", metadata: ["error": "\(error)"])
        }
    }

    public static func load(_ path: String) throws -> PostureSnapshot? {
        guard FileSystem.exists(path) else { return nil }
        guard case .object(var members) = try JSONValue.parse(try FileSystem.readFile(path)),
              let time = members.removeValue(forKey: "time")?.stringValue.flatMap({ Timestamp(parsing: $0) }) else {
            throw AgentStateError("\(path): not a posture snapshot")
        }
        let report = try PostureReport(kind: PostureReport.reportKind, payload: members)
        return PostureSnapshot(time: time, profileVersion: report.profileVersion, checks: report.checks)
    }
}
