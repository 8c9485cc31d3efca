import MamoriCore
import Testing

/// The state a login's journal record carries, and its replay over a state file.
@Suite struct MFAJournalStateTests {
    static let credential = OTPCredential(factor: .totp, secret: Array("12345678901234567890".utf8), parameters: .standard)!
    static func recovery(_ byte: UInt8) -> RecoveryCodeHash {
        RecoveryCode.hashed("abcd-efgh-jkm\(byte)", salt: [UInt8](repeating: byte, count: RecoveryCode.saltLength))!
    }

    @Test func roundTripsAndNamesOnlyTheUsedRecoverySalt() throws {
        let before = MFAUserState(lastAcceptedStep: 7, hotpCounter: 3, recoveryCodes: [Self.recovery(1), Self.recovery(2)])
        var after = before
        after.recoveryCodes.remove(at: 1)
        after.consecutiveFailures = 0
        after.lockedUntil = 99
        let state = MFAJournalState(generation: "0a1b", before: before, after: after)
        #expect(state.recoveryCodeUsed == Self.recovery(2).salt)
        #expect(MFAJournalState(json: state.json) == state)
        // No digest of a recovery code ever goes into the journal.
        #expect(!String(decoding: state.json.canonicalBytes, as: UTF8.self).contains(Self.recovery(2).digest.hex))
        #expect(state.applied(to: before) == after)
    }

    @Test(arguments: [
        ["generation": JSONValue.int(1)], ["hotp_counter": .int(1)], ["failures": .int(-1)], ["last_step": .string("x")],
        ["recovery_used": .string("00")], ["generation": .string("XYZ")],
    ])
    func rejectsMembersOfTheWrongType(_ change: [String: JSONValue]) {
        let valid = MFAJournalState(generation: "ab", before: MFAUserState(), after: MFAUserState()).json
        guard case .object(let members) = valid else { return }
        #expect(MFAJournalState(json: .object(members.merging(change) { _, new in new })) == nil)
    }

    @Test func replayAppliesOnlyTheFilesGenerationFromItsSeqOn() {
        let record = MFAUserRecord(user: "tanaka", credential: Self.credential, state: MFAUserState(consecutiveFailures: 1),
                                   generation: "aa", journalSeq: 10)
        func entry(_ seq: UInt64, failures: Int, generation: String = "aa") -> (seq: UInt64, state: MFAJournalState) {
            (seq, MFAJournalState(generation: generation, before: MFAUserState(), after: MFAUserState(consecutiveFailures: failures)))
        }
        // Out of order on purpose; seq 9 is older than the file, generation "bb" is another enrolment.
        let (replayed, changed) = MFAJournalReplay.replay(record, entries: [
            entry(14, failures: 3), entry(9, failures: 7), entry(12, failures: 2), entry(15, failures: 9, generation: "bb"),
        ])
        #expect(changed)
        #expect(replayed.state.consecutiveFailures == 3)
        #expect(replayed.journalSeq == 15)
        // The file's own record again: nothing changes.
        #expect(MFAJournalReplay.replay(replayed, entries: [entry(14, failures: 3)]).changed == false)
    }

    @Test func recordsKeepGenerationAndSeqAndOldFilesStillRead() throws {
        let record = MFAUserRecord(user: "tanaka", credential: Self.credential, generation: "00ff", journalSeq: 42)
        #expect(MFAUserRecord(bytes: record.canonicalBytes) == record)
        let old = MFAUserRecord(user: "tanaka", credential: Self.credential)
        #expect(!String(decoding: old.canonicalBytes, as: UTF8.self).contains("generation"))
        #expect(MFAUserRecord(bytes: old.canonicalBytes) == old)
    }
}
