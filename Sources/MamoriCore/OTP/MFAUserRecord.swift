/// One enrolled user as stored by the agent: the credential and the verifier's state, in one
/// canonical-JSON file so that one atomic rename updates both. Root-only on disk.
///
/// The file is a cache of the journal, not the source of truth: a login writes it without a sync
/// and every `auth.*` record of a login carries the state it left (`MFAJournalState`), so the agent
/// rebuilds a file that a crash set back from the records. `generation` ties the two together:
/// an administrator's change (enrol, reset, unlock) starts a new one, so records written before it
/// are never applied over it. `journalSeq` is a lower bound for the seq of the record describing
/// this state: the records of this user and generation from there on are newer or the same.
public struct MFAUserRecord: Sendable, Equatable {
    public static let formatVersion: Int64 = 1

    public var user: String
    public var credential: OTPCredential
    public var state: MFAUserState
    /// Hex; "" for a record written before generations existed.
    public var generation: String
    public var journalSeq: UInt64

    public init(user: String, credential: OTPCredential, state: MFAUserState = MFAUserState(),
                generation: String = "", journalSeq: UInt64 = 0) {
        self.user = user
        self.credential = credential
        self.state = state
        self.generation = generation
        self.journalSeq = journalSeq
    }

    public var json: JSONValue {
        var state: [String: JSONValue] = [
            "hotp_counter": .string(String(self.state.hotpCounter)),
            "failures": .int(Int64(self.state.consecutiveFailures)),
            "recovery": .array(self.state.recoveryCodes.map {
                .object(["salt": .string(Hex.encode($0.salt)), "sha256": .string($0.digest.hex)])
            }),
        ]
        if let step = self.state.lastAcceptedStep { state["last_step"] = .int(step) }
        if let until = self.state.lockedUntil { state["locked_until"] = .int(until) }
        if self.state.consecutiveLockouts > 0 { state["lockouts"] = .int(Int64(self.state.consecutiveLockouts)) }
        var members: [String: JSONValue] = [
            "version": .int(Self.formatVersion),
            "user": .string(user),
            "type": .string(credential.factor.rawValue),
            "algorithm": .string(credential.parameters.algorithm.rawValue),
            "digits": .int(Int64(credential.parameters.digits)),
            "period": .int(credential.parameters.timeStep),
            "secret": .string(Hex.encode(credential.secret)),
            "state": .object(state),
        ]
        if !generation.isEmpty { members["generation"] = .string(generation) }
        if journalSeq > 0 { members["journal_seq"] = .string(String(journalSeq)) }
        return .object(members)
    }

    public var canonicalBytes: [UInt8] { json.canonicalBytes + [0x0A] }

    /// Strict decoding: any missing, extra-typed or out-of-range field makes the record unusable,
    /// and an unusable record refuses the login (fail closed).
    public init?(json: JSONValue) {
        guard json["version"]?.intValue == Self.formatVersion,
              let user = json["user"]?.stringValue,
              let factor = json["type"]?.stringValue.flatMap(OTPFactor.init(rawValue:)),
              let algorithm = json["algorithm"]?.stringValue.flatMap(OTPHashAlgorithm.init(rawValue:)),
              let digits = json["digits"]?.intValue, let period = json["period"]?.intValue,
              let parameters = OTPParameters(algorithm: algorithm, digits: Int(clamping: digits), timeStep: period),
              let secret = json["secret"]?.stringValue.flatMap({ Hex.decode($0) }),
              let credential = OTPCredential(factor: factor, secret: secret, parameters: parameters),
              let stateObject = json["state"], let state = Self.decodeState(stateObject)
        else { return nil }
        let generation = json["generation"]
        let journalSeq = json["journal_seq"]
        if let generation, generation.stringValue.map(MFAJournalState.isValidGeneration) != true { return nil }
        if let journalSeq, journalSeq.stringValue.flatMap({ UInt64($0) }) == nil { return nil }
        self.init(user: user, credential: credential, state: state, generation: generation?.stringValue ?? "",
                  journalSeq: journalSeq?.stringValue.flatMap { UInt64($0) } ?? 0)
    }

    public init?(bytes: [UInt8]) {
        guard let value = try? JSONValue.parse(bytes) else { return nil }
        self.init(json: value)
    }

    static func decodeState(_ json: JSONValue) -> MFAUserState? {
        guard let counter = json["hotp_counter"]?.stringValue.flatMap({ UInt64($0) }),
              let failures = json["failures"]?.intValue, (0...Int64(Int32.max)).contains(failures),
              let recovery = json["recovery"]?.arrayValue else { return nil }
        var codes: [RecoveryCodeHash] = []
        for entry in recovery {
            guard let salt = entry["salt"]?.stringValue.flatMap({ Hex.decode($0) }),
                  let digest = entry["sha256"]?.stringValue.flatMap({ Digest32(hex: $0) }),
                  let code = RecoveryCodeHash(salt: salt, digest: digest) else { return nil }
            codes.append(code)
        }
        let lastStep = json["last_step"]
        let lockedUntil = json["locked_until"]
        if let lastStep, lastStep.intValue == nil { return nil }
        if let lockedUntil, lockedUntil.intValue == nil { return nil }
        let lockouts = json["lockouts"]
        if let lockouts, !(lockouts.intValue.map { (0...1_001).contains($0) } ?? false) { return nil }
        return MFAUserState(lastAcceptedStep: lastStep?.intValue, hotpCounter: counter,
                            consecutiveFailures: Int(failures), lockedUntil: lockedUntil?.intValue, recoveryCodes: codes,
                            consecutiveLockouts: Int(lockouts?.intValue ?? 0))
    }
}
