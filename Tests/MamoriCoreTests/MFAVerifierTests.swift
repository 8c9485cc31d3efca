import MamoriCore
import Testing

@Suite struct MFAVerifierTests {
    static let secret = Array("12345678901234567890".utf8)
    static let totp = OTPCredential(factor: .totp, secret: secret, parameters: .standard)!
    static let hotp = OTPCredential(factor: .hotp, secret: secret, parameters: .standard)!
    static let now: Int64 = 1_700_000_000
    static let policy = MFAPolicy(window: 1, hotpLookAhead: 10, lockoutThreshold: 3, lockoutDuration: 900)

    static func code(at time: Int64) -> String {
        OneTimePassword.format(OneTimePassword.totp(secret: secret, unixSeconds: time, parameters: .standard), digits: 6)
    }

    static func hotpCode(_ counter: UInt64) -> String {
        OneTimePassword.format(OneTimePassword.hotp(secret: secret, counter: counter, parameters: .standard), digits: 6)
    }

    static func attempt(_ code: String, _ state: MFAUserState = MFAUserState(), at time: Int64 = now,
                        credential: OTPCredential = totp) -> MFAAttempt {
        MFAVerifier.attempt(code: code, credential: credential, state: state, policy: policy, now: time)
    }

    /// Skew in steps between the token's clock and ours: ±1 accepted with window 1, ±2 refused.
    @Test(arguments: [(-2, false), (-1, true), (0, true), (1, true), (2, false)])
    func skewWithinTheWindowIsAccepted(skew: Int64, accepted: Bool) {
        let result = Self.attempt(Self.code(at: Self.now + skew * 30))
        #expect(result.outcome.isSuccess == accepted)
    }

    @Test func aStepIsAcceptedOnlyOnce() {
        let first = Self.attempt(Self.code(at: Self.now))
        let step = OneTimePassword.timeStep(at: Self.now, parameters: .standard)
        #expect(first.outcome == .accepted(step: step))
        let again = Self.attempt(Self.code(at: Self.now), first.state, at: Self.now + 5)
        #expect(again.outcome == .replayed(failures: 1))
        // An earlier step, still inside the window, is a replay too once a later one was used.
        let earlier = Self.attempt(Self.code(at: Self.now - 30), first.state)
        #expect(earlier.outcome == .replayed(failures: 1))
        let next = Self.attempt(Self.code(at: Self.now + 30), again.state, at: Self.now + 30)
        #expect(next.outcome == .accepted(step: step + 1))
        #expect(next.state.consecutiveFailures == 0)
    }

    @Test(arguments: ["000000", "12345", "abcdef", "", "1234567"])
    func wrongOrMalformedCodesCountAsFailures(code: String) {
        let wrong = code == "000000" && Self.code(at: Self.now) == "000000" ? "111111" : code
        let result = Self.attempt(wrong)
        #expect(result.outcome == .rejected(failures: 1))
        #expect(result.lockoutStarted == nil)
    }

    /// Runs `threshold` wrong codes starting at `time`, returns the state and the lockout's end.
    static func lockOut(_ state: MFAUserState, at time: Int64, policy: MFAPolicy) -> (MFAUserState, Int64?) {
        var state = state
        var started: Int64?
        for offset in 0..<Int64(policy.lockoutThreshold) {
            let result = MFAVerifier.attempt(code: "abcdef", credential: totp, state: state, policy: policy, now: time + offset)
            state = result.state
            started = result.lockoutStarted ?? started
        }
        return (state, started)
    }

    /// Each consecutive lockout doubles (15 min, 30 min, 1 h, ... capped at a day); the last one
    /// allowed (threshold × max_lockouts ≤ 100 failures) holds until an administrator unlocks,
    /// even the right code and even years later. Injected clock: no waiting.
    @Test func consecutiveLockoutsDoubleThenNeedAnAdministrator() throws {
        let policy = MFAPolicy(window: 1, hotpLookAhead: 10, lockoutThreshold: 5, lockoutDuration: 900, maxLockouts: 8)
        var state = MFAUserState()
        var time = Self.now
        var lengths: [Int64] = []
        for lockout in 1...7 {
            let (next, until) = Self.lockOut(state, at: time, policy: policy)
            let end = try #require(until)
            lengths.append(end - (time + 4))
            #expect(next.consecutiveLockouts == lockout)
            #expect(!next.needsAdministratorUnlock)
            // Locked: even the right code is refused until the end.
            let refused = MFAVerifier.attempt(code: Self.code(at: end - 1), credential: Self.totp, state: next, policy: policy, now: end - 1)
            #expect(refused.outcome == .lockedOut(until: end))
            state = next
            time = end
        }
        #expect(lengths == [900, 1800, 3600, 7200, 14_400, 28_800, 57_600])
        // The 8th lockout (40 failures in all) is for good.
        let (final, until) = Self.lockOut(state, at: time, policy: policy)
        #expect(final.needsAdministratorUnlock)
        #expect(until == MFAUserState.lockedUntilUnlocked)
        let tenYears = time + 10 * 365 * 86_400
        let right = MFAVerifier.attempt(code: Self.code(at: tenYears), credential: Self.totp, state: final, policy: policy, now: tenYears)
        #expect(right.outcome == .lockedOut(until: MFAUserState.lockedUntilUnlocked))
        // Only an administrator's unlock (what `mamorictl mfa unlock` does) lets the user in.
        var unlocked = final
        unlocked.lockedUntil = nil
        unlocked.consecutiveFailures = 0
        unlocked.consecutiveLockouts = 0
        #expect(MFAVerifier.attempt(code: Self.code(at: tenYears), credential: Self.totp, state: unlocked, policy: policy, now: tenYears).outcome.isSuccess)
    }

