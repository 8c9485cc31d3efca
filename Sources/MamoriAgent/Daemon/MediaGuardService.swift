public import Logging
import MamoriCore
public import ServiceLifecycle

/// Layer 2 of the media guard: the agent's libudev monitor. Reconciles the devices present at
/// start and after every profile change, then decides each new device; every decision is
/// journalled. (Layer 1, the udev rule's helper, enforces even while this service is down.)
public struct MediaGuardService: Service {
    let runtime: AgentRuntime
    let logger: Logger
    /// Whether decisions are applied to this machine's devices: always for the root `/`; for an
    /// agent rooted elsewhere only when told so (`--enforce-media-on-host`).
    let touchesDevices: Bool

    public init(runtime: AgentRuntime, logger: Logger, touchesDevices: Bool = true) {
        self.runtime = runtime
        self.logger = logger
        self.touchesDevices = touchesDevices
    }

    public func run() async throws {
        let runtime = self.runtime
        let logger = self.logger
        let touchesDevices = self.touchesDevices
        if !touchesDevices {
            logger.warning("media: the agent's root is \(runtime.layout.root), not /: decisions are journalled, but no device of this machine is changed (--enforce-media-on-host applies them)")
        }
        defer { runtime.setMediaGuardRunning(false) }
        try await BlockingLoop.run(name: "mamori-media") { flag in
            var generation = -1
            var watcher: MediaWatcher?
            var grantsChecked = false
            while !flag.isSet {
                // Grants end on time with or without the collector: the decisions are taken again.
                if !grantsChecked || (runtime.grants.nextExpiry.map { $0 <= SystemClock.now() } ?? false) {
                    grantsChecked = true
                    Self.expireGrants(runtime: runtime, logger: logger)
                }
                if generation != runtime.generation {
                    generation = runtime.generation
                    var load = MediaPolicyLoader.load(path: runtime.layout.profilePath, now: SystemClock.now(),
                                                      requireTrustedFile: runtime.layout.root.isEmpty)
                    load.policy.grants = runtime.grants.grants(at: SystemClock.now())
                    if let problem = load.problem { logger.notice("media: fail-closed defaults apply", metadata: ["reason": "\(problem)"]) }
                    let fresh = try MediaWatcher(policy: load.policy, touchesDevices: touchesDevices)
                    watcher = fresh
                    runtime.setMediaGuardRunning(true)
                    for outcome in fresh.reconcile(now: SystemClock.now()) { Self.record(outcome, runtime: runtime, logger: logger) }
                    logger.info("media: watching", metadata: ["profile": "\(load.profileName ?? "(defaults)")"])
                }
                if let outcome = try watcher?.next(timeoutMilliseconds: 500, now: SystemClock.now) {
                    Self.record(outcome, runtime: runtime, logger: logger)
                }
            }
        }
        logger.info("media: stopped")
    }

    static func expireGrants(runtime: AgentRuntime, logger: Logger) {
        do {
            let (events, changed) = try runtime.grants.expireDue(now: SystemClock.now())
            if !events.isEmpty { try runtime.journal.record(events, now: SystemClock.now()) }
            for event in events where event.kind == DeviceGrantJournalKind.expired {
                logger.notice("media: grant expired", metadata: ["grant": "\(event.payload["grant"]?.stringValue ?? "")"])
            }
            if changed { runtime.grantsChanged() }
        } catch {
            // The grant stays listed in the file, but the policy below no longer includes it.
            logger.critical("media: a grant's expiry could not be recorded", metadata: ["error": "\(error)"])
            runtime.grantsChanged()
        }
    }

    static func record(_ outcome: MediaGuardOutcome, runtime: AgentRuntime, logger: Logger) {
        for failure in outcome.failures { logger.error("media: enforcement failed", metadata: ["detail": "\(failure)"]) }
        do {
            try runtime.journal.record(outcome.records, now: SystemClock.now())
        } catch {
            logger.critical("media: the decision could not be journalled", metadata: ["error": "\(error)"])
        }
    }
}
