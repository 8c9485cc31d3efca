import ArgumentParser
import Crypto
import MamoriAgent
import MamoriCore

#if canImport(Glibc)
import Glibc
#endif

/// Runs the agent's services until SIGTERM or SIGINT. For now the only service is `auth`, the
/// second-factor verifier behind the PAM module's socket.
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the agent's services until SIGTERM."
    )

    enum ServiceName: String, CaseIterable, ExpressibleByArgument {
        case auth
    }

    @Option(help: "Put every path under this directory (tests and demos); the journal is created if missing.")
    var root: String?

    @Option(help: "Run only these services (\(ServiceName.allCases.map(\.rawValue).joined(separator: ", "))).")
    var only: [ServiceName] = ServiceName.allCases

    @Option(name: .customLong("client-timeout-ms"), help: .hidden)
    var clientTimeoutMilliseconds: Int = 2000

    func validate() throws {
        guard (100...600_000).contains(clientTimeoutMilliseconds) else {
            throw ValidationError("--client-timeout-ms must be between 100 and 600000")
        }
    }

    func run() throws {
        var signals = StopSignals()
        let layout = AgentLayout(root: root ?? "")
        let journal = try openJournal(layout)
        let store = MFAStore(directory: layout.mfaDirectory)
        try store.prepare()
        try reconcileMFAState(store, layout: layout, journal: journal)
        try FileSystem.makeDirectory(layout.runDirectory, mode: 0o755)
        let rules = try loadRules(layout, journal: journal)
        let service = AuthService(store: store, rules: rules, journal: journal)
        let listener = try UnixListener(path: layout.socketPath)
        let server = AuthSocketServer(listener: listener, service: service, now: Self.now)
        server.clientTimeoutMilliseconds = clientTimeoutMilliseconds
        writeLine("mamori-agent: auth listening on \(layout.socketPath)")
        try server.run { signals.received() }
        try journal.close(now: Self.now())
        writeLine("mamori-agent: stopped")
    }

    /// Before the first login: brings every user's state file up to date with the journal (a
    /// login syncs only its journal record) and syncs the files; journals each user it restored.
    func reconcileMFAState(_ store: MFAStore, layout: AgentLayout, journal: JournalStore) throws {
        let restored = try MFAStateReconciler.reconcile(store: store, journalDirectory: layout.journalDirectory)
        for restore in restored {
            AgentOutput.error("auth: \(restore.user): second-factor state restored from the journal"
                + (restore.fromSnapshot ? " (the state file was unreadable; started from its snapshot)" : ""))
        }
        if !restored.isEmpty { try journal.record(restored.map(\.journalEvent), now: Self.now()) }
    }

    /// The installed profile's second-factor rules, or the safe defaults; journalled either way.
    func loadRules(_ layout: AgentLayout, journal: JournalStore) throws -> MFARules {
        let load = MFARulesLoader.load(path: layout.profilePath, now: Self.now())
        if let problem = load.problem {
            AgentOutput.error("auth: no usable profile, the default second-factor rules apply: \(problem)")
        } else {
            writeLine("mamori-agent: auth rules from profile \(load.profileName ?? "")")
        }
        try journal.record([load.journalEvent], now: Self.now())
        return load.rules
    }

    func openJournal(_ layout: AgentLayout) throws -> JournalStore {
        let paths = JournalPaths(journalDirectory: layout.journalDirectory, keyDirectory: layout.keyDirectory)
        if FileSystem.exists(paths.epochKeyPath) || root == nil {
            return try JournalStore.open(paths: paths, now: Self.now())
        }
        // Test and demo roots only: a fresh journal, with its verification material beside the keys.
        let k0 = EpochKey.generateK0()
        let hostKey = Curve25519.Signing.PrivateKey()
        let store = try JournalStore.create(paths: paths, host: "mamori-test-host", k0: k0, hostKey: hostKey, now: Self.now())
        try FileSystem.writeFileAtomically(layout.keyDirectory + "/k0", Array((Hex.encode(k0.keyBytes) + "\n").utf8))
        try HostKeyFile.writePublic(hostKey.publicKey, to: layout.keyDirectory + "/host.pub")
        return store
    }

    static func now() -> Timestamp { SystemClock.now() }

    func writeLine(_ text: String) {
        StandardStream.output(text + "\n")
    }
}

/// Where the agent keeps things; every path is under `root` ("" in production).
struct AgentLayout {
    var root: String
    var stateDirectory: String { root + "/var/lib/mamori" }
    var mfaDirectory: String { stateDirectory + "/mfa" }
    var journalDirectory: String { stateDirectory + "/journal" }
    var keyDirectory: String { stateDirectory + "/keys" }
    var profilePath: String { root + InstalledProfile.defaultPath }
    var runDirectory: String { root + "/run/mamori" }
    var socketPath: String { runDirectory + "/pam.sock" }
}
