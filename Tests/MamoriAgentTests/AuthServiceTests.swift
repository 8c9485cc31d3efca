import Foundation
import MamoriAgent
import MamoriAuthWire
import MamoriCore
import Testing

/// Journal records kept in memory; `failing` makes every append throw.
final class RecordingJournal: AuthJournal {
    var events: [(kind: String, payload: [String: JSONValue])] = []
    var failing = false
    var nextSeq: UInt64 { UInt64(events.count) }

    struct Broken: Error {}

    func record(_ events: [(kind: String, payload: [String: JSONValue])], now: Timestamp) throws {
        if failing { throw Broken() }
        self.events.append(contentsOf: events)
    }

    var kinds: [String] { events.map(\.kind) }
}

/// The verifier against a real root-only directory, with a scripted peer and a fake journal.
@Suite struct AuthServiceTests {
    static let secret = Array("12345678901234567890".utf8)
    static let start: Int64 = 1_800_000_000
    static let root = PeerCredentials(pid: 10, uid: 0, gid: 0)
    let directory: String
    let store: MFAStore
    let journal = RecordingJournal()
    let service: AuthService

    init() throws {
        directory = NSTemporaryDirectory() + "mamori-auth-\(UUID().uuidString)"
        store = MFAStore(directory: directory + "/mfa")
        try store.prepare()
        var rules = MFARules.default
        rules.exemptAccounts = ["breakglass"]
        rules.lockoutThreshold = 3
        service = AuthService(store: store, rules: rules, journal: journal) { uid in uid == 1000 ? "tanaka" : nil }
        let credential = try #require(OTPCredential(factor: .totp, secret: Self.secret, parameters: .standard))
        try store.write(MFAUserRecord(user: "tanaka", credential: credential))
    }

    func cleanUp() { try? FileManager.default.removeItem(atPath: directory) }

    static func code(at time: Int64) -> String {
        OneTimePassword.format(OneTimePassword.totp(secret: secret, unixSeconds: time, parameters: .standard), digits: 6)
    }

    func ask(_ user: String = "tanaka", code: String, at time: Int64 = start, peer: PeerCredentials = root) -> AuthResponse.Status {
        service.handle(AuthRequest(user: user, service: "login", tty: "tty1", code: code), peer: peer,
                       now: Timestamp(secondsSinceEpoch: time)).status
    }

    @Test func rightCodeOnceThenReplay() throws {
        defer { cleanUp() }
        #expect(ask(code: Self.code(at: Self.start)) == .accepted)
        #expect(ask(code: Self.code(at: Self.start), at: Self.start + 1) == .replayed)
        #expect(journal.kinds == [AuthEventKind.success, AuthEventKind.replay])
        let payload = journal.events[0].payload
        #expect(payload["user"] == .string("tanaka") && payload["service"] == .string("login") && payload["tty"] == .string("tty1"))
        // The code itself is never journalled.
        for event in journal.events {
            #expect(!event.payload.values.contains(.string(Self.code(at: Self.start))))
        }
        // The replay protection survived on disk.
        #expect(try store.read("tanaka")?.state.lastAcceptedStep == OneTimePassword.timeStep(at: Self.start, parameters: .standard))
    }

