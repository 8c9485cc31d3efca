#if canImport(Glibc)
import Glibc
#endif
public import MamoriAuthWire
public import MamoriCore

/// Who is on the other end of the socket, from SO_PEERCRED (the kernel's word, not the client's).
public struct PeerCredentials: Sendable, Equatable {
    public var pid: Int32
    public var uid: UInt32
    public var gid: UInt32

    public init(pid: Int32, uid: UInt32, gid: UInt32) {
        self.pid = pid
        self.uid = uid
        self.gid = gid
    }
}

/// Where auth outcomes are recorded. The agent's JournalStore in production; a list in tests.
public protocol AuthJournal: AnyObject {
    /// Returns once the records are durable (synced).
    func record(_ events: [(kind: String, payload: [String: JSONValue])], now: Timestamp) throws
    /// The seq the next record will have at the earliest.
    var nextSeq: UInt64 { get }
}

extension JournalStore: AuthJournal {
    public func record(_ events: [(kind: String, payload: [String: JSONValue])], now: Timestamp) throws {
        _ = try append(events, now: now)
    }
}

/// The agent's second-factor verifier: one request in, one response out, every outcome journalled
/// (`auth.*`, with user, service, tty and rhost — never the code). Fails closed: a store or
/// journal error answers `unavailable`, which the module turns into PAM_AUTHINFO_UNAVAIL.
///
/// One durable write per login: under the user's lock the verifier checks the code, writes the
/// user's state file without a sync, appends the outcome's record carrying the new state
/// (`MFAJournalState`) and waits for the journal's sync; only then does it answer. After a crash
/// the agent rebuilds the state files from those records before it serves again
/// (`MFAStateReconciler`), so a failure count or a used step is never lost.
public final class AuthService {
    public let store: MFAStore
    /// Replaced when a new profile is applied (under the socket server's lock).
    public var rules: MFARules
    let journal: any AuthJournal
    let userName: (UInt32) -> String?
    /// Refusals of non-root callers that change no state are counted here instead of being
    /// journalled one by one (`auth.abuse`, once per uid per interval).
    public let abuse: AuthAbuseLedger

    public init(store: MFAStore, rules: MFARules, journal: any AuthJournal,
                userName: @escaping (UInt32) -> String? = AuthService.systemUserName,
                abuse: AuthAbuseLedger = AuthAbuseLedger()) {
        self.store = store
        self.rules = rules
        self.journal = journal
        self.userName = userName
        self.abuse = abuse
    }

    public func handle(_ request: AuthRequest, peer: PeerCredentials, now: Timestamp) -> AuthResponse {
        let base = Self.basePayload(request, peer: peer)
        if let refusal = refusal(request, peer: peer) {
            return respond(refusal, base: base, peer: peer, now: now)
        }
        do {
            return try store.withLock(request.user) { try verifyLocked(request, base: base, peer: peer, now: now) }
        } catch {
            return respond(Decision(response: AuthResponse(status: .unavailable, message: "The second-factor service is unavailable."),
                                    events: [(AuthEventKind.error, ["reason": .string(String(describing: error))])]),
                           base: base, peer: peer, now: now)
        }
    }

    struct Decision {
        var response: AuthResponse
        var events: [(kind: String, payload: [String: JSONValue])]
        /// A refusal that changes no state: from a non-root caller it is counted, not journalled alone.
        var isStatelessRefusal = false
    }

    /// Journals the decision's events (synced) and returns its answer; `unavailable` when the
    /// journal cannot record it, since no answer may be given that is not on record. A stateless
    /// refusal of a non-root caller goes to the abuse tally instead (it grants nothing).
    func respond(_ decision: Decision, base: [String: JSONValue], peer: PeerCredentials, now: Timestamp) -> AuthResponse {
        if decision.isStatelessRefusal && peer.uid != 0 {
            let sample = [base["service"], base["user"]].compactMap { value -> String? in
                if case .string(let text)? = value { return text }
                return nil
            }.joined(separator: " ")
            abuse.note(uid: peer.uid, reason: decision.events.first?.kind ?? "auth.refused", sample: sample, at: now)
            return decision.response
        }
        let events = decision.events.map { event in
            (kind: event.kind, payload: base.merging(event.payload) { _, new in new })
        }
        do {
            try journal.record(events, now: now)
        } catch {
            return AuthResponse(status: .unavailable, message: "The second-factor service cannot record this login.")
        }
        return decision.response
    }

    /// The answer for requests that are not verified at all; nil when the code must be checked.
    func refusal(_ request: AuthRequest, peer: PeerCredentials) -> Decision? {
        guard MFAUserName.isValid(request.user) else {
            return Decision(response: AuthResponse(status: .rejected, message: "Authentication failed."),
                            events: [(AuthEventKind.failure, ["reason": .string("invalid user name")])], isStatelessRefusal: true)
        }
        if peer.uid != 0 && userName(peer.uid) != request.user {
            return Decision(response: AuthResponse(status: .denied, message: "Not allowed to ask about another user."),
                            events: [(AuthEventKind.denied, ["reason": .string("caller may only ask about its own user")])],
                            isStatelessRefusal: true)
        }
        if rules.exemptAccounts.contains(request.user) {
            return Decision(response: AuthResponse(status: .exempt), events: [(AuthEventKind.exempt, [:])])
        }
        return nil
    }

