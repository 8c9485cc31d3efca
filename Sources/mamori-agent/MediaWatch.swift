import ArgumentParser
import MamoriAgent
import MamoriCore

/// Runs layer 2 in the foreground: reconcile the devices present, then handle udev events until
/// killed (or for --duration seconds). The long-running agent service will host the same watcher.
struct MediaWatch: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch",
        abstract: "Enforce the media policy from the agent's udev monitor (layer 2), in the foreground.",
        discussion: "Prints one readable line per decision (time, device, name, ids, decision, rule, what was applied), or one JSON line per journal record with --format json; `ready` once devices present at start are reconciled."
    )

    @Option(help: "Output: table (one readable line per event) or json (one line per journal record).")
    var format: MediaOutputFormat = .table

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
        var load = profileOptions.load(now: start, requireTrustedFile: true)
        if let problem = load.problem { AgentOutput.error("fail closed: \(problem)") }
        let store = try journal.map { try JournalStore.open(paths: JournalPaths(journalDirectory: $0, keyDirectory: keys ?? ""), now: start) }
        var watcher = try MediaWatcher(policy: load.policy)
        for outcome in watcher.reconcile(now: start) { try emit(outcome, store: store) }
        AgentOutput.line("ready")
        let end = duration.map { start.adding(seconds: Int64($0)) }
        while end.map({ SystemClock.now() < $0 }) ?? true {
            // A grant that ends: the devices present are decided again without it.
            if let expiry = load.policy.nextGrantExpiry(after: start), expiry <= SystemClock.now() {
                let now = SystemClock.now()
                if format == .table { AgentOutput.line("\(now)  grant ended: the devices present are decided again") }
                load = profileOptions.load(now: now, requireTrustedFile: true)
                load.policy.grants.removeAll { $0.expires <= now }
                watcher = try MediaWatcher(policy: load.policy)
                for outcome in watcher.reconcile(now: now) { try emit(outcome, store: store) }
            }
            if let outcome = try watcher.next(timeoutMilliseconds: 500, now: SystemClock.now) { try emit(outcome, store: store) }
        }
    }

    func emit(_ outcome: MediaGuardOutcome, store: JournalStore?) throws {
        switch format {
        case .json:
            for record in outcome.records {
                AgentOutput.line(JSONValue.object(["kind": .string(record.kind), "payload": .object(record.payload)]).canonicalString)
            }
        case .table:
            AgentOutput.line(Self.line(outcome, at: SystemClock.now()))
            for record in outcome.records where record.kind == MediaJournalKind.mountAlert {
                AgentOutput.line("  ALERT writable mount \(record.payload["mount_point"]?.stringValue ?? "?"): \(record.payload["remediation"]?.stringValue ?? "?")")
            }
        }
        for failure in outcome.failures { AgentOutput.error(failure) }
        _ = try store?.append(outcome.records, now: SystemClock.now())
    }
}

extension MediaWatch {
    /// `2026-12-03T09:00:00Z  /dev/sdb  "SanDisk Ultra Fit" 0781:5583:4C530001  read-only  default:usb-storage  applied BLKROSET /dev/sdb, ...`
    static func line(_ outcome: MediaGuardOutcome, at time: Timestamp) -> String {
        let facts = outcome.facts
        let decision = outcome.decision
        var parts = [time.description, facts.devNode ?? facts.sysPath]
        if let usb = facts.usb {
            parts.append("\"\(usb.displayName ?? "unnamed")\"")
            parts.append("\(usb.vendor):\(usb.product):\(usb.serial.flatMap(USBIdentity.printableName) ?? "-")")
        }
        parts.append(decision.deviceClass?.rawValue ?? "not-governed")
        parts.append(decision.action.rawValue)
        parts.append(decision.rule.description)
        parts.append(decision.mode.rawValue)
        parts.append(outcome.applied.isEmpty ? "nothing applied" : "applied " + outcome.applied.joined(separator: ", "))
        if !outcome.failures.isEmpty { parts.append("FAILED " + outcome.failures.joined(separator: "; ")) }
        return parts.joined(separator: "  ")
    }
}