    @Test func lockoutAfterThresholdEvenWithTheRightCode() {
        defer { cleanUp() }
        for _ in 0..<3 { #expect(ask(code: "abcdef") == .rejected) }
        #expect(ask(code: Self.code(at: Self.start)) == .lockedOut)
        #expect(journal.kinds.contains(AuthEventKind.lockout))
    }

    @Test func otherUsersAreDeniedToNonRootCallers() {
        defer { cleanUp() }
        let user = PeerCredentials(pid: 20, uid: 1000, gid: 1000)
        let stranger = PeerCredentials(pid: 21, uid: 1001, gid: 1001)
        #expect(ask(code: Self.code(at: Self.start), peer: stranger) == .denied)
        #expect(ask("suzuki", code: "123456", peer: user) == .denied)
        #expect(ask(code: Self.code(at: Self.start), peer: user) == .accepted)
        // The refusals of non-root callers are counted, not journalled one by one; the login is.
        #expect(journal.kinds == [AuthEventKind.success])
        let records = service.abuse.takeRecords(now: Timestamp(secondsSinceEpoch: Self.start), all: true)
        #expect(records.map(\.kind) == [AuthAbuseTally.journalKind, AuthAbuseTally.journalKind])
        #expect(records.map { $0.payload["uid"] } == [.int(1000), .int(1001)])
        #expect(records.allSatisfy { $0.payload["counts"] == .object([AuthEventKind.denied: .int(1)]) })
    }

    /// A locked-out account asked again by its own (non-root) user changes nothing: counted.
    /// Each failure before the lockout moves the state and is journalled.
    @Test func aNonRootFloodOfWrongCodesIsJournalledOnlyUntilTheLockout() {
        defer { cleanUp() }
        let user = PeerCredentials(pid: 20, uid: 1000, gid: 1000)
        for offset in 0..<50 { _ = ask(code: "000000", at: Self.start + Int64(offset), peer: user) }
        #expect(journal.events.count <= 5, "\(journal.kinds)")
        let records = service.abuse.takeRecords(now: Timestamp(secondsSinceEpoch: Self.start + 60), all: true)
        #expect(records.count == 1)
        #expect(records.first?.payload["count"] == .int(Int64(50 - journal.kinds.filter { $0 == AuthEventKind.failure }.count)))
    }

    @Test func callerFieldsAreSanitisedClaims() {
        defer { cleanUp() }
        let request = AuthRequest(user: "tanaka", service: "sshd\u{1B}[2J", tty: "pts/1\u{7}", rhost: String(repeating: "r", count: 200), code: "1")
        _ = service.handle(request, peer: PeerCredentials(pid: 20, uid: 1000, gid: 1000), now: Timestamp(secondsSinceEpoch: Self.start))
        let payload = journal.events.first?.payload ?? [:]
        #expect(payload["service"] == .string("sshd?[2J"))
        #expect(payload["tty"] == .string("pts/1?"))
        #expect(payload["rhost"] == .string(String(repeating: "r", count: 128) + "…"))
        #expect(payload["claimed_by_uid"] == .int(1000))
        #expect(payload["peer_pid"] == .int(20))
    }

    @Test(arguments: [("suzuki", AuthResponse.Status.notEnrolled), ("breakglass", .exempt), ("../etc", .rejected), ("", .rejected)])
    func enrolmentAndExemption(user: String, expected: AuthResponse.Status) {
        defer { cleanUp() }
        #expect(ask(user, code: "123456") == expected)
        #expect(journal.events.count == 1)
    }

    @Test func insecureFilesAreRefusedAsUnavailable() throws {
        defer { cleanUp() }
        chmod(store.recordPath("tanaka"), 0o644)
        #expect(ask(code: Self.code(at: Self.start)) == .unavailable)
        #expect(journal.kinds == [AuthEventKind.error])
        chmod(store.recordPath("tanaka"), 0o600)
        chmod(directory + "/mfa", 0o755)
        #expect(ask(code: Self.code(at: Self.start)) == .unavailable)
    }

    @Test func corruptRecordIsUnavailableNotSuccess() throws {
        defer { cleanUp() }
        try FileSystem.writeFileAtomically(store.recordPath("tanaka"), Array("{\"version\":1}".utf8), mode: 0o600)
        #expect(ask(code: Self.code(at: Self.start)) == .unavailable)
    }

    @Test func aJournalFailureFailsClosed() {
        defer { cleanUp() }
        journal.failing = true
        #expect(ask(code: Self.code(at: Self.start)) == .unavailable)
    }

    /// Many threads racing for one user: the failure count is exact and one code is accepted once.
    @Test func concurrentAttemptsKeepExactCounts() throws {
        defer { cleanUp() }
        let code = Self.code(at: Self.start)
        let accepted = Counter()
        let path = store.directory
        DispatchQueue.concurrentPerform(iterations: 8) { _ in
            let directoryStore = MFAStore(directory: path)
            let attempt = try? directoryStore.update("tanaka") { record -> (MFAUserRecord?, Bool) in
                guard var record else { return (nil, false) }
                let result = MFAVerifier.attempt(code: code, credential: record.credential, state: record.state,
                                                 policy: MFAPolicy(window: 1, lockoutThreshold: 100), now: Self.start)
                record.state = result.state
                return (record, result.outcome.isSuccess)
            }
            if attempt == true { accepted.increment() }
        }
        #expect(accepted.value == 1)
        #expect(try store.read("tanaka")?.state.consecutiveFailures == 7)
    }
}

/// A counter shared by concurrentPerform's threads; the lock makes the increments safe.
final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func increment() { lock.lock(); count += 1; lock.unlock() }
    var value: Int { lock.lock(); defer { lock.unlock() }; return count }
}
