import Crypto
import Foundation
import MamoriAgent
import MamoriCore
import Testing

/// The store against a real file system: files, locks, fsync, recovery.
@Suite struct JournalStoreTests {
    let directory: String
    let paths: JournalPaths
    let k0 = EpochKey.generateK0()
    let hostKey = Curve25519.Signing.PrivateKey()
    let start = Timestamp(parsing: "2026-04-01T09:00:00Z")!

    init() throws {
        directory = NSTemporaryDirectory() + "mamori-store-\(UUID().uuidString)"
        paths = JournalPaths(journalDirectory: directory + "/journal", keyDirectory: directory + "/keys")
    }

    func options(epochRecords: UInt64 = 5, segmentBytes: Int = 64 << 20) -> JournalStoreOptions {
        var options = JournalStoreOptions()
        options.epochPolicy = EpochPolicy(maxRecords: epochRecords, maxDurationSeconds: 600)
        options.segmentByteLimit = segmentBytes
        return options
    }

    func verify(expectedHead: JournalHead? = nil) throws -> JournalVerificationReport {
        var verifier = JournalVerifier(k0: k0, hostKey: hostKey.publicKey, expectedHead: expectedHead)
        return try verifier.verify(try JournalDirectory(path: paths.journalDirectory))
    }

    func lastSegmentPath() throws -> String { try JournalDirectory(path: paths.journalDirectory).segments.last!.path }

