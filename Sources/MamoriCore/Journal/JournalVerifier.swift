public import Crypto

/// What a journal's head is: the last record's seq and hash. The collector holds one for each
/// host; a journal that does not reach it was truncated, one that differs from it was forked.
public struct JournalHead: Sendable, Hashable, CustomStringConvertible {
    public var seq: UInt64
    public var hash: Digest32

    public init(seq: UInt64, hash: Digest32) {
        self.seq = seq
        self.hash = hash
    }

    /// Parses `SEQ:HASH`.
    public init?(parsing text: String) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let seq = UInt64(parts[0]), let hash = Digest32(hex: parts[1].lowercased()) else { return nil }
        self.init(seq: seq, hash: hash)
    }

    public var description: String { "\(seq):\(hash.hex)" }
}

/// The kinds of failure the verifier names. Raw values are what the CLI and the API print.
public enum JournalFailureKind: String, Sendable, CaseIterable, Codable {
    /// A record's content was changed after it was sealed (or the line no longer parses).
    case modified
    /// One or more records are missing: the seq jumps.
    case deleted
    /// A record that does not belong was put in (a forgery or a replayed earlier record).
    case inserted
    /// Records are present but out of order.
    case reordered
    /// The journal ends before the head someone outside the host has seen.
    case truncated
    /// A different history: the record at a seq is valid but is not the one the chain or head names.
    case forked
    /// The record's content is intact (the chain vouches for it) but its MAC is wrong.
    case badMAC = "bad-mac"
    /// The MAC was made with another epoch's key, or the epoch moved without an epoch-end
    /// checkpoint (re-sealing with a later key: journald's CVE-2023-31439).
    case wrongEpochKey = "wrong-epoch-key"
    /// A checkpoint's Ed25519 signature, or what it commits to, does not hold.
    case badSignature = "bad-signature"
    /// The last line is cut short by a crash and has not been recovered yet.
    case tornTail = "torn-tail"
}

public struct JournalFailure: Sendable, Hashable, CustomStringConvertible {
    public var kind: JournalFailureKind
    /// The seq at which the journal stops being what it should be.
    public var seq: UInt64
    public var location: JournalLineLocation?
    public var detail: String

    public init(kind: JournalFailureKind, seq: UInt64, location: JournalLineLocation?, detail: String) {
        self.kind = kind
        self.seq = seq
        self.location = location
        self.detail = detail
    }

    public var description: String {
        var text = "\(kind.rawValue) at seq \(seq): \(detail)"
        if let location { text += " [\(location)]" }
        return text
    }
}

public struct JournalVerificationReport: Sendable {
    public var records: UInt64 = 0
    public var head: JournalHead?
    /// The epoch of the last record.
    public var lastEpoch: UInt64 = 0
    public var checkpoints: UInt64 = 0
    /// Seq of the last checkpoint whose signature verified (it covers every record before it).
    public var lastCheckpointSeq: UInt64?
    public var failure: JournalFailure?
    /// Where a verifier of the next batch starts, when everything verified.
    public var resume: JournalResumePoint?

    public var isValid: Bool { failure == nil }
}

/// The state a verifier carries from one record to the next: the seq and `prev` the next record
/// must have, and the epoch it must be sealed in. Genesis is (0, zero, 0). The collector keeps one
/// per host, so each batch is verified as the continuation of what it already holds.
public struct JournalResumePoint: Sendable, Hashable {
    public var nextSeq: UInt64
    public var prev: Digest32
    public var epoch: UInt64

    public init(nextSeq: UInt64, prev: Digest32, epoch: UInt64) {
        self.nextSeq = nextSeq
        self.prev = prev
        self.epoch = epoch
    }

    public static let genesis = JournalResumePoint(nextSeq: 0, prev: .zero, epoch: 0)
}

/// Verifies a journal with the host's public key and names the first failure precisely: from
/// genesis with K0, or (the collector) as the continuation of a resume point with that epoch's
/// key. The fast path costs one SHA-256 over the body and one HMAC over a digest.
public struct JournalVerifier {
    public let hostKey: Curve25519.Signing.PublicKey
    public let expectedHead: JournalHead?
    public let start: JournalResumePoint
    private var keys: EpochKeyChain