    /// Runs under the user's lock: check, write the state file (no sync), journal (synced), answer.
    /// A store error is thrown (and answered `unavailable` by the caller) before anything is written.
    func verifyLocked(_ request: AuthRequest, base: [String: JSONValue], peer: PeerCredentials, now: Timestamp) throws -> AuthResponse {
        guard var record = try store.read(request.user) else {
            return respond(Decision(response: AuthResponse(status: .notEnrolled, message: "No second factor is enrolled for this account."),
                                    events: [(AuthEventKind.notEnrolled, [:])], isStatelessRefusal: true),
                           base: base, peer: peer, now: now)
        }
        let attempt = MFAVerifier.attempt(code: request.code, credential: record.credential, state: record.state,
                                          policy: MFAPolicy(rules: rules), now: Self.unixSeconds(now))
        let carried = MFAJournalState(generation: record.generation, before: record.state, after: attempt.state).json
        let changesState = attempt.state != record.state
        if changesState {
            record.state = attempt.state
            record.journalSeq = journal.nextSeq
            try store.writeLoginState(record)
        }
        var decision = Self.decision(for: attempt)
        for index in decision.events.indices { decision.events[index].payload[MFAJournalState.payloadKey] = carried }
        // A refusal that moved nothing (a locked-out account asked again) is stateless.
        if !changesState, decision.response.status != .accepted { decision.isStatelessRefusal = true }
        return respond(decision, base: base, peer: peer, now: now)
    }

    static func decision(for attempt: MFAAttempt) -> Decision {
        var decision: Decision
        switch attempt.outcome {
        case .accepted(let step):
            decision = Decision(response: AuthResponse(status: .accepted), events: [(AuthEventKind.success, ["step": .int(step)])])
        case .recoveryAccepted(let remaining):
            decision = Decision(response: AuthResponse(status: .accepted, message: "Recovery code accepted; \(remaining) left."),
                                events: [(AuthEventKind.recovery, ["remaining": .int(Int64(remaining))])])
        case .rejected(let failures):
            decision = Decision(response: AuthResponse(status: .rejected, message: "Authentication failed."),
                                events: [(AuthEventKind.failure, ["failures": .int(Int64(failures))])])
        case .replayed(let failures):
            decision = Decision(response: AuthResponse(status: .replayed, message: "This code was already used; wait for the next one."),
                                events: [(AuthEventKind.replay, ["failures": .int(Int64(failures))])])
        case .lockedOut(let until):
            let message = until == MFAUserState.lockedUntilUnlocked
                ? "Too many failed attempts; the account is locked until an administrator unlocks it."
                : "Too many failed attempts; the account is locked for now."
            decision = Decision(response: AuthResponse(status: .lockedOut, message: message),
                                events: [(AuthEventKind.lockout, ["locked_until": .int(until), "refused": .bool(true)])])
        }
        if let until = attempt.lockoutStarted {
            decision.events.append((AuthEventKind.lockout, [
                "locked_until": .int(until), "failures": .int(Int64(attempt.state.consecutiveFailures)), "refused": .bool(false),
                "lockouts": .int(Int64(attempt.state.consecutiveLockouts)),
                "needs_administrator_unlock": .bool(until == MFAUserState.lockedUntilUnlocked),
            ]))
        }
        return decision
    }

    /// The caller's fields are claims (`claimed_by_uid`), sanitised and capped; `peer_uid` and
    /// `peer_pid` come from SO_PEERCRED and are what the record asserts.
    static func basePayload(_ request: AuthRequest, peer: PeerCredentials) -> [String: JSONValue] {
        ["user": .string(AuthClaim.sanitised(request.user, limit: 64)),
         "service": .string(AuthClaim.sanitised(request.service, limit: 32)),
         "tty": .string(AuthClaim.sanitised(request.tty, limit: 64)),
         "rhost": .string(AuthClaim.sanitised(request.rhost, limit: 128)),
         "claimed_by_uid": .int(Int64(peer.uid)),
         "peer_uid": .int(Int64(peer.uid)), "peer_pid": .int(Int64(peer.pid))]
    }

    static func unixSeconds(_ time: Timestamp) -> Int64 {
        let micros = time.microsecondsSinceEpoch
        return micros >= 0 ? micros / 1_000_000 : (micros - 999_999) / 1_000_000
    }

    /// getpwuid_r: the login name of `uid`, or nil.
    public static func systemUserName(_ uid: UInt32) -> String? {
        var buffer = [CChar](repeating: 0, count: 4096)
        // The entry's strings point into the buffer, so they are read while it is pinned.
        return buffer.withUnsafeMutableBufferPointer { raw -> String? in
            var entry = passwd()
            var result: UnsafeMutablePointer<passwd>?
            guard let base = raw.baseAddress, getpwuid_r(uid_t(uid), &entry, base, raw.count, &result) == 0, result != nil,
                  let name = entry.pw_name else { return nil }
            return String(cString: name)
        }
    }
}

/// The journal kinds of second-factor outcomes.
public enum AuthEventKind {
    public static let success = "auth.success"
    public static let failure = "auth.failure"
    public static let replay = "auth.replay"
    public static let lockout = "auth.lockout"
    public static let recovery = "auth.recovery"
    public static let denied = "auth.denied"
    public static let exempt = "auth.exempt"
    public static let notEnrolled = "auth.not_enrolled"
    public static let error = "auth.error"
    /// The rules the verifier started with: from the installed profile, or the defaults and why.
    public static let rules = "auth.rules"
    /// At start, a user's state file was behind the journal and was brought up to date from it.
    public static let stateRestored = "auth.state_restored"
}