    @Test func aSuccessEndsTheEscalationAndTheCapIsADay() {
        let policy = MFAPolicy(window: 1, hotpLookAhead: 10, lockoutThreshold: 2, lockoutDuration: 3600, maxLockouts: 50)
        #expect(policy.lockoutLength(forLockout: 1) == 3600)
        #expect(policy.lockoutLength(forLockout: 5) == 57_600)
        #expect(policy.lockoutLength(forLockout: 6) == 86_400)
        #expect(policy.lockoutLength(forLockout: 49) == 86_400)
        #expect(policy.lockoutLength(forLockout: 50) == nil)
        var (state, until) = Self.lockOut(MFAUserState(), at: Self.now, policy: policy)
        (state, until) = Self.lockOut(state, at: until!, policy: policy)
        #expect(state.consecutiveLockouts == 2)
        let success = MFAVerifier.attempt(code: Self.code(at: until!), credential: Self.totp, state: state, policy: policy, now: until!)
        #expect(success.outcome.isSuccess)
        #expect(success.state.consecutiveLockouts == 0)
        let (again, end) = Self.lockOut(success.state, at: until! + 60, policy: policy)
        #expect(again.consecutiveLockouts == 1)
        #expect(end == until! + 60 + 1 + 3600)
    }

    /// NIST SP 800-63B: never more than 100 consecutive failures before an administrator must act.
    @Test(arguments: [(5, 10, 10), (5, 100, 20), (100, 10, 1), (30, 7, 3), (1, 1000, 100)])
    func maxLockoutsNeverAllowsMoreThanAHundredFailures(threshold: Int, asked: Int, expected: Int) {
        let policy = MFAPolicy(lockoutThreshold: threshold, maxLockouts: asked)
        #expect(policy.maxLockouts == expected)
        #expect(policy.lockoutThreshold * policy.maxLockouts <= 100)
    }

    @Test func theLockoutCountSurvivesTheStateFileAndTheJournalRecord() throws {
        var state = MFAUserState(consecutiveFailures: 2, lockedUntil: MFAUserState.lockedUntilUnlocked, consecutiveLockouts: 7)
        let record = MFAUserRecord(user: "tanaka", credential: Self.totp, state: state)
        #expect(MFAUserRecord(json: record.json)?.state == state)
        let carried = MFAJournalState(generation: "ab", before: MFAUserState(), after: state)
        let decoded = try #require(MFAJournalState(json: carried.json))
        #expect(decoded.applied(to: MFAUserState()).consecutiveLockouts == 7)
        state.consecutiveLockouts = 0
        #expect(MFAUserRecord(json: MFAUserRecord(user: "tanaka", credential: Self.totp, state: state).json)?.state.consecutiveLockouts == 0)
    }

    @Test func lockoutAfterThresholdRefusesEvenTheRightCode() {
        var state = MFAUserState()
        for failure in 1...3 {
            let result = Self.attempt("abcdef", state, at: Self.now + Int64(failure))
            state = result.state
            #expect(result.outcome == .rejected(failures: failure))
            #expect(result.lockoutStarted == (failure == 3 ? Self.now + 3 + 900 : nil))
        }
        let locked = Self.attempt(Self.code(at: Self.now + 60), state, at: Self.now + 60)
        #expect(locked.outcome == .lockedOut(until: Self.now + 903))
        #expect(locked.state == state)
        // When the lock expires the count starts again and the right code works.
        let later = Self.now + 903
        let after = Self.attempt(Self.code(at: later), state, at: later)
        #expect(after.outcome.isSuccess)
        #expect(after.state.lockedUntil == nil)
        #expect(after.state.consecutiveFailures == 0)
    }

