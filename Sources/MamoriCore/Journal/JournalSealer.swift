public import Crypto

/// When an epoch ends: after `maxRecords` records or `maxDuration`, whichever comes first.
public struct EpochPolicy: Sendable, Equatable {
    public var maxRecords: UInt64
    public var maxDurationMicroseconds: Int64

    public init(maxRecords: UInt64 = 1000, maxDurationSeconds: Int64 = 15 * 60) {
        precondition(maxRecords >= 2, "an epoch holds at least one record and its checkpoint")
        self.maxRecords = maxRecords
        self.maxDurationMicroseconds = maxDurationSeconds * 1_000_000
    }

    public static let `default` = EpochPolicy()
}

/// A record sealed and ready to append: its line (no newline), seq and hash.
public struct SealedRecord: Sendable {
    public var line: [UInt8]
    public var seq: UInt64
    public var hash: Digest32
    public var kind: String
}

/// The writer's pure state machine: numbers, links, MACs and signs records, and evolves the
/// epoch key. It touches no files: the agent's `JournalStore` persists what it returns.
public struct JournalSealer {
    public let host: String
    public private(set) var key: EpochKey
    public private(set) var nextSeq: UInt64
    public private(set) var head: Digest32
    /// First seq of the current epoch.
    public private(set) var epochFirstSeq: UInt64
    public private(set) var epochStartedAt: Timestamp
    public var policy: EpochPolicy
    private let signingKey: Curve25519.Signing.PrivateKey

    public init(host: String, key: EpochKey, signingKey: Curve25519.Signing.PrivateKey, nextSeq: UInt64, head: Digest32,
                epochFirstSeq: UInt64, epochStartedAt: Timestamp, policy: EpochPolicy = .default) {
        self.host = host
        self.key = key
        self.signingKey = signingKey
        self.nextSeq = nextSeq
        self.head = head
        self.epochFirstSeq = epochFirstSeq
        self.epochStartedAt = epochStartedAt
        self.policy = policy
    }

    public var recordsInEpoch: UInt64 { nextSeq - epochFirstSeq }

    /// True when the epoch has reached its record count or its age and must be closed now.
    public func epochIsDue(now: Timestamp) -> Bool {
        recordsInEpoch + 1 >= policy.maxRecords
            || (recordsInEpoch > 0 && now.microsecondsSinceEpoch - epochStartedAt.microsecondsSinceEpoch >= policy.maxDurationMicroseconds)
    }

    /// Seals one event into the next record.
    public mutating func seal(kind: String, payload: [String: JSONValue], time: Timestamp) -> SealedRecord {
        var record = JournalRecord(seq: nextSeq, time: time, host: host, kind: kind, epoch: key.epoch, prev: head, payload: payload)
        let hash = record.seal(with: key)
        let sealed = SealedRecord(line: record.line, seq: nextSeq, hash: hash, kind: kind)
        nextSeq += 1
        head = hash
        return sealed
    }

    /// A checkpoint: an ordinary record whose payload carries an Ed25519 signature over
    /// (host, records before it, head, epoch).
    public mutating func checkpoint(reason: CheckpointReason, time: Timestamp) -> SealedRecord {
        let message = JournalCrypto.checkpointMessage(host: host, records: nextSeq, head: head, epoch: key.epoch)
        let signature = (try? signingKey.signature(for: message)).map { Array($0) } ?? []
        let payload: [String: JSONValue] = [
            "epoch": .int(Int64(key.epoch)),
            "head": .string(head.hex),
            "reason": .string(reason.rawValue),
            "records": .int(Int64(nextSeq)),
            "sig": .string(Hex.encode(signature)),
        ]
        return seal(kind: JournalKind.checkpoint, payload: payload, time: time)
    }

    /// Moves to the next epoch. The caller must have appended an epoch-end checkpoint and must
    /// persist the returned key, erasing the old one.
    public mutating func advanceEpoch(now: Timestamp) -> EpochKey {
        key = key.evolved()
        epochFirstSeq = nextSeq
        epochStartedAt = now
        return key
    }
}