    @Test func appendsSurviveReopenAndVerify() throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var receipts: [JournalReceipt] = []
        do {
            let store = try JournalStore.create(paths: paths, host: "pc-7", k0: k0, hostKey: hostKey, now: start, options: options())
            for index in 0..<23 {
                receipts.append(try store.append(kind: "auth.success", payload: ["i": .int(Int64(index))], now: start.adding(seconds: Int64(index))))
            }
        }
        let store = try JournalStore.open(paths: paths, now: start.adding(seconds: 100), options: options())
        #expect(store.recovery == nil)
        let more = try store.append([("media.decision", ["d": .string("read-only")]), ("media.decision", ["d": .string("block")])],
                                    now: start.adding(seconds: 101))
        #expect(more[0].seq == store.nextSeq - 2 || more[0].seq == store.nextSeq - 3)
        try store.close(now: start.adding(seconds: 102))
        let report = try verify(expectedHead: JournalHead(seq: receipts.last!.seq, hash: receipts.last!.hash))
        #expect(report.failure == nil, "\(String(describing: report.failure))")
        #expect(report.records == store.nextSeq)
        #expect(report.lastEpoch >= 5)
        #expect(store.host == "pc-7")
    }

    @Test func secondWriterIsRefused() throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let first = try JournalStore.create(paths: paths, host: "pc", k0: k0, hostKey: hostKey, now: start, options: options())
        #expect(throws: JournalStoreError.self) { _ = try JournalStore.open(paths: paths, now: start) }
        _ = first
    }

    @Test func createRefusesAnExistingJournal() throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        do { _ = try JournalStore.create(paths: paths, host: "pc", k0: k0, hostKey: hostKey, now: start) }
        let error = #expect(throws: JournalStoreError.self) {
            _ = try JournalStore.create(paths: paths, host: "pc", k0: k0, hostKey: hostKey, now: start)
        }
        #expect(error?.code == .exists)
    }

    @Test(arguments: [
        Array("{\"seq\":99,\"ti".utf8),                   // half a line
        [UInt8](repeating: 0, count: 4096),              // a zero-filled block after a crash
        Array("garbage\n{\"seq\"".utf8),                 // a bad complete line, then half a line
    ])
    func tornTailIsCutAndRecorded(tail: [UInt8]) throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var lastReceipt: JournalReceipt?
        do {
            let store = try JournalStore.create(paths: paths, host: "pc", k0: k0, hostKey: hostKey, now: start, options: options())
            for index in 0..<7 { lastReceipt = try store.append(kind: "agent.test", payload: ["i": .int(Int64(index))], now: start) }
        }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: try lastSegmentPath()))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(tail))
        try handle.close()
        #expect(try verify().failure != nil)

        let store = try JournalStore.open(paths: paths, now: start.adding(seconds: 5), options: options())
        let recovery = try #require(store.recovery)
        #expect(recovery.cutBytes == tail.count)
        let report = try verify(expectedHead: JournalHead(seq: lastReceipt!.seq, hash: lastReceipt!.hash))
        #expect(report.failure == nil, "\(String(describing: report.failure))")
        let lines = try String(contentsOfFile: try lastSegmentPath(), encoding: .utf8).split(separator: "\n")
        #expect(lines.last?.contains("\"kind\":\"journal.recovered\"") == true)
        #expect(lines.last?.contains("\"cut_bytes\":\(tail.count)") == true)
    }

    @Test func oldEpochKeysAreErasedFromTheKeyFile() throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try JournalStore.create(paths: paths, host: "pc", k0: k0, hostKey: hostKey, now: start, options: options(epochRecords: 3))
        for index in 0..<10 { _ = try store.append(kind: "agent.test", payload: ["i": .int(Int64(index))], now: start) }
        #expect(store.epoch >= 3)
        let file = try Data(contentsOf: URL(fileURLWithPath: paths.epochKeyPath))
        #expect(file.count == 256)
        var chain = EpochKeyChain(k0: k0)
        for epoch in 0..<store.epoch {
            let old = Data(chain.key(for: epoch)!.keyBytes)
            #expect(file.range(of: old) == nil, "key of epoch \(epoch) is still on disk")
        }
        #expect(file.range(of: Data(chain.key(for: store.epoch)!.keyBytes)) != nil)
        let mode = try FileManager.default.attributesOfItem(atPath: paths.epochKeyPath)[.posixPermissions] as? Int
        #expect(mode == 0o600)
    }

    @Test func crashBetweenEpochCheckpointAndKeyChangeIsFinished() throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var savedKeyFile = Data()
        do {
            let store = try JournalStore.create(paths: paths, host: "pc", k0: k0, hostKey: hostKey, now: start, options: options(epochRecords: 4))
            _ = try store.append(kind: "agent.test", payload: [:], now: start)
            savedKeyFile = try Data(contentsOf: URL(fileURLWithPath: paths.epochKeyPath))
            _ = try store.append(kind: "agent.test", payload: [:], now: start) // seq 2, then the epoch-end checkpoint
            #expect(store.epoch == 1)
        }
        // Put the pre-change key file back: as if the process died right after the checkpoint.
        try savedKeyFile.write(to: URL(fileURLWithPath: paths.epochKeyPath))
        let store = try JournalStore.open(paths: paths, now: start, options: options(epochRecords: 4))
        #expect(store.epoch == 1)
        _ = try store.append(kind: "agent.test", payload: [:], now: start)
        #expect(try verify().failure == nil)
    }

    @Test func keyStateThatDoesNotFitTheJournalIsRefused() throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var savedKeyFile = Data()
        do {
            let store = try JournalStore.create(paths: paths, host: "pc", k0: k0, hostKey: hostKey, now: start, options: options(epochRecords: 3))
            savedKeyFile = try Data(contentsOf: URL(fileURLWithPath: paths.epochKeyPath))
            for _ in 0..<8 { _ = try store.append(kind: "agent.test", payload: [:], now: start) }
        }
        try savedKeyFile.write(to: URL(fileURLWithPath: paths.epochKeyPath))
        let error = #expect(throws: JournalStoreError.self) { _ = try JournalStore.open(paths: paths, now: start) }
        #expect(error?.code == .inconsistentState)
    }

    @Test func damagedKeyFileIsRefused() throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        do { _ = try JournalStore.create(paths: paths, host: "pc", k0: k0, hostKey: hostKey, now: start) }
        try Data(repeating: 0x55, count: 256).write(to: URL(fileURLWithPath: paths.epochKeyPath))
        #expect(throws: EpochKeyFileError.self) { _ = try JournalStore.open(paths: paths, now: start) }
    }

    @Test func segmentsRotateAndStillVerify() throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try JournalStore.create(paths: paths, host: "pc", k0: k0, hostKey: hostKey, now: start,
                                            options: options(epochRecords: 50, segmentBytes: 4096))
        for index in 0..<200 { _ = try store.append(kind: "agent.test", payload: ["i": .int(Int64(index))], now: start) }
        let segments = try JournalDirectory(path: paths.journalDirectory).segments
        #expect(segments.count > 10)
        #expect(segments.first?.firstSeq == 0)
        let report = try verify(expectedHead: store.head)
        #expect(report.failure == nil)
        #expect(report.records == store.nextSeq)
    }

    @Test func timeEndsAnEpochToo() throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try JournalStore.create(paths: paths, host: "pc", k0: k0, hostKey: hostKey, now: start, options: options(epochRecords: 1000))
        _ = try store.append(kind: "agent.test", payload: [:], now: start.adding(seconds: 10))
        #expect(store.epoch == 0)
        try store.closeEpochIfDue(now: start.adding(seconds: 601))
        #expect(store.epoch == 1)
        _ = try store.append(kind: "agent.test", payload: [:], now: start.adding(seconds: 1300))
        _ = try store.append(kind: "agent.test", payload: [:], now: start.adding(seconds: 1301))
        #expect(store.epoch == 2)
        #expect(try verify().failure == nil)
    }

    @Test func invalidKindsAreRefused() throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try JournalStore.create(paths: paths, host: "pc", k0: k0, hostKey: hostKey, now: start)
        for kind in ["", "nodot", "UPPER.case", "sp ace.x", "quote\".x"] {
            #expect(throws: JournalStoreError.self) { _ = try store.append(kind: kind, payload: [:], now: start) }
        }
        #expect(store.nextSeq == 1)
    }
}