    @Test func successResetsTheFailureCount() {
        let failed = Self.attempt("abcdef")
        let success = Self.attempt(Self.code(at: Self.now), failed.state)
        #expect(success.outcome.isSuccess)
        #expect(success.state.consecutiveFailures == 0)
    }

    @Test(arguments: [0, 1, 10])
    func hotpLookAheadResynchronises(ahead: UInt64) {
        let state = MFAUserState(hotpCounter: 5)
        let result = Self.attempt(Self.hotpCode(5 + ahead), state, credential: Self.hotp)
        #expect(result.outcome == .accepted(step: Int64(5 + ahead)))
        #expect(result.state.hotpCounter == 6 + ahead)
    }

    @Test func hotpBeyondLookAheadOrBehindIsRefused() {
        let state = MFAUserState(hotpCounter: 5)
        #expect(!Self.attempt(Self.hotpCode(16), state, credential: Self.hotp).outcome.isSuccess)
        #expect(Self.attempt(Self.hotpCode(4), state, credential: Self.hotp).outcome == .replayed(failures: 1))
    }

    @Test func hotpTwoCodeResyncFindsAFarCounter() throws {
        let state = MFAUserState(hotpCounter: 0, consecutiveFailures: 2)
        let synced = try #require(MFAVerifier.resynchronizeHOTP(first: Self.hotpCode(500), second: Self.hotpCode(501),
                                                                credential: Self.hotp, state: state))
        #expect(synced.hotpCounter == 502)
        #expect(synced.consecutiveFailures == 0)
        #expect(MFAVerifier.resynchronizeHOTP(first: Self.hotpCode(500), second: Self.hotpCode(502),
                                              credential: Self.hotp, state: state) == nil)
        #expect(MFAVerifier.resynchronizeHOTP(first: Self.hotpCode(1), second: Self.hotpCode(2),
                                              credential: Self.totp, state: state) == nil)
    }

    @Test func recoveryCodesWorkOnce() throws {
        let salt = [UInt8](repeating: 1, count: RecoveryCode.saltLength)
        let codes = ["abcd-efgh-jkmn", "pqrs-tuvw-xyz2"]
        let state = MFAUserState(recoveryCodes: try codes.map { try #require(RecoveryCode.hashed($0, salt: salt)) })
        let used = Self.attempt("PQRS-TUVW-XYZ2", state)
        #expect(used.outcome == .recoveryAccepted(remaining: 1))
        let again = Self.attempt("pqrs-tuvw-xyz2", used.state)
        #expect(again.outcome == .rejected(failures: 1))
        var disabled = Self.policy
        disabled.recoveryCodesEnabled = false
        let refused = MFAVerifier.attempt(code: codes[0], credential: Self.totp, state: state, policy: disabled, now: Self.now)
        #expect(refused.outcome == .rejected(failures: 1))
    }

    @Test func policyFromTheProfileClampsAndDerivesLookAhead() {
        let policy = MFAPolicy(rules: .default)
        #expect(policy.window == 1 && policy.hotpLookAhead == 10 && policy.lockoutThreshold == 5 && policy.lockoutDuration == 900)
        let wild = MFAPolicy(window: 1000, hotpLookAhead: -5, lockoutThreshold: 0, lockoutDuration: 0)
        #expect(wild.window == 5 && wild.hotpLookAhead == 0 && wild.lockoutThreshold == 1 && wild.lockoutDuration == 1)
    }

    @Test func userRecordRoundTripsAndRefusesDamage() throws {
        let salt = [UInt8](repeating: 3, count: RecoveryCode.saltLength)
        let state = MFAUserState(lastAcceptedStep: 42, hotpCounter: 7, consecutiveFailures: 2, lockedUntil: 99,
                                 recoveryCodes: [try #require(RecoveryCode.hashed("abcd-efgh-jkmn", salt: salt))])
        let record = MFAUserRecord(user: "tanaka", credential: Self.totp, state: state)
        #expect(MFAUserRecord(bytes: record.canonicalBytes) == record)
        #expect(MFAUserRecord(bytes: Array("{}".utf8)) == nil)
        #expect(MFAUserRecord(bytes: Array("garbage".utf8)) == nil)
        var json = try #require(record.json.objectValue)
        json["digits"] = .int(9)
        #expect(MFAUserRecord(json: .object(json)) == nil)
        json["digits"] = .int(6)
        json["secret"] = .string("00")
        #expect(MFAUserRecord(json: .object(json)) == nil)
    }
}
