import Crypto
import Foundation
import MamoriAgent
import MamoriCore
import Testing

/// The journal on a tiny file system (a 512 KiB tmpfs, world-writable like /var/tmp) that a
/// non-root user (uid 65534, through setpriv) fills. Before the fix a failed write advanced seq
/// and left a torn line, so after space was freed the journal verified as "modified" for good.
/// Root: mounts the tmpfs, always unmounts it. A missing privilege is a failure, not a skip.
@Suite("Journal on a full disk", .serialized)
struct JournalFullDiskTests {
    let k0 = EpochKey.generateK0()
    let hostKey = Curve25519.Signing.PrivateKey()
    let start = Timestamp(parsing: "2026-04-01T09:00:00Z")!

    final class TinyFileSystem {
        let path: String
        init(kilobytes: Int) throws {
            path = NSTemporaryDirectory() + "mamori-tiny-\(UUID().uuidString)"
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            let mount = try CLI.runExecutable("/bin/mount", ["-t", "tmpfs", "-o", "size=\(kilobytes)k,mode=1777", "tmpfs", path])
            #expect(mount.status == 0, "cannot mount a tmpfs (needs root): \(mount.stderr)")
        }
        /// Fills the file system as uid 65534 until it is full.
        func fillAsNonRootUser() throws {
            let result = try CLI.runExecutable("/usr/bin/setpriv", ["--reuid", "65534", "--regid", "65534", "--clear-groups",
                                                                    "/bin/dd", "if=/dev/zero", "of=\(path)/filler", "bs=4k"])
            #expect(result.stderr.contains("No space left"), "dd did not fill the file system: \(result.stderr)")
        }
        func free() { unlink(path + "/filler") }
        deinit {
            _ = try? CLI.runExecutable("/bin/umount", [path])
            try? FileManager.default.removeItem(atPath: path)
        }
    }

    func verify(_ paths: JournalPaths) throws -> JournalVerificationReport {
        var verifier = JournalVerifier(k0: k0, hostKey: hostKey.publicKey)
        return try verifier.verify(try JournalDirectory(path: paths.journalDirectory))
    }

    @Test(arguments: [1, 40])
    func aFailedAppendLeavesTheJournalAsItWasAndTheNextOneContinuesIt(batch: Int) throws {
        let disk = try TinyFileSystem(kilobytes: 512)
        let paths = JournalPaths(journalDirectory: disk.path + "/journal", keyDirectory: disk.path + "/keys")
        var options = JournalStoreOptions()
        options.epochPolicy = EpochPolicy(maxRecords: 50, maxDurationSeconds: 3600)
        let store = try JournalStore.create(paths: paths, host: "pc-full", k0: k0, hostKey: hostKey, now: start, options: options)
        for index in 0..<10 { _ = try store.append(kind: "auth.success", payload: ["i": .int(Int64(index))], now: start) }
        let before = store.nextSeq
        try disk.fillAsNonRootUser()
        let big = String(repeating: "x", count: 2000)
        var failed = 0
        for attempt in 0..<20 {
            let events = (0..<batch).map { _ in (kind: "media.decision", payload: ["pad": JSONValue.string(big), "a": .int(Int64(attempt))]) }
            do {
                _ = try store.append(events, now: start.adding(seconds: Int64(attempt)))
            } catch {
                failed += 1
            }
        }
        #expect(failed >= 1, "nothing failed: the disk was never full")
        #expect(store.failedAppends == failed || failed == 0)
        // While the disk is full the journal on disk is a valid chain (no torn line, no gap).
        let during = try verify(paths)
        #expect(during.failure == nil, "\(String(describing: during.failure))")
        #expect(store.nextSeq == during.records, "seq advanced past what is on disk")
        #expect(store.nextSeq >= before)

        disk.free()
        let receipt = try store.append(kind: "auth.success", payload: ["after": .bool(true)], now: start.adding(seconds: 100))
        #expect(store.failedAppends == 0)
        try store.close(now: start.adding(seconds: 101))
        let after = try verify(paths)
        #expect(after.failure == nil, "\(String(describing: after.failure))")
        // The continuation: journal.write-failed (with the count) right before the new record.
        let lines = try JournalDirectory(path: paths.journalDirectory).segments.flatMap { segment in
            try String(contentsOfFile: segment.path, encoding: .utf8).split(separator: "\n")
        }
        let note = try #require(lines.first { $0.contains("\"journal.write-failed\"") })
        #expect(note.contains("\"attempts\":\(failed)"), "\(note)")
        #expect(note.contains("No space left") || note.contains("ENOSPC") || note.contains("space"), "\(note)")
        let noteSeq = try JournalLineParser.decode(Array(note.utf8)).seq
        #expect(noteSeq + 1 == receipt.seq)
    }

    /// Reopened after the failure (an agent restart while the disk was full): the store finds a
    /// clean end and continues without a recovery cut.
    @Test func aRestartOnTheFullDiskFindsACleanEnd() throws {
        let disk = try TinyFileSystem(kilobytes: 512)
        let paths = JournalPaths(journalDirectory: disk.path + "/journal", keyDirectory: disk.path + "/keys")
        do {
            let store = try JournalStore.create(paths: paths, host: "pc-full", k0: k0, hostKey: hostKey, now: start)
            try disk.fillAsNonRootUser()
            let big = String(repeating: "y", count: 8000)
            for attempt in 0..<5 {
                _ = try? store.append(kind: "media.decision", payload: ["pad": .string(big)], now: start.adding(seconds: Int64(attempt)))
            }
            #expect(store.failedAppends >= 1)
        }
        disk.free()
        let reopened = try JournalStore.open(paths: paths, now: start.adding(seconds: 50))
        #expect(reopened.recovery == nil, "a failed append left a torn tail: \(String(describing: reopened.recovery))")
        _ = try reopened.append(kind: "auth.success", payload: [:], now: start.adding(seconds: 51))
        #expect(try verify(paths).failure == nil)
    }
}
