import Crypto
import MamoriCore

/// Builds journals in memory with the real sealer, for the verifier's tests.
struct TestJournal {
    var lines: [[UInt8]]
    let k0: EpochKey
    let signingKey: Curve25519.Signing.PrivateKey
    let host: String

    var source: InMemoryJournalSource { InMemoryJournalSource(lines: lines) }
    var head: JournalHead {
        let parsed = try! JournalLineParser.parse(lines[lines.count - 1])
        return JournalHead(seq: parsed.seq, hash: parsed.hash)
    }

    static func make(records: Int, epochRecords: UInt64 = 10, seed: UInt8 = 7) -> TestJournal {
        let k0 = EpochKey(epoch: 0, keyBytes: (0..<32).map { UInt8($0) &+ seed })
        let signingKey = try! Curve25519.Signing.PrivateKey(rawRepresentation: (0..<32).map { UInt8($0) &* 3 &+ seed })
        var sealer = JournalSealer(host: "pc-001", key: k0, signingKey: signingKey, nextSeq: 0, head: .zero, epochFirstSeq: 0,
                                   epochStartedAt: Timestamp(secondsSinceEpoch: 1_775_000_000),
                                   policy: EpochPolicy(maxRecords: epochRecords, maxDurationSeconds: 900))
        var lines: [[UInt8]] = []
        var now = Timestamp(secondsSinceEpoch: 1_775_000_000)
        while lines.count < records {
            if sealer.epochIsDue(now: now) {
                lines.append(sealer.checkpoint(reason: .epochEnd, time: now).line)
                _ = sealer.advanceEpoch(now: now)
                continue
            }
            let n = lines.count
            lines.append(sealer.seal(kind: n % 3 == 0 ? "media.decision" : "auth.success",
                                     payload: ["n": .int(Int64(n)), "user": .string("職員\(n % 5)"), "device": .string("/dev/sd\(n % 4)")],
                                     time: now).line)
            now = now.adding(seconds: 1)
        }
        return TestJournal(lines: lines, k0: k0, signingKey: signingKey, host: "pc-001")
    }

    func verify(expectedHead: JournalHead? = nil, lines override: [[UInt8]]? = nil) throws -> JournalVerificationReport {
        var verifier = JournalVerifier(k0: k0, hostKey: signingKey.publicKey, expectedHead: expectedHead)
        return try verifier.verify(InMemoryJournalSource(lines: override ?? lines))
    }

    func key(epoch: UInt64) -> EpochKey {
        var chain = EpochKeyChain(k0: k0)
        return chain.key(for: epoch)!
    }

    func record(_ index: Int) -> JournalRecord { try! JournalLineParser.decode(lines[index]) }
}

/// Deterministic randomness for the tamper matrix.
typealias SeededRandom = SplitMix64
