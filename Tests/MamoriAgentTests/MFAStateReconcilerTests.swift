import Crypto
import Foundation
import MamoriAgent
import MamoriAuthWire
import MamoriCore
import Testing

/// A login syncs only its journal record; the state file is written without a sync. These tests
/// play the crash that loses the state file's last renames (an older file put back, or an empty
/// one) and check that the start-up reconciliation brings back exactly what the journal says:
/// no replay accepted, no failure or lockout forgotten, no recovery code usable twice.
@Suite struct MFAStateReconcilerTests {
    static let secret = Array("12345678901234567890".utf8)
    static let start: Int64 = 1_800_000_000
    static let root = PeerCredentials(pid: 10, uid: 0, gid: 0)
    let directory: String
    let paths: JournalPaths
    let store: MFAStore
    let rules: MFARules

    init() throws {
        directory = NSTemporaryDirectory() + "mamori-reconcile-\(UUID().uuidString)"
        paths = JournalPaths(journalDirectory: directory + "/journal", keyDirectory: directory + "/keys")
        store = MFAStore(directory: directory + "/mfa")
        try store.prepare()
        var rules = MFARules.default
        rules.lockoutThreshold = 3
        self.rules = rules
        _ = try JournalStore.create(paths: paths, host: "pc-7", k0: EpochKey.generateK0(),
                                    hostKey: Curve25519.Signing.PrivateKey(), now: Timestamp(secondsSinceEpoch: Self.start))
    }

    func cleanUp() { try? FileManager.default.removeItem(atPath: directory) }

    static func code(at time: Int64) -> String {
        OneTimePassword.format(OneTimePassword.totp(secret: secret, unixSeconds: time, parameters: .standard), digits: 6)
    }

    func enroll(_ user: String = "tanaka", recoveryCodes: [String] = []) throws {
        let credential = try #require(OTPCredential(factor: .totp, secret: Self.secret, parameters: .standard))
        let hashes = try recoveryCodes.enumerated().map { index, code in
            try #require(RecoveryCode.hashed(code, salt: [UInt8](repeating: UInt8(index + 1), count: RecoveryCode.saltLength)))
        }
        try store.write(MFAUserRecord(user: user, credential: credential, state: MFAUserState(recoveryCodes: hashes)))
    }

    /// Runs `body` against an agent session: the journal opened (as at start), reconciled, then
    /// the service; the journal is dropped unclosed at the end, as a crash leaves it.
    @discardableResult
    func session(lockoutThreshold: Int? = nil, _ body: (AuthService) throws -> Void = { _ in }) throws -> [MFAStateRestore] {
        let journal = try JournalStore.open(paths: paths, now: Timestamp(secondsSinceEpoch: Self.start))
        let restored = try MFAStateReconciler.reconcile(store: store, journalDirectory: paths.journalDirectory)
        var rules = self.rules
        if let lockoutThreshold { rules.lockoutThreshold = lockoutThreshold }
        try body(AuthService(store: store, rules: rules, journal: journal))
        return restored
    }

    static func ask(_ service: AuthService, code: String, at time: Int64 = start, user: String = "tanaka") -> AuthResponse.Status {
        service.handle(AuthRequest(user: user, service: "login", tty: "tty1", code: code), peer: root,
                       now: Timestamp(secondsSinceEpoch: time)).status
    }

    /// The crash: every state-file write since `bytes` was taken is lost.
    func putBack(_ bytes: [UInt8], user: String = "tanaka") throws {
        try FileSystem.writeFileAtomically(store.recordPath(user), bytes, mode: 0o600)
    }

    func fileBytes(_ user: String = "tanaka") throws -> [UInt8] { try FileSystem.readFile(store.recordPath(user)) }

