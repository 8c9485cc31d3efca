import Crypto
import Foundation
import MamoriClient
@testable import MamoriCollector
import MamoriCore
import Testing

/// The collector over real HTTPS, on SQLite and on a real PostgreSQL server: enrolment, verified
/// ingest with signed receipts, idempotent re-delivery, every tamper case kept as evidence with
/// the head unchanged, replay, malformed and oversized requests, profile distribution.
@Suite(.serialized) struct CollectorAPITests {
    static let engines = TestEngines.all

    @Test(arguments: engines) func enrolIngestAndReceipts(engine: SQLEngine) async throws {
        try await CollectorHarness.run(engine) { harness in
            var (identity, journal) = try await harness.enrolHost(org: "assembly", group: "clerks")
            #expect(identity.organisation == "assembly")
            #expect(identity.hostGroup == "clerks")

            let first = journal.nextBatch(150)
            guard case .stored(let receipt) = try await harness.client.shipJournal(identity: identity, lines: first) else {
                Issue.record("first batch refused")
                return
            }
            #expect(receipt.head.seq == 149)
            #expect(receipt.stored == 150)
            #expect(!receipt.duplicate)
            #expect(receipt.isValid(under: identity.receiptKey))

            // The same batch again (a lost reply): acknowledged, nothing stored twice.
            guard case .stored(let again) = try await harness.client.shipJournal(identity: identity, lines: first) else {
                Issue.record("re-delivery refused")
                return
            }
            #expect(again.duplicate)
            #expect(again.stored == 0)
            #expect(again.head == receipt.head)

            // A batch overlapping the head by 50 and adding 100 (crosses an epoch-end checkpoint).
            let next = journal.nextBatch(100)
            let overlap = Array(first.split(separator: 0x0A).suffix(50).map { Array($0) + [0x0A] }.joined()) + next
            guard case .stored(let third) = try await harness.client.shipJournal(identity: identity, lines: overlap) else {
                Issue.record("overlapping batch refused")
                return
            }
            #expect(third.head.seq == 249)
            #expect(third.stored == 100)
            let host = try await harness.host(identity.hostId)
            #expect(host.records == 250)
            #expect(host.point.nextSeq == 250)
            #expect(host.point.epoch >= 1)
            #expect(try await harness.alerts(host: identity.hostId).isEmpty)

            let head = try await harness.client.signed("GET", "/v1/agent/head", identity: identity).json(expect: 200)
            #expect(head["next_seq"]?.intValue == 250)
        }
    }

