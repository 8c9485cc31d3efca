import Crypto
import Foundation
import MamoriAgent
import MamoriCore
import Testing

@Suite struct JournalWriterTests {
    @Test func concurrentProducersShareSyncsAndLoseNothing() async throws {
        let directory = NSTemporaryDirectory() + "mamori-writer-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let paths = JournalPaths(journalDirectory: directory + "/journal", keyDirectory: directory + "/keys")
        let k0 = EpochKey.generateK0()
        let hostKey = Curve25519.Signing.PrivateKey()
        let start = Timestamp(parsing: "2026-04-01T09:00:00Z")!
        var options = JournalStoreOptions()
        options.epochPolicy = EpochPolicy(maxRecords: 100, maxDurationSeconds: 900)
        let store = try JournalStore.create(paths: paths, host: "pc", k0: k0, hostKey: hostKey, now: start, options: options)
        let writer = JournalWriter(store: store, now: { start })

        let producers = 40, perProducer = 25
        let receipts = try await withThrowingTaskGroup(of: [JournalReceipt].self) { group in
            for producer in 0..<producers {
                group.addTask {
                    var mine: [JournalReceipt] = []
                    for index in 0..<perProducer {
                        mine.append(try await writer.append(kind: "auth.success",
                                                            payload: ["producer": .int(Int64(producer)), "i": .int(Int64(index))]))
                    }
                    return mine
                }
            }
            var all: [JournalReceipt] = []
            for try await part in group { all += part }
            return all
        }
        writer.shutdown()
        await #expect(throws: JournalStoreError.self) { _ = try await writer.append(kind: "auth.success", payload: [:]) }

        #expect(receipts.count == producers * perProducer)
        #expect(Set(receipts.map(\.seq)).count == receipts.count, "every receipt names its own record")
        var verifier = JournalVerifier(k0: k0, hostKey: hostKey.publicKey)
        let report = try verifier.verify(try JournalDirectory(path: paths.journalDirectory))
        #expect(report.failure == nil)
        var hashes: [UInt64: Digest32] = [:]
        var lastKind = ""
        try JournalDirectory(path: paths.journalDirectory).forEachLine(from: 0) { line in
            let record = try JournalLineParser.decode(Array(line.bytes))
            hashes[record.seq] = try JournalLineParser.parse(Array(line.bytes)).hash
            lastKind = record.kind + "/" + (record.payload["reason"]?.stringValue ?? "")
            return true
        }
        for receipt in receipts { #expect(hashes[receipt.seq] == receipt.hash) }
        #expect(lastKind == "journal.checkpoint/shutdown")
    }
}
