import Crypto
import Foundation

/// The journal's cryptographic rules, in one place. docs/journal-format.md spells out each line.
public enum JournalCrypto {
    static let recordDomain: [UInt8] = Array("mamori-journal-v1/record\n".utf8)
    static let macDomain: [UInt8] = Array("mamori-journal-v1/mac\n".utf8)
    static let evolveDomain: [UInt8] = Array("mamori-journal-v1/evolve\n".utf8)
    static let checkpointDomain: [UInt8] = Array("mamori-journal-v1/checkpoint\n".utf8)

    /// SHA-256("mamori-journal-v1/record\n" ‖ body): the record's hash, which the next record's
    /// `prev` names. The body is the canonical record without its `mac` member.
    public static func recordHash(body: some Sequence<UInt8>) -> Digest32 {
        var hasher = SHA256()
        hasher.update(data: recordDomain)
        hasher.update(data: Array(body))
        return hasher.finalize().withUnsafeBytes { Digest32(raw: $0) }
    }

    static func recordHash(bodyPrefix: UnsafeBufferPointer<UInt8>) -> Digest32 {
        var hasher = SHA256()
        hasher.update(data: recordDomain)
        hasher.update(bufferPointer: UnsafeRawBufferPointer(bodyPrefix))
        hasher.update(data: [UInt8(ascii: "}")])
        return hasher.finalize().withUnsafeBytes { Digest32(raw: $0) }
    }

    /// K(e+1) = HMAC-SHA256(K(e), "mamori-journal-v1/evolve\n" ‖ u64be(e+1)).
    public static func evolve(_ key: EpochKey) -> EpochKey {
        var message = evolveDomain
        message.append(contentsOf: bigEndianBytes(key.epoch + 1))
        let next = HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: key.keyBytes))
        return EpochKey(epoch: key.epoch + 1, keyBytes: Array(next))
    }

    static func bigEndianBytes(_ value: UInt64) -> [UInt8] {
        var out: [UInt8] = []
        for shift in stride(from: 56, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: value >> UInt64(shift))) }
        return out
    }

    /// The message a checkpoint signs: domain ‖ u32be(len(host)) ‖ host ‖ u64be(records) ‖ head ‖ u64be(epoch).
    public static func checkpointMessage(host: String, records: UInt64, head: Digest32, epoch: UInt64) -> [UInt8] {
        var message = checkpointDomain
        let hostBytes = Array(host.utf8)
        message.append(contentsOf: bigEndianBytes(UInt64(hostBytes.count)).suffix(4))
        message.append(contentsOf: hostBytes)
        message.append(contentsOf: bigEndianBytes(records))
        message.append(contentsOf: head.bytes)
        message.append(contentsOf: bigEndianBytes(epoch))
        return message
    }
}

/// One epoch's MAC key. K0 is made at enrolment and handed to the collector; each later key is
/// derived one-way from the one before, and the writer erases the old one.
public struct EpochKey: Sendable, Equatable {
    public let epoch: UInt64
    public let keyBytes: [UInt8]
    let authenticator: HMAC<SHA256>

    public init(epoch: UInt64, keyBytes: [UInt8]) {
        precondition(keyBytes.count == 32, "epoch keys are 32 bytes")
        self.epoch = epoch
        self.keyBytes = keyBytes
        var authenticator = HMAC<SHA256>(key: SymmetricKey(data: keyBytes))
        authenticator.update(data: JournalCrypto.macDomain)
        self.authenticator = authenticator
    }

    public static func == (lhs: EpochKey, rhs: EpochKey) -> Bool {
        lhs.epoch == rhs.epoch && lhs.keyBytes == rhs.keyBytes
    }

    /// A fresh K0 from the system's secure random generator.
    public static func generateK0() -> EpochKey {
        EpochKey(epoch: 0, keyBytes: SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) })
    }

    /// MAC = HMAC-SHA256(K(e), "mamori-journal-v1/mac\n" ‖ recordHash).
    public func mac(recordHash: Digest32) -> Digest32 {
        var copy = authenticator
        withUnsafeBytes(of: recordHash.storage) { copy.update(data: $0) }
        return copy.finalize().withUnsafeBytes { Digest32(raw: $0) }
    }

    public func evolved() -> EpochKey { JournalCrypto.evolve(self) }
}

/// Derives keys for a verifier that holds K0, caching every epoch it has reached.
public struct EpochKeyChain: Sendable {
    private var keys: [EpochKey]

    public init(k0: EpochKey) {
        precondition(k0.epoch == 0)
        keys = [k0]
    }

    public init(startingAt key: EpochKey) { keys = [key] }

    /// The key of `epoch`, or nil if the epoch is before this chain's first key (forward security:
    /// nobody can go back) or absurdly far ahead (more than a million evolutions).
    public mutating func key(for epoch: UInt64) -> EpochKey? {
        let first = keys[0].epoch
        guard epoch >= first, epoch - first < 1_000_000 else { return nil }
        let index = Int(epoch - first)
        while keys.count <= index { keys.append(keys[keys.count - 1].evolved()) }
        return keys[index]
    }

    public var highestDerivedEpoch: UInt64 { keys[keys.count - 1].epoch }
}