    @Test(arguments: engines) func enrolmentTokensWorkOnceAndExpire(engine: SQLEngine) async throws {
        try await CollectorHarness.run(engine) { harness in
            let reply = try await harness.client.createEnrollToken(adminToken: harness.adminToken, organisation: "区議会", group: nil, expiresSeconds: 600)
            let token = try #require(reply["token"]?.stringValue)
            #expect(reply["org"]?.stringValue == "assembly")
            let one = SyntheticJournal(host: "a", seed: 1, start: CollectorClock.now())
            _ = try await harness.client.enrol(token: token, hostname: "a", hostKey: one.hostKey, k0: one.k0)
            let two = SyntheticJournal(host: "b", seed: 2, start: CollectorClock.now())
            await #expect(throws: CollectorClientError.status(401, "this enrolment token has already been used")) {
                _ = try await harness.client.enrol(token: token, hostname: "b", hostKey: two.hostKey, k0: two.k0)
            }
            await #expect(throws: CollectorClientError.status(401, "unknown enrolment token")) {
                _ = try await harness.client.enrol(token: token + "0", hostname: "b", hostKey: two.hostKey, k0: two.k0)
            }
            // Expired: made valid for the minimum, then checked a little past it.
            let short = try await harness.service.store.createEnrollToken(organisation: .mayorsDepartments, hostGroup: nil,
                                                                          expires: CollectorClock.now().adding(seconds: -1), createdBy: "test",
                                                                          now: CollectorClock.now())
            await #expect(throws: CollectorClientError.status(401, "this enrolment token has expired")) {
                _ = try await harness.client.enrol(token: short.token, hostname: "b", hostKey: two.hostKey, k0: two.k0)
            }
            // Neither admin nor enrolment tokens are stored in clear.
            let stored = try await harness.database.query("SELECT token_hash FROM enroll_tokens", []) + harness.database.query("SELECT token_hash FROM admin_tokens", [])
            #expect(!stored.isEmpty)
            for row in stored { #expect(row["token_hash"].text != token && row["token_hash"].text != harness.adminToken) }
            let k0Rows = try await harness.database.query("SELECT k0_sealed FROM hosts", [])
            #expect(k0Rows.allSatisfy { $0["k0_sealed"].text?.hasPrefix("v1:") == true && $0["k0_sealed"].text?.contains(Hex.encode(one.k0.keyBytes)) == false })
        }
    }

    enum Tamper: String, CaseIterable, Sendable {
        case gap, fork, badMAC, modified, badCheckpointSignature, wrongEpochKey
    }

    /// Each tampered batch ends as a `tamper` alert with the evidence kept and the head unchanged;
    /// the genuine continuation is accepted afterwards, so nothing acknowledged is lost.
    @Test(arguments: engines, Tamper.allCases) func tamperedBatchesAreEvidenceAndNeverMoveTheHead(engine: SQLEngine, tamper: Tamper) async throws {
        try await CollectorHarness.run(engine) { harness in
            var (identity, journal) = try await harness.enrolHost()
            let stored = journal.lines(120)
            guard case .stored(let receipt) = try await harness.client.shipJournal(identity: identity, lines: Self.joined(stored)) else {
                Issue.record("first batch refused")
                return
            }
            let genuine = journal.lines(100)
            let forged = try Self.tampered(genuine, tamper, stored: stored, journal: journal)
            guard case .refused(let reason) = try await harness.client.shipJournal(identity: identity, lines: Self.joined(forged)) else {
                Issue.record("tampered batch (\(tamper)) accepted")
                return
            }
            #expect(reason["error"]?.stringValue == "unprocessable")
            #expect(reason["head_seq"]?.intValue == Int64(receipt.head.seq))
            let host = try await harness.host(identity.hostId)
            #expect(host.point.nextSeq == 120)
            #expect(host.tamperedAt != nil)
            let alerts = try await harness.alerts(host: identity.hostId)
            #expect(alerts.count == 1)
            #expect(alerts.first?.kind == "tamper")
            #expect(alerts.first?.failure == reason["kind"]?.stringValue)
            let evidence = try await harness.database.query("SELECT body FROM evidence WHERE id = ?", [.text(alerts.first?.evidenceId ?? "")])
            #expect(evidence.first?["body"].text == String(decoding: Self.joined(forged), as: UTF8.self))

            guard case .stored(let after) = try await harness.client.shipJournal(identity: identity, lines: Self.joined(genuine)) else {
                Issue.record("the genuine continuation was refused after \(tamper)")
                return
            }
            #expect(after.head.seq == 219)
        }
    }

    /// A terminal (or whoever holds its keys) writes a record in another enrolled host's name: hash,
    /// chain and MAC are right, so only the `host` member gives it away. Refused as `foreign-host`
    /// (422, evidence kept, one alert, the head unchanged); so is an escaped spelling of the
    /// sender's own id; the genuine continuation is accepted afterwards.
    @Test(arguments: engines) func aRecordNamingAnotherHostIsRefused(engine: SQLEngine) async throws {
        try await CollectorHarness.run(engine) { harness in
            var (identity, journal) = try await harness.enrolHost()
            let (other, _) = try await harness.enrolHost()
            let stored = journal.lines(50)
            guard case .stored = try await harness.client.shipJournal(identity: identity, lines: Self.joined(stored)) else {
                Issue.record("first batch refused")
                return
            }
            let genuine = journal.lines(40)
            for claimed in [other.hostId, "\\u0068" + identity.hostId.dropFirst()] {
                let text = try Self.replacing(genuine[20], "\"host\":\"\(identity.hostId)\"", "\"host\":\"\(claimed)\"")
                // Sealed over the bytes as written (resealing a decoded record would undo the escape).
                let forged = Array(genuine[..<20]) + [try Self.sealedAsWritten(text, journal: journal)]
                guard case .refused(let reason) = try await harness.client.shipJournal(identity: identity, lines: Self.joined(forged)) else {
                    Issue.record("a record naming \(claimed) was accepted")
                    return
                }
                #expect(reason["error"]?.stringValue == "unprocessable")
                #expect(reason["kind"]?.stringValue == "foreign-host")
                #expect(reason["seq"]?.intValue == 70)
                #expect(reason["head_seq"]?.intValue == 49)
                let host = try await harness.host(identity.hostId)
                #expect(host.point.nextSeq == 50)
                #expect(host.tamperedAt != nil)
            }
            let alerts = try await harness.alerts(host: identity.hostId)
            #expect(alerts.count == 1, "one open alert per host and kind: \(alerts.count)")
            #expect(alerts.first?.failure == "foreign-host")
            let evidence = try await harness.database.query("SELECT COUNT(*) AS n FROM evidence WHERE host_id = ?", [.text(identity.hostId)])
            #expect((evidence.first?["n"].int ?? 0) >= 1)
            // The host named is untouched: nothing stored in its name.
            #expect(try await harness.host(other.hostId).point.nextSeq == 0)
            guard case .stored(let after) = try await harness.client.shipJournal(identity: identity, lines: Self.joined(genuine)) else {
                Issue.record("the genuine continuation was refused")
                return
            }
            #expect(after.head.seq == 89)
        }
    }

    static func joined(_ lines: [[UInt8]]) -> [UInt8] { lines.flatMap { $0 + [0x0A] } }

    static func tampered(_ lines: [[UInt8]], _ tamper: Tamper, stored: [[UInt8]], journal: SyntheticJournal) throws -> [[UInt8]] {
        var lines = lines
        switch tamper {
        case .gap:
            lines.remove(at: 0)
        case .fork:
            // A different record at an already-stored seq, resealed with the key an insider holds,
            // followed by the genuine continuation.
            var record = try JournalRecordDecoding.record(stored[stored.count - 1])
            record.payload["n"] = .int(-1)
            let key = try #require(Self.key(for: record.epoch, journal: journal))
            record.seal(with: key)
            return [record.line] + lines
        case .badMAC:
            let text = String(decoding: lines[10], as: UTF8.self)
            let macStart = try #require(text.range(of: "\"mac\":\"")).upperBound
            var chars = Array(text)
            let index = text.distance(from: text.startIndex, to: macStart)
            chars[index] = chars[index] == "0" ? "1" : "0"
            lines[10] = Array(String(chars).utf8)
        case .modified:
            lines[5] = try Self.replacing(lines[5], "\"service\":\"", "\"service\":\"x")
        case .badCheckpointSignature:
            let index = try #require(lines.firstIndex { String(decoding: $0, as: UTF8.self).contains("journal.checkpoint") })
            let text = String(decoding: lines[index], as: UTF8.self)
            let sig = try #require(text.range(of: "\"sig\":\"")).upperBound
            var chars = Array(text)
            let position = text.distance(from: text.startIndex, to: sig)
            chars[position] = chars[position] == "a" ? "b" : "a"
            // Re-seal so only the signature is wrong: the record hash and MAC must still hold.
            return try Self.resealed(lines, index: index, text: String(chars), journal: journal)
        case .wrongEpochKey:
            // A record sealed with the next epoch's key while claiming the current epoch.
            return try Self.sealedWithLaterKey(lines, index: 3, journal: journal)
        }
        return lines
    }

    static func replacing(_ line: [UInt8], _ target: String, _ replacement: String) throws -> [UInt8] {
        let text = String(decoding: line, as: UTF8.self)
        guard text.contains(target) else { throw HarnessError("line has no \(target)") }
        return Array(text.replacingOccurrences(of: target, with: replacement, options: [], range: text.range(of: target)).utf8)
    }

    /// Rebuilds records from `index` on with their MACs recomputed under the right keys (as an
    /// insider with the current key could), leaving the checkpoint signature wrong.
    static func resealed(_ lines: [[UInt8]], index: Int, text: String, journal: SyntheticJournal) throws -> [[UInt8]] {
        var out = Array(lines[..<index])
        var record = try JournalRecordDecoding.record(Array(text.utf8))
        let key = try #require(Self.key(for: record.epoch, journal: journal))
        record.seal(with: key)
        out.append(record.line)
        return out
    }

    /// The line with its MAC recomputed over exactly its own bytes (record hash of the body without
    /// `mac`, under its epoch's key), as a writer of non-canonical JSON with the key could.
    static func sealedAsWritten(_ line: [UInt8], journal: SyntheticJournal) throws -> [UInt8] {
        let text = String(decoding: line, as: UTF8.self)
        let macMember = try #require(text.range(of: ",\"mac\":\"", options: .backwards))
        let body = String(text[..<macMember.lowerBound]) + "}"
        let epoch = try #require(try JSONValue.parse(line)["epoch"]?.intValue)
        let key = try #require(Self.key(for: UInt64(epoch), journal: journal))
        let mac = key.mac(recordHash: JournalCrypto.recordHash(body: Array(body.utf8)))
        return Array((String(body.dropLast()) + ",\"mac\":\"" + mac.hex + "\"}").utf8)
    }

    static func sealedWithLaterKey(_ lines: [[UInt8]], index: Int, journal: SyntheticJournal) throws -> [[UInt8]] {
        var record = try JournalRecordDecoding.record(lines[index])
        let claimed = record.epoch
        let later = try #require(Self.key(for: claimed + 1, journal: journal))
        let hash = record.hash
        record.mac = later.mac(recordHash: hash)
        var out = Array(lines[..<index])
        out.append(record.line)
        return out
    }

    static func key(for epoch: UInt64, journal: SyntheticJournal) -> EpochKey? {
        var chain = EpochKeyChain(k0: journal.k0)
        return chain.key(for: epoch)
    }
}

/// Back from a line to a JournalRecord (tests only: the verifier never needs this).
enum JournalRecordDecoding {
    static func record(_ line: [UInt8]) throws -> JournalRecord {
        let value = try JSONValue.parse(line)
        guard let seq = value["seq"]?.intValue, let time = value["time"]?.stringValue.flatMap({ Timestamp(parsing: $0) }),
              let host = value["host"]?.stringValue, let kind = value["kind"]?.stringValue, let epoch = value["epoch"]?.intValue,
              let prev = value["prev"]?.stringValue.flatMap({ Digest32(hex: $0) }), let payload = value["payload"]?.objectValue,
              let mac = value["mac"]?.stringValue.flatMap({ Digest32(hex: $0) }) else {
            throw HarnessError("not a journal record")
        }
        return JournalRecord(seq: UInt64(seq), time: time, host: host, kind: kind, epoch: UInt64(epoch), prev: prev, payload: payload, mac: mac)
    }
}
