import Crypto
import MamoriCore
import Testing

/// The tamper matrix: every kind of tampering, at many random positions, is caught with the
/// right seq and kind; an unchanged journal always passes.
@Suite struct JournalTamperTests {
    static let journal = TestJournal.make(records: 240, epochRecords: 10)
    static let positions: [Int] = {
        var random = SeededRandom(seed: 42)
        return (0..<60).map { _ in Int.random(in: 1..<(journal.lines.count - 2), using: &random) }
    }()

    @Test func unchangedJournalPasses() throws {
        let report = try Self.journal.verify(expectedHead: Self.journal.head)
        #expect(report.failure == nil)
        #expect(report.records == UInt64(Self.journal.lines.count))
        #expect(report.head == Self.journal.head)
        #expect(report.checkpoints > 20)
        #expect(report.lastEpoch > 20)
    }

    @Test func differentSeedsAndSizesPass() throws {
        for (records, epoch) in [(1, 5), (2, 2), (3, 2), (57, 3), (500, 1000)] {
            let journal = TestJournal.make(records: records, epochRecords: UInt64(epoch), seed: UInt8(records % 200))
            let report = try journal.verify(expectedHead: journal.head)
            #expect(report.failure == nil, "records \(records): \(String(describing: report.failure))")
        }
    }

    @Test(arguments: positions)
    func modifiedByteIsCaught(position: Int) throws {
        var random = SeededRandom(seed: UInt64(position))
        var lines = Self.journal.lines
        let bodyEnd = lines[position].count - 74
        let offset = Int.random(in: 0..<bodyEnd, using: &random)
        let original = lines[position][offset]
        let replacement = Array("abcXYZ019{}\":,é".utf8).filter { $0 != original }.randomElement(using: &random)!
        lines[position][offset] = replacement
        let report = try Self.journal.verify(lines: lines)
        #expect(report.failure?.kind == .modified, "offset \(offset): \(String(describing: report.failure))")
        #expect(report.failure?.seq == UInt64(position))
    }

    @Test(arguments: positions)
    func corruptedMACIsCaught(position: Int) throws {
        var lines = Self.journal.lines
        let macOffset = lines[position].count - 2 - 64 + (position % 64)
        lines[position][macOffset] = lines[position][macOffset] == UInt8(ascii: "a") ? UInt8(ascii: "b") : UInt8(ascii: "a")
        let report = try Self.journal.verify(lines: lines)
        #expect(report.failure?.kind == .badMAC)
        #expect(report.failure?.seq == UInt64(position))
    }

    @Test(arguments: positions)
    func deletedRecordIsCaught(position: Int) throws {
        var lines = Self.journal.lines
        lines.remove(at: position)
        let report = try Self.journal.verify(lines: lines)
        #expect(report.failure?.kind == .deleted)
        #expect(report.failure?.seq == UInt64(position))
    }

    @Test func deletedFirstRecordIsCaught() throws {
        let report = try Self.journal.verify(lines: Array(Self.journal.lines.dropFirst()))
        #expect(report.failure?.kind == .deleted)
        #expect(report.failure?.seq == 0)
    }

    @Test(arguments: positions)
    func forgedInsertionIsCaught(position: Int) throws {
        // A forger who holds only the newest key writes a record where seq `position` belongs.
        let previous = try JournalLineParser.parse(Self.journal.lines[position - 1])
        let target = Self.journal.record(position)
        var forged = JournalRecord(seq: UInt64(position), time: target.time, host: "pc-001", kind: "media.decision",
                                   epoch: target.epoch, prev: previous.hash, payload: ["decision": .string("read-write")])
        let newest = Self.journal.key(epoch: Self.journal.record(Self.journal.lines.count - 1).epoch + 1)
        forged.epoch = target.epoch
        forged.mac = newest.mac(recordHash: forged.hash)
        var lines = Self.journal.lines
        lines.insert(forged.line, at: position)
        let report = try Self.journal.verify(lines: lines)
        #expect(report.failure?.kind == .inserted, "\(String(describing: report.failure))")
        #expect(report.failure?.seq == UInt64(position))
    }

    @Test(arguments: positions)
    func replayedRecordIsCaught(position: Int) throws {
        var lines = Self.journal.lines
        lines.insert(lines[position / 2], at: position)
        let report = try Self.journal.verify(lines: lines)
        #expect(report.failure?.kind == .inserted)
        #expect(report.failure?.seq == UInt64(position))
    }

    @Test(arguments: positions)
    func swappedRecordsAreCaught(position: Int) throws {
        var random = SeededRandom(seed: UInt64(position) * 7)
        let other = Int.random(in: (position + 1)..<Self.journal.lines.count, using: &random)
        var lines = Self.journal.lines
        lines.swapAt(position, other)
        let report = try Self.journal.verify(lines: lines)
        #expect(report.failure?.kind == .reordered, "swap \(position)<->\(other): \(String(describing: report.failure))")
        #expect(report.failure?.seq == UInt64(position))
    }

    @Test(arguments: [1, 2, 5, 17, 100, 239])
    func truncationIsCaughtAgainstExpectedHead(cut: Int) throws {
        let lines = Array(Self.journal.lines.dropLast(cut))
        let report = try Self.journal.verify(expectedHead: Self.journal.head, lines: lines)
        #expect(report.failure?.kind == .truncated)
        #expect(report.failure?.seq == UInt64(Self.journal.lines.count - cut))
        // Without a head from outside, a cut journal is still a valid prefix: that is why the
        // collector keeps heads.
        #expect(try Self.journal.verify(lines: lines).failure == nil)
    }

