public import Logging
import MamoriCore
public import ServiceLifecycle

/// The second-factor verifier behind `/run/mamori/pam.sock`: reconciles every user's state with
/// the journal before the socket opens, then serves the PAM module on connection threads.
public struct AuthVerifierService: Service {
    let runtime: AgentRuntime
    let logger: Logger
    let clientTimeoutMilliseconds: Int
    /// Set once the socket accepts connections (readiness for systemd).
    let ready: @Sendable () -> Void

    public init(runtime: AgentRuntime, logger: Logger, clientTimeoutMilliseconds: Int = AuthConnectionLimits.standard.requestDeadlineMilliseconds, ready: @escaping @Sendable () -> Void) {
        self.runtime = runtime
        self.logger = logger
        self.clientTimeoutMilliseconds = clientTimeoutMilliseconds
        self.ready = ready
    }

    public func run() async throws {
        let layout = runtime.layout
        let journal = runtime.journal
        let store = MFAStore(directory: layout.mfaDirectory)
        try store.prepare()
        let restored = try MFAStateReconciler.reconcile(store: store, journalDirectory: layout.journalDirectory)
        for restore in restored {
            logger.warning("second-factor state restored from the journal", metadata: ["user": "\(restore.user)", "from_snapshot": "\(restore.fromSnapshot)"])
        }
        try await journal.append(restored.map(\.journalEvent), now: SystemClock.now())
        let load = MFARulesLoader.load(path: layout.profilePath, now: SystemClock.now())
        if let problem = load.problem { logger.notice("no usable profile; the default second-factor rules apply", metadata: ["reason": "\(problem)"]) }
        try await journal.append([load.journalEvent], now: SystemClock.now())
        try FileSystem.makeDirectory(layout.runDirectory, mode: 0o755)
        let listener = try UnixListener(path: layout.socketPath)
        let server = AuthSocketServer(listener: listener, service: AuthService(store: store, rules: load.rules, journal: journal), now: SystemClock.now)
        server.clientTimeoutMilliseconds = clientTimeoutMilliseconds
        logger.info("auth: listening", metadata: ["socket": "\(layout.socketPath)"])
        ready()
        let box = ServerBox(server: server, runtime: runtime, logger: logger)
        try await BlockingLoop.run(name: "mamori-auth") { flag in try box.serve(flag) }
        logger.info("auth: stopped")
    }
}

/// Hands the socket server to its thread, and swaps in new rules when the profile changes.
/// @unchecked Sendable: after init the server is used only by the one loop thread.
private final class ServerBox: @unchecked Sendable {
    let server: AuthSocketServer
    let runtime: AgentRuntime
    let logger: Logger

    init(server: AuthSocketServer, runtime: AgentRuntime, logger: Logger) {
        self.server = server
        self.runtime = runtime
        self.logger = logger
    }

    func serve(_ flag: StopFlag) throws {
        var generation = runtime.generation
        try server.run(pollMilliseconds: 500) {
            let current = runtime.generation
            if current != generation {
                generation = current
                let rules = runtime.effectiveProfileRules.mfa
                server.replaceRules(rules)
                logger.info("auth: second-factor rules reloaded")
            }
            return flag.isSet
        }
    }
}