    @Test func aReplayIsRefusedAfterTheStateFileWasSetBack() throws {
        defer { cleanUp() }
        try enroll()
        let enrolled = try fileBytes()
        let code = Self.code(at: Self.start)
        try session { (service: AuthService) throws in
            #expect(Self.ask(service, code: "000000") == .rejected)
            #expect(Self.ask(service, code: code) == .accepted)
            #expect(Self.ask(service, code: "000000") == .rejected)
        }
        let before = try #require(try store.read("tanaka"))
        try putBack(enrolled)
        // Without the journal the old file would take the code again: the crash is real.
        let stale = try #require(try store.read("tanaka"))
        #expect(MFAVerifier.attempt(code: code, credential: stale.credential, state: stale.state, policy: .default,
                                    now: Self.start + 1).outcome.isSuccess)

        let restored = try session { (service: AuthService) throws in
            #expect(try store.read("tanaka")?.state == before.state)
            #expect(Self.ask(service, code: code, at: Self.start + 1) == .replayed)
        }
        #expect(restored.map(\.user) == ["tanaka"])
        #expect(restored.first?.fromSnapshot == false)
        let state = try #require(try store.read("tanaka")?.state)
        #expect(state.lastAcceptedStep == OneTimePassword.timeStep(at: Self.start, parameters: .standard))
        #expect(state.consecutiveFailures == 2)
    }

    @Test func aLockoutAndItsExactEndSurviveTheCrash() throws {
        defer { cleanUp() }
        try enroll()
        let enrolled = try fileBytes()
        try session { (service: AuthService) throws in
            for offset in 0..<3 { #expect(Self.ask(service, code: "000000", at: Self.start + Int64(offset)) == .rejected) }
        }
        let lockedUntil = try #require(try store.read("tanaka")?.state.lockedUntil)
        #expect(lockedUntil == Self.start + 2 + rules.lockoutDuration)
        try putBack(enrolled)
        try session { (service: AuthService) throws in
            #expect(Self.ask(service, code: Self.code(at: Self.start + 10), at: Self.start + 10) == .lockedOut)
        }
        let state = try #require(try store.read("tanaka")?.state)
        #expect(state.lockedUntil == lockedUntil)
        #expect(state.consecutiveFailures == 3)
    }

    /// Counts from attempts before and after a crash add up: nothing is lost in between.
    @Test func failureCountsAddUpAcrossCrashes() throws {
        defer { cleanUp() }
        try enroll()
        for round in 0..<3 {
            let before = try fileBytes()
            try session(lockoutThreshold: 10) { (service: AuthService) throws in
                for offset in 0..<2 {
                    #expect(Self.ask(service, code: "000000", at: Self.start + Int64(round * 2 + offset)) == .rejected)
                }
            }
            try putBack(before)
        }
        try session()
        #expect(try store.read("tanaka")?.state.consecutiveFailures == 6)
    }

    @Test func anEmptiedStateFileIsRebuiltFromItsSnapshotAndTheJournal() throws {
        defer { cleanUp() }
        try enroll()
        let code = Self.code(at: Self.start)
        try session { (service: AuthService) throws in #expect(Self.ask(service, code: code) == .accepted) }
        // A file system without ext4's flush-on-rename can leave the renamed file empty.
        try putBack([])
        let restored = try session { (service: AuthService) throws in
            #expect(Self.ask(service, code: code, at: Self.start + 1) == .replayed)
        }
        #expect(restored.first?.fromSnapshot == true)
        #expect(try store.read("tanaka")?.state.lastAcceptedStep == OneTimePassword.timeStep(at: Self.start, parameters: .standard))
    }

    /// A login overwrites the file in place; a crash can leave it torn: the new bytes with the old
    /// file's tail after them (before the truncate), or the old file's first part with the new
    /// one's end (a write torn at a sector). Either way the user's state comes back exactly.
    @Test(arguments: ["new-then-old-tail", "old-head-new-tail"])
    func aTornInPlaceWriteIsRepaired(shape: String) throws {
        defer { cleanUp() }
        try enroll()
        let enrolled = try fileBytes()
        let code = Self.code(at: Self.start)
        try session { (service: AuthService) throws in
            #expect(Self.ask(service, code: "000000") == .rejected)
            #expect(Self.ask(service, code: code) == .accepted)
        }
        let after = try fileBytes()
        let expected = try #require(try store.read("tanaka")?.state)
        let torn: [UInt8]
        switch shape {
        case "new-then-old-tail":
            // The login's bytes were written but the file was not yet cut to their length.
            torn = after + Array(repeating: UInt8(ascii: " "), count: 3) + Array(enrolled.suffix(40))
        default:
            let half = min(enrolled.count, after.count) / 2
            torn = Array(enrolled.prefix(half)) + Array(after.dropFirst(half))
        }
        try putBack(torn)
        // Start-up repair first: the state is exactly what the acknowledged logins left.
        try session()
        let repaired = try #require(try store.read("tanaka"))
        #expect(repaired.state == expected)
        #expect(repaired.credential == (try #require(try store.readSnapshot("tanaka"))).credential)
        try session { (service: AuthService) throws in
            #expect(Self.ask(service, code: code, at: Self.start + 1) == .replayed)
        }
        #expect(try store.read("tanaka")?.state.lastAcceptedStep == expected.lastAcceptedStep)
    }

    /// The digest line is what catches a tear that still parses (the old file's head, the new
    /// file's tail: here a longer, wrong secret).
    @Test func aStateFileWhoseDigestDoesNotMatchIsCorrupt() throws {
        defer { cleanUp() }
        try enroll()
        var bytes = try fileBytes()
        let needle = Array("\"secret\":\"".utf8)
        let found = try #require((0...(bytes.count - needle.count)).first { Array(bytes[$0..<($0 + needle.count)]) == needle })
        let at = found + needle.count
        bytes[at] = bytes[at] == UInt8(ascii: "3") ? UInt8(ascii: "4") : UInt8(ascii: "3")
        try putBack(bytes)
        #expect(throws: MFAStoreError.self) { try store.read("tanaka") }
    }

    /// The login path writes in place: same inode, no temp file left, and `readLocked` agrees.
    @Test func aLoginOverwritesTheStateFileInPlace() throws {
        defer { cleanUp() }
        try enroll()
        let before = try FileManager.default.attributesOfItem(atPath: store.recordPath("tanaka"))[.systemFileNumber] as? Int
        try session { (service: AuthService) throws in #expect(Self.ask(service, code: "000000") == .rejected) }
        let after = try FileManager.default.attributesOfItem(atPath: store.recordPath("tanaka"))[.systemFileNumber] as? Int
        #expect(before != nil && before == after)
        #expect(try FileManager.default.contentsOfDirectory(atPath: store.directory).allSatisfy { !$0.contains(".tmp-") })
        #expect(try store.readLocked("tanaka")?.state.consecutiveFailures == 1)
    }

    @Test func aUsedRecoveryCodeStaysUsed() throws {
        defer { cleanUp() }
        let codes = ["abcd-efgh-jkmn", "pqrs-tuvw-xyz2", "mnpq-rstu-vwxy"]
        try enroll(recoveryCodes: codes)
        let enrolled = try fileBytes()
        try session { (service: AuthService) throws in #expect(Self.ask(service, code: codes[1]) == .accepted) }
        try putBack(enrolled)
        try session { (service: AuthService) throws in
            #expect(Self.ask(service, code: codes[1], at: Self.start + 1) == .rejected)
            #expect(Self.ask(service, code: codes[2], at: Self.start + 2) == .accepted)
        }
        #expect(try store.read("tanaka")?.state.recoveryCodes.count == 1)
    }

    /// An administrator's change starts a new generation: older login records never undo it.
    @Test func anAdministratorsUnlockIsNotUndoneByOlderRecords() throws {
        defer { cleanUp() }
        try enroll()
        try session { (service: AuthService) throws in
            for _ in 0..<3 { #expect(Self.ask(service, code: "000000") == .rejected) }
        }
        try store.update("tanaka") { record -> (MFAUserRecord?, Void) in
            guard var record else { return (nil, ()) }
            record.state.lockedUntil = nil
            record.state.consecutiveFailures = 0
            return (record, ())
        }
        let restored = try session { (service: AuthService) throws in
            #expect(Self.ask(service, code: Self.code(at: Self.start + 5), at: Self.start + 5) == .accepted)
        }
        #expect(restored.isEmpty)
    }

    @Test func eachLoginRecordCarriesTheStateButNeverTheCodeOrTheSecret() throws {
        defer { cleanUp() }
        try enroll()
        let code = Self.code(at: Self.start)
        try session { (service: AuthService) throws in
            #expect(Self.ask(service, code: code) == .accepted)
            #expect(Self.ask(service, code: "123456") == .rejected)
        }
        let states = try MFAStateReconciler.journalStates(journalDirectory: paths.journalDirectory, from: 0)["tanaka"] ?? []
        #expect(states.map(\.state.consecutiveFailures) == [0, 1])
        let record = try #require(try store.read("tanaka"))
        #expect(states.allSatisfy { $0.state.generation == record.generation && !record.generation.isEmpty })
        // The file's journalSeq never runs ahead of the record describing its state.
        #expect(record.journalSeq <= states.last?.seq ?? 0)
        let text = try JournalDirectory(path: paths.journalDirectory).segments
            .map { String(decoding: try FileSystem.readFile($0.path), as: UTF8.self) }.joined()
        #expect(!text.contains(code) && !text.contains("123456"))
        #expect(!text.contains(Hex.encode(Self.secret)))
    }

    /// syncAll leaves every file with a synced snapshot equal to it (what pruning relies on).
    @Test func syncAllSnapshotsEveryFile() throws {
        defer { cleanUp() }
        try enroll()
        try enroll("suzuki")
        try session { (service: AuthService) throws in #expect(Self.ask(service, code: "000000") == .rejected) }
        #expect(try store.readSnapshot("tanaka") != store.read("tanaka"))
        #expect(try store.syncAll().isEmpty)
        for user in ["tanaka", "suzuki"] { #expect(try store.readSnapshot(user) == store.read(user)) }
        #expect(try store.remove("tanaka"))
        #expect(!FileManager.default.fileExists(atPath: store.snapshotPath("tanaka")))
    }
}
