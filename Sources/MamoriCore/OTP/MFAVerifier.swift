/// One user's OATH secret: which kind of token, the shared key and its parameters.
public struct OTPCredential: Sendable, Equatable {
    public var factor: OTPFactor
    public var secret: [UInt8]
    public var parameters: OTPParameters

    public init?(factor: OTPFactor, secret: [UInt8], parameters: OTPParameters) {
        guard OneTimePassword.secretByteRange.contains(secret.count) else { return nil }
        self.factor = factor
        self.secret = secret
        self.parameters = parameters
    }
}

/// What the verifier remembers about a user between logins.
public struct MFAUserState: Sendable, Equatable {
    /// The last TOTP step accepted: that step and every earlier one are refused (replay).
    public var lastAcceptedStep: Int64?
    /// The next HOTP counter expected from the token.
    public var hotpCounter: UInt64
    public var consecutiveFailures: Int
    /// Unix seconds until which every attempt is refused.
    public var lockedUntil: Int64?
    /// Unused recovery codes; a used one is removed.
    public var recoveryCodes: [RecoveryCodeHash]
    /// Lockouts since the last success: each doubles the next one's length, and the last allowed
    /// one (`MFAPolicy.maxLockouts`) lasts until an administrator unlocks the account.
    public var consecutiveLockouts: Int

    public init(lastAcceptedStep: Int64? = nil, hotpCounter: UInt64 = 0, consecutiveFailures: Int = 0,
                lockedUntil: Int64? = nil, recoveryCodes: [RecoveryCodeHash] = [], consecutiveLockouts: Int = 0) {
        self.lastAcceptedStep = lastAcceptedStep
        self.hotpCounter = hotpCounter
        self.consecutiveFailures = consecutiveFailures
        self.lockedUntil = lockedUntil
        self.recoveryCodes = recoveryCodes
        self.consecutiveLockouts = consecutiveLockouts
    }

    /// `lockedUntil` for a lockout only an administrator's unlock ends.
    public static let lockedUntilUnlocked = Int64.max

    /// True when only an administrator's unlock ends the lockout.
    public var needsAdministratorUnlock: Bool { lockedUntil == Self.lockedUntilUnlocked }
}

/// The profile's rules as the verifier needs them.
public struct MFAPolicy: Sendable, Equatable {
    /// TOTP steps accepted either side of now.
    public var window: Int
    /// HOTP counters accepted ahead of the expected one (RFC 4226 §7.4 look-ahead).
    public var hotpLookAhead: Int
    public var lockoutThreshold: Int
    public var lockoutDuration: Int64
    /// Consecutive lockouts before only an administrator can unlock; threshold × this ≤ 100.
    public var maxLockouts: Int
    public var recoveryCodesEnabled: Bool
    /// The longest a timed lockout lasts, however often it doubled.
    public static let maxLockoutDuration: Int64 = 86_400

    public init(window: Int = 1, hotpLookAhead: Int = 10, lockoutThreshold: Int = 5, lockoutDuration: Int64 = 900,
                maxLockouts: Int = 10, recoveryCodesEnabled: Bool = true) {
        // Clamped rather than trusted, so no caller can make the verifier loop forever or never lock.
        self.window = min(max(window, 0), 5)
        self.hotpLookAhead = min(max(hotpLookAhead, 0), 100)
        self.lockoutThreshold = min(max(lockoutThreshold, 1), 100)
        self.lockoutDuration = min(max(lockoutDuration, 1), Self.maxLockoutDuration)
        // NIST SP 800-63B: at most 100 consecutive failures in all before an administrator steps in.
        self.maxLockouts = min(max(maxLockouts, 1), max(1, 100 / self.lockoutThreshold))
        self.recoveryCodesEnabled = recoveryCodesEnabled
    }

    public init(rules: MFARules) {
        self.init(window: rules.window, hotpLookAhead: rules.window * 10, lockoutThreshold: rules.lockoutThreshold,
                  lockoutDuration: rules.lockoutDuration, maxLockouts: rules.maxLockouts, recoveryCodesEnabled: rules.recoveryCodesEnabled)
    }

