public import Crypto
public import MamoriCore

/// A host's journal made in memory with the same sealing code the agent uses, for the load
/// generator and the collector's tests: varied records, epoch-end checkpoints when the epoch
/// policy says so, lines ready to ship.
public struct SyntheticJournal {
    public private(set) var sealer: JournalSealer
    public let k0: EpochKey
    public let hostKey: Curve25519.Signing.PrivateKey
    var random: SplitMix64
    var clock: Timestamp

    public init(host: String, seed: UInt64, start: Timestamp, policy: EpochPolicy = EpochPolicy(maxRecords: 200, maxDurationSeconds: 86400)) {
        k0 = EpochKey.generateK0()
        hostKey = Curve25519.Signing.PrivateKey()
        sealer = JournalSealer(host: host, key: k0, signingKey: hostKey, nextSeq: 0, head: .zero, epochFirstSeq: 0,
                               epochStartedAt: start, policy: policy)
        random = SplitMix64(seed: seed)
        clock = start
        self.start = start
        self.policy = policy
        let created = sealer.seal(kind: JournalKind.created, payload: ["version": .string(MamoriVersion.current)], time: start)
        pending = [created.line]
    }

    /// Lines made but not yet handed out (the genesis record).
    var pending: [[UInt8]]
    let start: Timestamp
    let policy: EpochPolicy

    /// Names the host the collector assigned at enrolment (`host-…`), as the agent's journal does
    /// (it is created with the host id once enrolment succeeds): the genesis record is sealed again
    /// for that host. Only before any line was handed out (the keys, needed to enrol, stay).
    public mutating func assignHost(_ hostId: String) {
        precondition(pending.count == 1 && sealer.nextSeq == 1, "assignHost after lines were handed out")
        sealer = JournalSealer(host: hostId, key: k0, signingKey: hostKey, nextSeq: 0, head: .zero, epochFirstSeq: 0,
                               epochStartedAt: start, policy: policy)
        pending = [sealer.seal(kind: JournalKind.created, payload: ["version": .string(MamoriVersion.current)], time: start).line]
    }

    /// The next `count` records (checkpoints included) as lines, each with its newline.
    public mutating func nextBatch(_ count: Int) -> [UInt8] {
        var out: [UInt8] = []
        for line in lines(count) {
            out.append(contentsOf: line)
            out.append(0x0A)
        }
        return out
    }

    /// The next `count` records as separate lines (without newlines).
    public mutating func lines(_ count: Int) -> [[UInt8]] {
        var out: [[UInt8]] = []
        out.reserveCapacity(count)
        while out.count < count {
            if !pending.isEmpty {
                out.append(pending.removeFirst())
                continue
            }
            clock = clock.adding(microseconds: Int64(random.next() % 5_000_000))
            if sealer.epochIsDue(now: clock) {
                out.append(sealer.checkpoint(reason: .epochEnd, time: clock).line)
                _ = sealer.advanceEpoch(now: clock)
                continue
            }
            out.append(sealer.seal(kind: Self.kinds[Int(random.next() % UInt64(Self.kinds.count))], payload: payload(), time: clock).line)
        }
        return out
    }

    /// One record of `kind` at `time` (or just after the last record), with any epoch-end
    /// checkpoint due before it: lines ready to ship, each with its newline.
    public mutating func record(kind: String, payload: [String: JSONValue], time: Timestamp? = nil) -> [UInt8] {
        var out: [UInt8] = []
        for line in pending {
            out.append(contentsOf: line)
            out.append(0x0A)
        }
        pending = []
        clock = max(clock.adding(microseconds: 1), time ?? clock)
        if sealer.epochIsDue(now: clock) {
            out.append(contentsOf: sealer.checkpoint(reason: .epochEnd, time: clock).line)
            out.append(0x0A)
            _ = sealer.advanceEpoch(now: clock)
        }
        out.append(contentsOf: sealer.seal(kind: kind, payload: payload, time: clock).line)
        out.append(0x0A)
        return out
    }

    /// A `posture.report` or `posture.changed` record, as the agent writes it.
    public mutating func posture(_ report: PostureReport, time: Timestamp? = nil) -> [UInt8] {
        record(kind: report.kind, payload: report.payload, time: time)
    }

    static let kinds = ["auth.success", "auth.failure", "media.blocked", "media.read-only", "posture.pass", "posture.fail", "profile.applied"]

    mutating func payload() -> [String: JSONValue] {
        [
            "user": .string("user\(random.next() % 500)"),
            "service": .string(["login", "gdm-password", "sudo", "sshd"][Int(random.next() % 4)]),
            "device": .string("/dev/sd\(Character(UnicodeScalar(UInt8(97 + random.next() % 6))))"),
            "n": .int(Int64(random.next() % 100_000)),
        ]
    }
}