    public init(k0: EpochKey, hostKey: Curve25519.Signing.PublicKey, expectedHead: JournalHead? = nil) {
        self.keys = EpochKeyChain(k0: k0)
        self.hostKey = hostKey
        self.expectedHead = expectedHead
        self.start = .genesis
    }

    /// Verifies lines that continue from `point`, whose epoch's key is `epochKey`. Keys of earlier
    /// epochs are not derivable from it (forward security), so a record sealed with one is
    /// reported as modified rather than as sealed under the wrong epoch's key.
    public init(resumingAt point: JournalResumePoint, epochKey: EpochKey, hostKey: Curve25519.Signing.PublicKey) {
        precondition(point.epoch == epochKey.epoch, "the key must be the resume point's epoch key")
        self.keys = EpochKeyChain(startingAt: epochKey)
        self.hostKey = hostKey
        self.expectedHead = nil
        self.start = point
    }

    /// The key of `epoch` (nil before the chain's first key); the collector stores the key of the
    /// epoch a batch ends in.
    public mutating func epochKey(for epoch: UInt64) -> EpochKey? { keys.key(for: epoch) }

    private struct State {
        var seq: UInt64
        var prev: Digest32
        var epoch: UInt64
    }

    public mutating func verify(_ source: some JournalLineSource) throws -> JournalVerificationReport {
        var report = JournalVerificationReport()
        var state = State(seq: start.nextSeq, prev: start.prev, epoch: start.epoch)
        var currentKey = keys.key(for: start.epoch)!
        var anomalyLine: Int?
        var anomalyParse: Result<ParsedJournalLine, JournalLineError>?
        var anomalyLocation: JournalLineLocation?
        var anomalyTerminated = true
        var anomalyIsLast = false

        try source.forEachLine(from: 0) { line in
            let parsed: ParsedJournalLine
            switch Result(catching: { () throws(JournalLineError) -> ParsedJournalLine in try JournalLineParser.parse(line.bytes) }) {
            case .success(let value):
                parsed = value
            case .failure(let error):
                anomalyLine = line.index
                anomalyParse = .failure(error)
                anomalyLocation = line.location
                anomalyTerminated = line.terminated
                anomalyIsLast = line.isLastLine
                return false
            }
            guard parsed.seq == state.seq, parsed.prev == state.prev, parsed.epoch == state.epoch,
                  currentKey.mac(recordHash: parsed.hash).constantTimeEquals(parsed.mac)
            else {
                anomalyLine = line.index
                anomalyParse = .success(parsed)
                anomalyLocation = line.location
                anomalyTerminated = line.terminated
                anomalyIsLast = line.isLastLine
                return false
            }
            if parsed.isCheckpoint {
                switch checkCheckpoint(parsed, line: line.bytes) {
                case .failure(let reason):
                    report.failure = JournalFailure(kind: .badSignature, seq: parsed.seq, location: line.location, detail: reason.description)
                    return false
                case .success(let endsEpoch):
                    report.checkpoints += 1
                    report.lastCheckpointSeq = parsed.seq
                    if endsEpoch {
                        state.epoch += 1
                        guard let next = keys.key(for: state.epoch) else {
                            report.failure = JournalFailure(kind: .wrongEpochKey, seq: parsed.seq, location: line.location,
                                                            detail: "more epochs than a verifier derives (over a million)")
                            return false
                        }
                        currentKey = next
                    }
                }
            }
            if let expectedHead, expectedHead.seq == parsed.seq, expectedHead.hash != parsed.hash {
                report.failure = JournalFailure(
                    kind: .forked, seq: parsed.seq, location: line.location,
                    detail: "record \(parsed.seq) has hash \(parsed.hash.hex), but the expected head names \(expectedHead.hash.hex)")
                return false
            }
            report.records += 1
            report.head = JournalHead(seq: parsed.seq, hash: parsed.hash)
            report.lastEpoch = parsed.epoch
            state.seq += 1
            state.prev = parsed.hash
            return true
        }

        if report.failure != nil { return report }
        if let index = anomalyLine, let parse = anomalyParse {
            report.failure = try diagnose(source, lineIndex: index, parse: parse, location: anomalyLocation,
                                          terminated: anomalyTerminated, isLast: anomalyIsLast,
                                          seq: state.seq, prev: state.prev, epoch: state.epoch)
            return report
        }
        if report.records == 0 {
            report.failure = JournalFailure(kind: .truncated, seq: state.seq, location: nil,
                                            detail: start == .genesis
                                                ? "the journal holds no records (every journal starts with journal.created)"
                                                : "the batch holds no records")
            return report
        }
        if let expectedHead {
            let have = report.head.map { $0.seq + 1 } ?? 0
            if have <= expectedHead.seq {
                report.failure = JournalFailure(
                    kind: .truncated, seq: have, location: nil,
                    detail: "the journal ends after \(have) records, but the expected head is seq \(expectedHead.seq)")
                return report
            }
        }
        report.resume = JournalResumePoint(nextSeq: state.seq, prev: state.prev, epoch: state.epoch)
        return report
    }