    @Test(arguments: positions)
    func resealWithLaterEpochKeyIsCaught(position: Int) throws {
        var record = Self.journal.record(position)
        let later = Self.journal.key(epoch: record.epoch + 1 + UInt64(position % 3))
        // Variant 1: content changed, MAC made with a later key, epoch field left alone.
        record.payload["n"] = .int(-1)
        record.mac = later.mac(recordHash: record.hash)
        var lines = Self.journal.lines
        lines[position] = record.line
        var report = try Self.journal.verify(lines: lines)
        #expect(report.failure?.kind == .wrongEpochKey, "\(String(describing: report.failure))")
        #expect(report.failure?.seq == UInt64(position))

        // Variant 2: the epoch field is moved to the later epoch too (CVE-2023-31439's shape).
        var moved = Self.journal.record(position)
        moved.seal(with: later)
        lines[position] = moved.line
        report = try Self.journal.verify(lines: lines)
        #expect(report.failure?.kind == .wrongEpochKey, "\(String(describing: report.failure))")
        #expect(report.failure?.seq == UInt64(position))
    }

    @Test func badCheckpointSignatureIsCaught() throws {
        let checkpoints = Self.journal.lines.indices.filter { Self.journal.record($0).kind == JournalKind.checkpoint }
        #expect(checkpoints.count > 10)
        for index in checkpoints.prefix(8) {
            var record = Self.journal.record(index)
            var signature = Hex.decode(record.payload["sig"]!.stringValue!)!
            signature[index % 64] ^= 0x01
            record.payload["sig"] = .string(Hex.encode(signature))
            // The attacker holds this epoch's MAC key but not the host's signing key.
            record.mac = Self.journal.key(epoch: record.epoch).mac(recordHash: record.hash)
            var lines = Self.journal.lines
            lines[index] = record.line
            let report = try Self.journal.verify(lines: lines)
            #expect(report.failure?.kind == .badSignature)
            #expect(report.failure?.seq == UInt64(index))
        }
    }

    @Test func checkpointSignedByAnotherHostKeyIsCaught() throws {
        var verifier = JournalVerifier(k0: Self.journal.k0, hostKey: Curve25519.Signing.PrivateKey().publicKey)
        let report = try verifier.verify(Self.journal.source)
        #expect(report.failure?.kind == .badSignature)
        let first = Self.journal.lines.firstIndex { (try? JournalLineParser.parse($0))?.isCheckpoint == true }!
        #expect(report.failure?.seq == UInt64(first))
    }

    @Test func wrongK0FailsAtTheFirstRecord() throws {
        var verifier = JournalVerifier(k0: EpochKey(epoch: 0, keyBytes: [UInt8](repeating: 9, count: 32)),
                                       hostKey: Self.journal.signingKey.publicKey)
        let report = try verifier.verify(Self.journal.source)
        #expect(report.failure?.seq == 0)
        #expect(report.failure?.kind == .badMAC)
    }

    @Test func headThatDiffersIsCaughtAsFork() throws {
        // The collector holds a head for seq 29 that this journal's record 29 does not match:
        // the terminal's history was rewritten after the collector saw it.
        let forkedHead = JournalHead(seq: 29, hash: Digest32([UInt8](repeating: 1, count: 32))!)
        let forked = try Self.journal.verify(expectedHead: forkedHead)
        #expect(forked.failure?.kind == .forked)
        #expect(forked.failure?.seq == 29)
    }

    @Test func epochAdvanceWithoutCheckpointIsCaught() throws {
        // Delete nothing, but seal a record of the current epoch under the next epoch and claim it.
        let index = 3
        var record = Self.journal.record(index)
        record.seal(with: Self.journal.key(epoch: record.epoch + 1))
        var lines = Array(Self.journal.lines.prefix(index))
        lines.append(record.line)
        let report = try Self.journal.verify(lines: lines)
        #expect(report.failure?.kind == .wrongEpochKey)
        #expect(report.failure?.seq == UInt64(index))
    }

    @Test func emptyJournalIsNotValid() throws {
        let report = try Self.journal.verify(lines: [])
        #expect(report.failure?.kind == .truncated)
        #expect(report.failure?.seq == 0)
    }

    @Test func tornTailIsNamed() throws {
        var bytes: [UInt8] = []
        for line in Self.journal.lines { bytes += line + [0x0A] }
        bytes += Array(Self.journal.lines[3].prefix(40))
        var verifier = JournalVerifier(k0: Self.journal.k0, hostKey: Self.journal.signingKey.publicKey)
        let report = try verifier.verify(InMemoryJournalSource(segments: [("s", bytes)]))
        #expect(report.failure?.kind == .tornTail)
        #expect(report.failure?.seq == UInt64(Self.journal.lines.count))
    }

    @Test func garbageNeverCrashes() throws {
        var random = SeededRandom(seed: 99)
        for round in 0..<300 {
            let length = Int.random(in: 0..<2000, using: &random)
            var bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &random) }
            if round % 3 == 0 { bytes = Array(Self.journal.lines[round % 50].prefix(length)) + bytes }
            var verifier = JournalVerifier(k0: Self.journal.k0, hostKey: Self.journal.signingKey.publicKey)
            let report = try verifier.verify(InMemoryJournalSource(segments: [("g", bytes)]))
            #expect(report.failure != nil)
        }
    }
}