    /// How long the `lockout`-th consecutive lockout lasts (1 for the first): the base duration
    /// doubled each time, capped at a day; nil for the last one, which needs an administrator.
    public func lockoutLength(forLockout lockout: Int) -> Int64? {
        guard lockout < maxLockouts else { return nil }
        let doublings = min(max(lockout - 1, 0), 20)
        let (length, overflow) = lockoutDuration.multipliedReportingOverflow(by: Int64(1) << doublings)
        return overflow ? Self.maxLockoutDuration : min(length, Self.maxLockoutDuration)
    }

    public static let `default` = MFAPolicy(rules: .default)
}

/// How one attempt ended.
public enum MFAOutcome: Sendable, Equatable {
    /// A one-time code was accepted; `step` is the TOTP step or HOTP counter it belonged to.
    case accepted(step: Int64)
    /// A recovery code was accepted and used up.
    case recoveryAccepted(remaining: Int)
    /// Wrong code (or malformed input).
    case rejected(failures: Int)
    /// A right code for a step already used.
    case replayed(failures: Int)
    /// Refused without looking at the code: the account is locked.
    case lockedOut(until: Int64)

    public var isSuccess: Bool {
        switch self {
        case .accepted, .recoveryAccepted: return true
        case .rejected, .replayed, .lockedOut: return false
        }
    }
}

/// The result of one attempt: the state to persist and what happened.
public struct MFAAttempt: Sendable, Equatable {
    public var state: MFAUserState
    public var outcome: MFAOutcome
    /// Set when this attempt's failure reached the threshold and started a lockout.
    public var lockoutStarted: Int64?
}

/// The pure verification state machine: (state, code, now) → (state', outcome).
/// Every failure — wrong code, replay, bad recovery code, malformed input — counts toward lockout.
public enum MFAVerifier {
    public static func attempt(code: String, credential: OTPCredential, state: MFAUserState,
                               policy: MFAPolicy, now unixSeconds: Int64) -> MFAAttempt {
        var state = state
        if let until = state.lockedUntil {
            if unixSeconds < until {
                return MFAAttempt(state: state, outcome: .lockedOut(until: until), lockoutStarted: nil)
            }
            state.lockedUntil = nil
            state.consecutiveFailures = 0
        }
        guard let value = OneTimePassword.parse(code, digits: credential.parameters.digits) else {
            return recoveryAttempt(code: code, state: state, policy: policy, now: unixSeconds)
        }
        switch credential.factor {
        case .totp:
            return totpAttempt(value, credential: credential, state: state, policy: policy, now: unixSeconds)
        case .hotp:
            return hotpAttempt(value, credential: credential, state: state, policy: policy, now: unixSeconds)
        }
    }

    static func totpAttempt(_ value: UInt32, credential: OTPCredential, state: MFAUserState,
                            policy: MFAPolicy, now: Int64) -> MFAAttempt {
        let current = OneTimePassword.timeStep(at: now, parameters: credential.parameters)
        let generator = HOTPGenerator(secret: credential.secret, parameters: credential.parameters)
        var fresh: Int64?
        var stale = false
        // Every candidate is computed and compared, so timing does not tell which step matched.
        for offset in -policy.window...policy.window {
            let step = current + Int64(offset)
            let expected = generator.value(counter: UInt64(bitPattern: step))
            guard ConstantTime.equal(expected, value) else { continue }
            if let last = state.lastAcceptedStep, step <= last {
                stale = true
            } else if fresh == nil {
                fresh = step
            }
        }
        if let step = fresh {
            var next = state
            next.lastAcceptedStep = step
            next.consecutiveFailures = 0
            next.consecutiveLockouts = 0
            return MFAAttempt(state: next, outcome: .accepted(step: step), lockoutStarted: nil)
        }
        return failure(state: state, policy: policy, now: now, replay: stale)
    }