    /// Checks a checkpoint record's commitment and signature. Returns whether it ends the epoch.
    private func checkCheckpoint(_ parsed: ParsedJournalLine, line: UnsafeBufferPointer<UInt8>) -> Result<Bool, CheckpointError> {
        let payloadBytes = UnsafeBufferPointer(rebasing: line[parsed.payloadRange])
        guard let payload = try? JSONValue.parse(payloadBytes), let hostValue = try? hostOf(line) else {
            return .failure(CheckpointError("checkpoint payload does not parse"))
        }
        guard let epoch = payload["epoch"]?.intValue, UInt64(exactly: epoch) == parsed.epoch else {
            return .failure(CheckpointError("checkpoint names another epoch than its record"))
        }
        guard let records = payload["records"]?.intValue, UInt64(exactly: records) == parsed.seq else {
            return .failure(CheckpointError("checkpoint does not cover exactly the records before it"))
        }
        guard let headText = payload["head"]?.stringValue, let head = Digest32(hex: headText), head == parsed.prev else {
            return .failure(CheckpointError("checkpoint head is not the hash of the record before it"))
        }
        guard let reasonText = payload["reason"]?.stringValue, let reason = CheckpointReason(rawValue: reasonText) else {
            return .failure(CheckpointError("checkpoint has no known reason"))
        }
        guard let sigText = payload["sig"]?.stringValue, let signature = Hex.decode(sigText), signature.count == 64 else {
            return .failure(CheckpointError("checkpoint has no 64-byte signature"))
        }
        let message = JournalCrypto.checkpointMessage(host: hostValue, records: parsed.seq, head: head, epoch: parsed.epoch)
        guard hostKey.isValidSignature(signature, for: message) else {
            return .failure(CheckpointError("checkpoint signature does not verify under the host key"))
        }
        return .success(reason == .epochEnd)
    }

    private func hostOf(_ line: UnsafeBufferPointer<UInt8>) throws -> String {
        guard case .object(let members) = try JSONValue.parse(line), let host = members["host"]?.stringValue else {
            throw JournalLineError(reason: "no host")
        }
        return host
    }

    // MARK: Diagnosis of the first anomaly

    private struct Lookahead {
        var next: ParsedJournalLine?
        var nextMACValid = false
        var seqAppearsLater = false
        var maxEpoch: UInt64 = 0
    }

