import Foundation
import MamoriCore
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A writer killed with SIGKILL at random moments, over and over: every acknowledged record is
/// still there afterwards, the chain verifies, and torn tails are repaired and recorded.
@Suite(.serialized) struct JournalCrashTests {
    static let cycles = Int(ProcessInfo.processInfo.environment["MAMORI_CRASH_CYCLES"] ?? "") ?? 200

    @Test func killedWriterLosesNothingAcknowledged() throws {
        let dir = try TemporaryDirectory()
        let journal = dir.file("journal"), keys = dir.file("keys")
        var acknowledged: [UInt64: String] = [:]
        var recoveries = 0
        var cyclesWithAcks = 0
        let created = try runAndKill(arguments: ["debug", "append-loop", "--journal", journal, "--keys", keys, "--create", "--count", "1"],
                                     afterMicroseconds: nil)
        #expect(created.hasPrefix("ack 1 "))
        for cycle in 0..<Self.cycles {
            let arguments = ["debug", "append-loop", "--journal", journal, "--keys", keys, "--epoch-records", "16",
                             "--batch", "\(1 + cycle % 4)", "--split-writes"]
            let output = try runAndKill(arguments: arguments, afterMicroseconds: UInt32((cycle * 7919) % 20_000))
            var sawAck = false
            for line in output.split(separator: "\n", omittingEmptySubsequences: false) {
                let fields = line.split(separator: " ")
                if fields.count == 3, fields[0] == "ack", let seq = UInt64(fields[1]) {
                    acknowledged[seq] = String(fields[2])
                    sawAck = true
                } else if fields.first == "recovered" {
                    recoveries += 1
                }
            }
            if sawAck { cyclesWithAcks += 1 }
        }
        #expect(cyclesWithAcks > Self.cycles / 2, "the writer should get records out in most cycles")
        #expect(acknowledged.count > Self.cycles)

        // Open once more (repairing a last torn tail), then verify everything.
        let final = try runAndKill(arguments: ["debug", "append-loop", "--journal", journal, "--keys", keys, "--count", "1"],
                                   afterMicroseconds: nil)
        if final.contains("recovered") { recoveries += 1 }
        #expect(recoveries > 0, "split writes under SIGKILL must have torn at least one line")

        let records = try readRecords(journal)
        for (seq, hash) in acknowledged {
            #expect(records[seq] == hash, "acknowledged record \(seq) is missing or changed")
        }
        let recoveredRecords = records.keys.count - acknowledged.count
        #expect(recoveredRecords >= 0)
        let text = try Self.allLines(journal).filter { $0.contains("\"kind\":\"journal.recovered\"") }
        #expect(text.count == recoveries, "every repair is recorded in the journal")

        // The chain, every MAC and every checkpoint hold from genesis, across every repair.
        let verifyResult = try CLI.run("mamorictl", ["journal", "verify", journal, "--k0", keys + "/k0", "--host-key", keys + "/host.pub"])
        #expect(verifyResult.status == 0, "\(verifyResult.stdout)")
        #expect(try checkChain(journal))
    }

    /// Starts mamori-agent, kills it with SIGKILL after the delay (or waits), returns its stdout.
    private func runAndKill(arguments: [String], afterMicroseconds: UInt32?) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CLI.binDirectory + "/mamori-agent")
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        var data = Data()
        if let afterMicroseconds {
            // Let it start and write (start-up takes longer than the delays), then kill it mid-flight.
            while !String(decoding: data, as: UTF8.self).contains("ack ") {
                let chunk = pipe.fileHandleForReading.availableData
                if chunk.isEmpty { break }
                data.append(chunk)
            }
            usleep(afterMicroseconds)
            kill(process.processIdentifier, SIGKILL)
        }
        data.append(pipe.fileHandleForReading.readDataToEndOfFile())
        let errorText = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        if afterMicroseconds == nil {
            #expect(process.terminationStatus == 0, "\(errorText)")
        } else {
            #expect(process.terminationReason == .uncaughtSignal || process.terminationStatus == 0, "\(errorText)")
            #expect(!errorText.contains("Fatal error"), "\(errorText)")
        }
        return String(decoding: data, as: UTF8.self)
    }

    static func allLines(_ journal: String) throws -> [String] {
        let names = try FileManager.default.contentsOfDirectory(atPath: journal).filter { $0.hasSuffix(".log") }.sorted()
        return try names.flatMap { name in
            try String(contentsOfFile: journal + "/" + name, encoding: .utf8).split(separator: "\n").map(String.init)
        }
    }

    private func readRecords(_ journal: String) throws -> [UInt64: String] {
        var records: [UInt64: String] = [:]
        for line in try Self.allLines(journal) {
            let parsed = try JournalLineParser.parse(Array(line.utf8))
            #expect(records[parsed.seq] == nil, "seq \(parsed.seq) appears twice")
            records[parsed.seq] = parsed.hash.hex
        }
        return records
    }

    private func checkChain(_ journal: String) throws -> Bool {
        var prev = Digest32.zero
        var seq: UInt64 = 0
        for line in try Self.allLines(journal) {
            let parsed = try JournalLineParser.parse(Array(line.utf8))
            guard parsed.seq == seq, parsed.prev == prev else { return false }
            prev = parsed.hash
            seq += 1
        }
        return seq > 0
    }
}
