import ArgumentParser
import MamoriAgent
import MamoriCore

#if canImport(Glibc)
import Glibc
#endif

@main
struct MamoriAgentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mamori-agent",
        abstract: "The Mamori terminal agent.",
        version: MamoriVersion.current,
        subcommands: [RunCommand.self, EnrollCommand.self, StatusCommand.self, MediaCommand.self, MediaGuardCommand.self, DebugCommand.self]
    )
}

/// Commands for tests and diagnosis; not part of the operator interface.
struct DebugCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "debug",
        abstract: "Diagnostics for tests.",
        shouldDisplay: false,
        subcommands: [AppendLoop.self]
    )
}

/// Appends events forever (or --count), printing `ack SEQ HASH` after each durable append. The
/// crash-safety test kills it with SIGKILL at random moments and checks every ack survived.
struct AppendLoop: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "append-loop")

    @Option var journal: String
    @Option var keys: String
    @Option var count: Int = .max
    @Option var batch: Int = 1
    @Option var epochRecords: UInt64 = 16
    @Flag var splitWrites = false
    @Flag var create = false

    func run() throws {
        let paths = JournalPaths(journalDirectory: journal, keyDirectory: keys)
        var options = JournalStoreOptions()
        options.epochPolicy = EpochPolicy(maxRecords: epochRecords, maxDurationSeconds: 3600)
        options.splitWritesForCrashTesting = splitWrites
        options.segmentByteLimit = 16 << 10
        let store: JournalStore
        if create {
            // Test-only: the verification material goes next to the writer's keys.
            store = try JournalStore.createWithVerificationMaterial(paths: paths, host: "torture-host", now: SystemClock.now(), options: options)
        } else {
            store = try JournalStore.open(paths: paths, now: SystemClock.now(), options: options)
        }
        if let recovery = store.recovery {
            writeOut("recovered \(recovery.cutBytes) \(recovery.cutLines)\n")
        }
        var written = 0
        while written < count {
            let events = (0..<batch).map { index in
                (kind: "agent.test", payload: ["n": JSONValue.int(Int64(written + index))])
            }
            let receipts = try store.append(events, now: SystemClock.now())
            for receipt in receipts { writeOut("ack \(receipt.seq) \(receipt.hash.hex)\n") }
            written += batch
        }
    }


    private func writeOut(_ text: String) {
        StandardStream.output(text)
    }
}