    private mutating func diagnose(_ source: some JournalLineSource, lineIndex: Int,
                                   parse: Result<ParsedJournalLine, JournalLineError>, location: JournalLineLocation?,
                                   terminated: Bool, isLast: Bool,
                                   seq s: UInt64, prev p: Digest32, epoch e: UInt64) throws -> JournalFailure {
        var look = Lookahead()
        look.maxEpoch = e
        try source.forEachLine(from: lineIndex + 1) { line in
            guard let parsed = try? JournalLineParser.parse(line.bytes) else { return true }
            if line.index == lineIndex + 1 { look.next = parsed }
            if parsed.seq == s { look.seqAppearsLater = true }
            if parsed.epoch > look.maxEpoch, parsed.epoch - e < 100_000 { look.maxEpoch = parsed.epoch }
            return true
        }
        if let next = look.next, let key = keys.key(for: next.epoch) {
            look.nextMACValid = key.mac(recordHash: next.hash).constantTimeEquals(next.mac)
        }
        let nextChainsFromPrev = look.next.map { $0.seq == s && $0.prev == p } ?? false && look.nextMACValid
        func failure(_ kind: JournalFailureKind, _ detail: String) -> JournalFailure {
            JournalFailure(kind: kind, seq: s, location: location, detail: detail)
        }

        let record: ParsedJournalLine
        switch parse {
        case .failure(let error):
            if !terminated && isLast {
                return failure(.tornTail, "the last line is cut short (\(error.reason)); the writer repairs this on its next start")
            }
            if nextChainsFromPrev { return failure(.inserted, "a line that is not a record was put in: \(error.reason)") }
            return failure(.modified, "the line no longer parses as a record: \(error.reason)")
        case .success(let parsed):
            record = parsed
        }

        let claimedKey = keys.key(for: record.epoch)
        let macValid = claimedKey.map { $0.mac(recordHash: record.hash).constantTimeEquals(record.mac) } ?? false
        if macValid {
            if record.seq > s {
                return look.seqAppearsLater
                    ? failure(.reordered, "expected seq \(s) here but found seq \(record.seq); seq \(s) comes later")
                    : failure(.deleted, "seq jumps from \(s) to \(record.seq): \(record.seq - s) record(s) missing")
            }
            if record.seq < s {
                return failure(.inserted, "a second record with seq \(record.seq) stands where seq \(s) belongs")
            }
            if record.prev != p {
                return nextChainsFromPrev
                    ? failure(.inserted, "a record that does not chain from seq \(s == 0 ? 0 : s - 1) was put in")
                    : failure(.forked, "record \(s) is sealed but links to \(record.prev.hex), not to the record before it")
            }
            // seq and prev are right and the MAC holds under the epoch it claims: the epoch is wrong.
            return failure(.wrongEpochKey,
                           "record claims epoch \(record.epoch) but the journal is in epoch \(e) (no epoch-end checkpoint between)")
        }

        if nextChainsFromPrev {
            return failure(.inserted, "a forged record (its MAC does not verify) was put in before seq \(s)")
        }
        // Keys up to 64 epochs past anything in the file: a thief may hold keys newer than a truncated journal shows.
        let highest = max(look.maxEpoch, record.epoch < e + 100_000 ? record.epoch : e) + 64
        var candidate: UInt64 = 0
        while candidate <= highest {
            if candidate != record.epoch, let key = keys.key(for: candidate),
               key.mac(recordHash: record.hash).constantTimeEquals(record.mac) {
                return failure(.wrongEpochKey,
                               "record is sealed with the key of epoch \(candidate), but claims epoch \(record.epoch)\(record.epoch == e ? "" : " (journal is in epoch \(e))")")
            }
            candidate += 1
        }
        if record.seq != s {
            return failure(.modified, "record content changed (seq reads \(record.seq), MAC does not verify)")
        }
        if let next = look.next, next.prev == record.hash, next.seq == s + 1 {
            return failure(.badMAC, "record content is intact (the next record's prev vouches for it) but its MAC is wrong")
        }
        if look.next == nil, let expectedHead, expectedHead.seq == s, expectedHead.hash == record.hash {
            return failure(.badMAC, "record content matches the expected head but its MAC is wrong")
        }
        return failure(.modified, "record content changed after sealing: its MAC does not verify under epoch \(record.epoch)'s key")
    }
}

struct CheckpointError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
