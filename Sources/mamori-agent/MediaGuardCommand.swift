import ArgumentParser
import MamoriAgent
import MamoriCore

#if canImport(Glibc)
import Glibc
#endif

/// The udev helper (layer 1): run by packaging/udev/60-mamori-media.rules on `add` and `change`
/// of block devices, SCSI generic nodes and USB devices. Works with the daemon stopped; with no
/// valid policy it enforces the fail-closed defaults (storage read-only).
struct MediaGuardCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "media-guard",
        abstract: "Decide and enforce the media policy for one device (run by udev).",
        discussion: """
            Prints one JSON line per journal record. Exit status: 0 decided and enforced (or audited);
            1 enforcement failed for part of the device; 2 the device is unknown to udev.
            """
    )

    @Argument(help: "The device: a /dev node (/dev/sdb, /dev/sr0) or a /sys path (USB devices).")
    var device: String

    @Option(help: "The udev action that triggered the run (add, change).")
    var event: String = "add"

    @OptionGroup var profileOptions: MediaProfileOptions

    @Option(help: "Journal directory for the media.* records (with --keys); without it, records go to stdout only.")
    var journal: String?

    @Option(help: "Key directory of the journal.")
    var keys: String?

    func validate() throws {
        if (journal == nil) != (keys == nil) { throw ValidationError("--journal and --keys go together") }
    }

    func run() throws {
        let now = SystemClock.now()
        let load = profileOptions.load(now: now, requireTrustedFile: true)
        if let problem = load.problem { AgentOutput.error("fail closed: \(problem)") }
        let context = try UdevContext()
        let found = device.hasPrefix("/sys/") ? context.device(sysPath: device) : context.device(devNode: device)
        guard let udevDevice = found else {
            AgentOutput.error("\(device): no such device in udev")
            throw ExitCode(2)
        }
        let outcome = MediaGuard(context: context, policy: load.policy).handle(udevDevice, event: event, now: now)
        for record in outcome.records {
            print(JSONValue.object(["kind": .string(record.kind), "payload": .object(record.payload)]).canonicalString)
        }
        // Fixed disks and other non-media devices change often (every loop attach); they are printed, not journalled.
        if outcome.decision.deviceClass != nil { journalRecords(outcome.records, now: now) }
        for failure in outcome.failures { AgentOutput.error(failure) }
        if !outcome.failures.isEmpty { throw ExitCode(1) }
    }

    /// Enforcement never waits on the journal: a journal that cannot be opened is reported, and
    /// the device stays protected.
    func journalRecords(_ records: [(kind: String, payload: [String: JSONValue])], now: Timestamp) {
        guard let journal, let keys else { return }
        do {
            let store = try JournalStore.open(paths: JournalPaths(journalDirectory: journal, keyDirectory: keys), now: now)
            _ = try store.append(records, now: now)
        } catch {
            AgentOutput.error("journal: \(error)")
        }
    }
}

enum AgentOutput {
    /// One line to standard output, unbuffered (a supervisor or test reads it as it happens).
    static func line(_ text: String) { writeAll(1, text + "\n") }

    static func writeAll(_ descriptor: Int32, _ text: String) {
        var bytes = Array(text.utf8)
        bytes.withUnsafeMutableBytes { raw in
            var offset = 0
            while offset < raw.count {
                let written = write(descriptor, raw.baseAddress! + offset, raw.count - offset)
                if written < 0 { if errno == EINTR { continue }; return }
                offset += written
            }
        }
    }

    /// Diagnostics go to file descriptor 2 directly (the C `stderr` global is not concurrency-safe).
    static func error(_ message: String) { writeAll(2, "mamori-agent: " + message + "\n") }
}
