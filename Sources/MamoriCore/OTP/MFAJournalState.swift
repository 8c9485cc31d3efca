/// The verifier state a login left, as its `auth.*` journal record carries it (payload member
/// `mfa_state`). The journal record is synced before the answer goes back; the user's state file
/// is not, so this is what makes a login's effect durable: after a crash the agent applies these
/// over a state file that lost its last writes (`MFAJournalReplay`).
///
/// Never the code, the secret or a recovery code's hash: counters, times, how many recovery codes
/// are left, and the salt (random, unrelated to the code) of the recovery code a login used up.
public struct MFAJournalState: Sendable, Equatable {
    public static let payloadKey = "mfa_state"

    public var generation: String
    public var lastAcceptedStep: Int64?
    public var hotpCounter: UInt64
    public var consecutiveFailures: Int
    public var lockedUntil: Int64?
    public var consecutiveLockouts: Int
    public var recoveryCodesLeft: Int
    /// The salt of the recovery code this login used up, if it used one.
    public var recoveryCodeUsed: [UInt8]?

    /// The state `after` a login that started from `before`.
    public init(generation: String, before: MFAUserState, after: MFAUserState) {
        self.generation = generation
        lastAcceptedStep = after.lastAcceptedStep
        hotpCounter = after.hotpCounter
        consecutiveFailures = after.consecutiveFailures
        lockedUntil = after.lockedUntil
        consecutiveLockouts = after.consecutiveLockouts
        recoveryCodesLeft = after.recoveryCodes.count
        recoveryCodeUsed = before.recoveryCodes.first { !after.recoveryCodes.contains($0) }?.salt
    }

    /// Generations are 1 to 64 lower-case hex digits.
    public static func isValidGeneration(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        return (1...64).contains(bytes.count)
            && bytes.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }
    }

    public var json: JSONValue {
        var members: [String: JSONValue] = [
            "generation": .string(generation),
            "hotp_counter": .string(String(hotpCounter)),
            "failures": .int(Int64(consecutiveFailures)),
            "recovery_left": .int(Int64(recoveryCodesLeft)),
        ]
        if let lastAcceptedStep { members["last_step"] = .int(lastAcceptedStep) }
        if let lockedUntil { members["locked_until"] = .int(lockedUntil) }
        if consecutiveLockouts > 0 { members["lockouts"] = .int(Int64(consecutiveLockouts)) }
        if let recoveryCodeUsed { members["recovery_used"] = .string(Hex.encode(recoveryCodeUsed)) }
        return .object(members)
    }

    /// Strict: a member of the wrong type makes the whole entry unusable (nil).
    public init?(json: JSONValue) {
        guard let generation = json["generation"]?.stringValue, generation.isEmpty || Self.isValidGeneration(generation),
              let counter = json["hotp_counter"]?.stringValue.flatMap({ UInt64($0) }),
              let failures = json["failures"]?.intValue, (0...Int64(Int32.max)).contains(failures),
              let left = json["recovery_left"]?.intValue, (0...10_000).contains(left) else { return nil }
        let lastStep = json["last_step"]
        let lockedUntil = json["locked_until"]
        let used = json["recovery_used"]
        if let lastStep, lastStep.intValue == nil { return nil }
        if let lockedUntil, lockedUntil.intValue == nil { return nil }
        let lockouts = json["lockouts"]
        if let lockouts, !(lockouts.intValue.map { (0...1_001).contains($0) } ?? false) { return nil }
        var usedSalt: [UInt8]?
        if let used {
            guard let salt = used.stringValue.flatMap({ Hex.decode($0) }), salt.count == RecoveryCode.saltLength else { return nil }
            usedSalt = salt
        }
        self.generation = generation
        self.lastAcceptedStep = lastStep?.intValue
        self.hotpCounter = counter
        self.consecutiveFailures = Int(failures)
        self.lockedUntil = lockedUntil?.intValue
        self.consecutiveLockouts = Int(lockouts?.intValue ?? 0)
        self.recoveryCodesLeft = Int(left)
        self.recoveryCodeUsed = usedSalt
    }

    /// `state` after this login: every counter as the login left it, the used recovery code gone.
    public func applied(to state: MFAUserState) -> MFAUserState {
        var next = state
        next.lastAcceptedStep = lastAcceptedStep
        next.hotpCounter = hotpCounter
        next.consecutiveFailures = consecutiveFailures
        next.lockedUntil = lockedUntil
        next.consecutiveLockouts = consecutiveLockouts
        if let recoveryCodeUsed, let index = next.recoveryCodes.firstIndex(where: { $0.salt == recoveryCodeUsed }) {
            next.recoveryCodes.remove(at: index)
        }
        return next
    }
}

/// Brings a user's state file up to date with the journal (at agent start, before any login is
/// served): the records of the file's generation from its `journalSeq` on are applied in seq order.
public enum MFAJournalReplay {
    /// `entries` are the user's journalled states with their seqs, in any order. The file's own
    /// login is among them (its record has the file's `journalSeq` or a later seq), so applying
    /// entries to a current file changes nothing. Returns the record and whether its state changed.
    public static func replay(_ record: MFAUserRecord, entries: [(seq: UInt64, state: MFAJournalState)]) -> (record: MFAUserRecord, changed: Bool) {
        let relevant = entries
            .filter { $0.state.generation == record.generation && $0.seq >= record.journalSeq }
            .sorted { $0.seq < $1.seq }
        guard let last = relevant.last else { return (record, false) }
        var next = record
        for entry in relevant { next.state = entry.state.applied(to: next.state) }
        next.journalSeq = last.seq == .max ? last.seq : last.seq + 1
        return (next, next.state != record.state)
    }
}