    static func hotpAttempt(_ value: UInt32, credential: OTPCredential, state: MFAUserState,
                            policy: MFAPolicy, now: Int64) -> MFAAttempt {
        var matched: UInt64?
        var replay = false
        let generator = HOTPGenerator(secret: credential.secret, parameters: credential.parameters)
        if state.hotpCounter > 0 {
            replay = ConstantTime.equal(generator.value(counter: state.hotpCounter - 1), value)
        }
        for offset in 0...UInt64(policy.hotpLookAhead) {
            let (counter, overflow) = state.hotpCounter.addingReportingOverflow(offset)
            if overflow { break }
            let expected = generator.value(counter: counter)
            if ConstantTime.equal(expected, value) && matched == nil { matched = counter }
        }
        if let counter = matched, counter < UInt64.max {
            var next = state
            next.hotpCounter = counter + 1
            next.consecutiveFailures = 0
            next.consecutiveLockouts = 0
            return MFAAttempt(state: next, outcome: .accepted(step: Int64(truncatingIfNeeded: counter)), lockoutStarted: nil)
        }
        return failure(state: state, policy: policy, now: now, replay: replay)
    }

    static func recoveryAttempt(code: String, state: MFAUserState, policy: MFAPolicy, now: Int64) -> MFAAttempt {
        guard policy.recoveryCodesEnabled, code.utf8.count <= 64 else {
            return failure(state: state, policy: policy, now: now, replay: false)
        }
        var found: Int?
        for (index, stored) in state.recoveryCodes.enumerated() where stored.matches(code) && found == nil {
            found = index
        }
        guard let index = found else { return failure(state: state, policy: policy, now: now, replay: false) }
        var next = state
        next.recoveryCodes.remove(at: index)
        next.consecutiveFailures = 0
        next.consecutiveLockouts = 0
        return MFAAttempt(state: next, outcome: .recoveryAccepted(remaining: next.recoveryCodes.count), lockoutStarted: nil)
    }

    static func failure(state: MFAUserState, policy: MFAPolicy, now: Int64, replay: Bool) -> MFAAttempt {
        var next = state
        next.consecutiveFailures = min(state.consecutiveFailures, Int(Int32.max) - 1) + 1
        var started: Int64?
        if next.consecutiveFailures >= policy.lockoutThreshold {
            next.consecutiveLockouts = min(state.consecutiveLockouts, 1_000) + 1
            if let length = policy.lockoutLength(forLockout: next.consecutiveLockouts) {
                let (until, overflow) = now.addingReportingOverflow(length)
                // A timed lockout never takes the administrator-only value by accident.
                next.lockedUntil = overflow ? MFAUserState.lockedUntilUnlocked - 1 : min(until, MFAUserState.lockedUntilUnlocked - 1)
            } else {
                next.lockedUntil = MFAUserState.lockedUntilUnlocked
            }
            started = next.lockedUntil
        }
        let failures = next.consecutiveFailures
        return MFAAttempt(state: next, outcome: replay ? .replayed(failures: failures) : .rejected(failures: failures),
                          lockoutStarted: started)
    }

    /// Resynchronises a drifted HOTP token from two consecutive codes (RFC 4226 §7.4): both must
    /// match counters c and c+1 within `searchLimit` of the stored counter. An administrator's
    /// action, not a login; returns nil when the codes do not fit.
    public static func resynchronizeHOTP(first: String, second: String, credential: OTPCredential,
                                         state: MFAUserState, searchLimit: Int = 1000) -> MFAUserState? {
        let digits = credential.parameters.digits
        guard credential.factor == .hotp,
              let one = OneTimePassword.parse(first, digits: digits),
              let two = OneTimePassword.parse(second, digits: digits) else { return nil }
        let limit = UInt64(min(max(searchLimit, 1), 100_000))
        var previous = OneTimePassword.hotp(secret: credential.secret, counter: state.hotpCounter, parameters: credential.parameters)
        for offset in 0..<limit {
            let (counter, overflow) = state.hotpCounter.addingReportingOverflow(offset + 1)
            if overflow || counter == .max { return nil }
            let current = OneTimePassword.hotp(secret: credential.secret, counter: counter, parameters: credential.parameters)
            if ConstantTime.equal(previous, one) && ConstantTime.equal(current, two) {
                var next = state
                next.hotpCounter = counter + 1
                next.consecutiveFailures = 0
                next.lockedUntil = nil
                return next
            }
            previous = current
        }
        return nil
    }
}
