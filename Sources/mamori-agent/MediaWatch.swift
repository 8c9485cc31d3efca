import ArgumentParser
import MamoriAgent
import MamoriCore

/// Runs layer 2 in the foreground: reconcile the devices present, then handle udev events until
/// killed (or for --duration seconds). The long-running agent service will host the same watcher.
struct MediaWatch: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch",
        abstract: "Enforce the media policy from the agent's udev monitor (layer 2), in the foreground.",
        discussion: "Prints one JSON line per journal record, and `ready` once devices present at start are reconciled."
    )

    @OptionGroup var profileOptions: MediaProfileOptions

    @Option(help: "Journal directory for the media.* records (with --keys).")
    var journal: String?

    @Option(help: "Key directory of the journal.")
    var keys: String?

    @Option(help: "Stop after this many seconds (default: run until killed).")
    var duration: Int?

    func validate() throws {
        if (journal == nil) != (keys == nil) { throw ValidationError("--journal and --keys go together") }
        // Bounded, so the end time never overflows (a trap would be exit 132, not a clear error).
        if let duration, !(1...315_360_000).contains(duration) { throw ValidationError("--duration must be 1 to 315360000 seconds (10 years)") }
    }

    func run() throws {
        let start = SystemClock.now()
        let load = MediaPolicyLoader.load(path: profileOptions.profile ?? MediaPolicyLoader.defaultProfilePath,
                                          now: start, requireTrustedFile: true)
        if let problem = load.problem { AgentOutput.error("fail closed: \(problem)") }
        let store = try journal.map { try JournalStore.open(paths: JournalPaths(journalDirectory: $0, keyDirectory: keys ?? ""), now: start) }
        let watcher = try MediaWatcher(policy: load.policy)
        for outcome in watcher.reconcile(now: start) { try emit(outcome, store: store) }
        AgentOutput.line("ready")
        let end = duration.map { start.adding(seconds: Int64($0)) }
        while end.map({ SystemClock.now() < $0 }) ?? true {
            if let outcome = try watcher.next(timeoutMilliseconds: 500, now: SystemClock.now) { try emit(outcome, store: store) }
        }
    }

    func emit(_ outcome: MediaGuardOutcome, store: JournalStore?) throws {
        for record in outcome.records {
            AgentOutput.line(JSONValue.object(["kind": .string(record.kind), "payload": .object(record.payload)]).canonicalString)
        }
        for failure in outcome.failures { AgentOutput.error(failure) }
        _ = try store?.append(outcome.records, now: SystemClock.now())
    }
}
