#if canImport(Glibc)
import Glibc
#endif
import MamoriAuthWire
public import MamoriCore

/// Serves `AuthService` on the PAM socket: one request and one response per connection, the
/// caller identified by SO_PEERCRED as soon as the connection is accepted. Admission is per uid
/// (`AuthConnectionLimits`): root callers (login, sshd, gdm, su, sudo) have slots no other uid can
/// take, each non-root uid may hold only a few connections and all of them together a bounded
/// number more; a connection over its cap is closed at once, unanswered, which the module treats
/// as "unavailable" (fail closed). The whole request must arrive within a deadline, however its
/// bytes trickle in. Each admitted connection gets its own thread for its socket I/O, so a
/// stalled client cannot hold up other logins (a thread that finished waits a little for the
/// next one, so a steady stream of logins does not pay for a new thread each); the verification
/// itself runs one at a time under a lock (the store and the journal have one writer), and the
/// connection is closed as soon as the answer is written. What callers did wrong (caps,
/// deadlines, malformed frames, stateless refusals of non-root callers) is journalled once per
/// uid per interval with counts (`auth.abuse`).
public final class AuthSocketServer {
    public let listener: UnixListener
    public var limits: AuthConnectionLimits {
        get { gate.limits }
        set { gate.limits = newValue }
    }
    /// The whole-request deadline (kept for callers that set it alone).
    public var clientTimeoutMilliseconds: Int {
        get { limits.requestDeadlineMilliseconds }
        set { limits.requestDeadlineMilliseconds = newValue }
    }
    let gate: AuthServiceGate
    let journal: any AuthJournal
    let now: () -> Timestamp
    let workers = ConnectionWorkers()

    public init(listener: UnixListener, service: AuthService, now: @escaping () -> Timestamp) {
        self.listener = listener
        self.gate = AuthServiceGate(service: service, now: now)
        self.journal = service.journal
        self.now = now
    }

    public var abuse: AuthAbuseLedger { gate.abuse }

    /// Takes effect from the next request; a request in flight finishes under the old rules.
    public func replaceRules(_ rules: MFARules) { gate.replaceRules(rules) }

    /// Serves until `shouldStop` returns true (checked at least every `pollMilliseconds`), then
    /// waits for the connections in flight and journals what the abuse tally still holds.
    public func run(pollMilliseconds: Int32 = 200, shouldStop: () -> Bool) throws {
        var lastFlush: UInt64 = 0
        while !shouldStop() {
            // At most once a second, not once per connection: a flood must not pay for it.
            let tick = MonotonicClock.nanoseconds()
            if tick - lastFlush >= 1_000_000_000 {
                lastFlush = tick
                flushAbuse(all: false)
            }
            guard let client = try listener.accept(waitingUpTo: pollMilliseconds) else { continue }
            guard let peer = try? client.peerCredentials() else { continue }
            if let refusal = gate.admit(uid: peer.uid) {
                gate.abuse.note(uid: peer.uid, reason: "connection." + refusal.rawValue, at: now())
                continue
            }
            let gate = self.gate
            let deadline = MonotonicClock.nanoseconds() + UInt64(max(1, gate.limits.requestDeadlineMilliseconds)) * 1_000_000
            let started = workers.run {
                // The slot is given back before the answer is written, so a caller that asks again
                // as soon as it has its answer (a sequential client) always finds it free.
                let slot = AdmissionSlot(gate: gate, uid: peer.uid)
                Self.serve(client, peer: peer, deadline: deadline, gate: gate, slot: slot)
                slot.release()
            }
            if !started { gate.release(uid: peer.uid) }
        }
        while gate.activeConnections > 0 { usleep(10_000) }
        flushAbuse(all: true)
    }

    /// Journals the abuse windows that are due (or all of them).
    func flushAbuse(all: Bool) {
        let records = gate.abuse.takeRecords(now: now(), all: all, userName: AuthService.systemUserName)
        guard !records.isEmpty else { return }
        try? journal.record(records, now: now())
    }

    /// Answers one connection and closes it at once. Any I/O or protocol failure just closes it:
    /// the module treats a missing or malformed answer as "unavailable", never as success.
    static func serve(_ client: SocketFD, peer: PeerCredentials, deadline: UInt64, gate: AuthServiceGate, slot: AdmissionSlot) {
        defer { client.close() }
        let remaining = deadline > MonotonicClock.nanoseconds() ? Int((deadline - MonotonicClock.nanoseconds()) / 1_000_000) : 0
        guard (try? client.setTimeout(milliseconds: max(remaining, 1))) != nil else { return }
        let request: AuthRequest
        switch readRequest(client, deadline: deadline) {
        case .request(let decoded): request = decoded
        case .closed: return
        case .timedOut:
            gate.abuse.note(uid: peer.uid, reason: "request.deadline", at: gate.currentTime())
            return
        case .malformed:
            gate.abuse.note(uid: peer.uid, reason: "request.malformed", at: gate.currentTime())
            return
        }
        let response = gate.handle(request, peer: peer)
        guard let frame = try? response.encoded() else { return }
        slot.release()
        try? client.writeAll(frame)
    }

    enum ReadOutcome {
        case request(AuthRequest)
        case closed
        case timedOut
        case malformed
    }

    static func readRequest(_ client: SocketFD, deadline: UInt64) -> ReadOutcome {
        do {
            guard let header = try client.readExactly(AuthWire.headerLength, deadline: deadline) else { return .closed }
            guard let length = try? AuthFrame.bodyLength(header: header) else { return .malformed }
            guard let body = try client.readExactly(length, deadline: deadline) else { return .malformed }
            guard let request = try? AuthRequest(body: body) else { return .malformed }
            return .request(request)
        } catch let error as SystemError where error.errno == Errno(rawValue: ETIMEDOUT) {
            return .timedOut
        } catch {
            return .closed
        }
    }
}

/// One admitted connection's slot, released once (by whichever comes first: the answer about to
/// be written, or the end of the connection). Used by the one thread serving the connection.
final class AdmissionSlot {
    private let gate: AuthServiceGate
    private let uid: UInt32
    private var held = true

    init(gate: AuthServiceGate, uid: UInt32) {
        self.gate = gate
        self.uid = uid
    }

    func release() {
        guard held else { return }
        held = false
        gate.release(uid: uid)
    }
}

/// The service behind a mutex, plus the admission of connections (under a mutex of its own, so
/// the accept loop never waits for a verification's sync).
/// @unchecked Sendable: `service` is only touched while `mutex` is held, `admission` only while
/// `admissionMutex` is held; `now` is only called under one of them or from the accept loop.
final class AuthServiceGate: @unchecked Sendable {
    private let service: AuthService
    private let now: () -> Timestamp
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let admissionMutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private var admission = AuthConnectionAdmission(limits: .standard)
    let abuse: AuthAbuseLedger

    init(service: AuthService, now: @escaping () -> Timestamp) {
        self.service = service
        self.now = now
        self.abuse = service.abuse
        for pointer in [mutex, admissionMutex] {
            pointer.initialize(to: pthread_mutex_t())
            pthread_mutex_init(pointer, nil)
        }
    }

    deinit {
        for pointer in [mutex, admissionMutex] {
            pthread_mutex_destroy(pointer)
            pointer.deallocate()
        }
    }

    private func locked<T>(_ lock: UnsafeMutablePointer<pthread_mutex_t>, _ body: () -> T) -> T {
        pthread_mutex_lock(lock)
        defer { pthread_mutex_unlock(lock) }
        return body()
    }

    func handle(_ request: AuthRequest, peer: PeerCredentials) -> AuthResponse {
        locked(mutex) { service.handle(request, peer: peer, now: now()) }
    }

    func currentTime() -> Timestamp { locked(mutex) { now() } }

    func replaceRules(_ rules: MFARules) { locked(mutex) { service.rules = rules } }

    var limits: AuthConnectionLimits {
        get { locked(admissionMutex) { admission.limits } }
        set { locked(admissionMutex) { admission = AuthConnectionAdmission(limits: newValue) } }
    }

    func admit(uid: UInt32) -> AuthConnectionAdmission.Refusal? { locked(admissionMutex) { admission.admit(uid: uid) } }

    func release(uid: UInt32) { locked(admissionMutex) { admission.release(uid: uid) } }

    var activeConnections: Int { locked(admissionMutex) { admission.total } }
}

/// Runs each job on a thread of its own at once: an idle worker if one is waiting, else a new
/// detached thread. A worker that finished waits up to `idleSeconds` for another job (at most
/// `maxIdle` wait), so back-to-back logins reuse threads instead of creating one each; no job
/// ever waits for another to finish.
/// @unchecked Sendable: `jobs` and `idle` are only touched while `mutex` is held; a job is
/// handed to exactly one thread, which alone runs it.
final class ConnectionWorkers: @unchecked Sendable {
    let maxIdle: Int
    let idleSeconds: Int
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var jobs: [() -> Void] = []
    private var idle = 0

    init(maxIdle: Int = 4, idleSeconds: Int = 5) {
        self.maxIdle = maxIdle
        self.idleSeconds = idleSeconds
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
        condition.initialize(to: pthread_cond_t())
        pthread_cond_init(condition, nil)
    }

    deinit {
        pthread_cond_destroy(condition)
        condition.deallocate()
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    /// False when no thread could be started for the job (it did not run).
    func run(_ job: @escaping () -> Void) -> Bool {
        pthread_mutex_lock(mutex)
        // Every queued job must have its own idle worker, or it would wait for a busy one.
        if idle > jobs.count {
            jobs.append(job)
            pthread_cond_signal(condition)
            pthread_mutex_unlock(mutex)
            return true
        }
        pthread_mutex_unlock(mutex)
        return DetachedThread.start { [self] in work(first: job) }
    }

    private func work(first: @escaping () -> Void) {
        var pending: (() -> Void)? = first
        while pending != nil {
            Self.runAndRelease(&pending)
            pending = nextJob()
        }
    }

    /// Runs the job and lets go of it (and of the connection it holds) before the thread waits.
    private static func runAndRelease(_ slot: inout (() -> Void)?) {
        guard let job = slot else { return }
        slot = nil
        job()
    }

    /// The next job handed to this worker, or nil after `idleSeconds` without one.
    private func nextJob() -> (() -> Void)? {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        guard idle < maxIdle else { return nil }
        idle += 1
        defer { idle -= 1 }
        var deadline = timespec()
        clock_gettime(CLOCK_REALTIME, &deadline)
        deadline.tv_sec += idleSeconds
        while jobs.isEmpty {
            if pthread_cond_timedwait(condition, mutex, &deadline) == ETIMEDOUT, jobs.isEmpty { return nil }
        }
        return jobs.removeFirst()
    }
}

/// A detached pthread running a closure. The closure crosses threads through a raw pointer, so
/// the compiler cannot check it: callers hand over values no other thread touches afterwards
/// (a connection's socket) or that are themselves thread-safe (the gate).
enum DetachedThread {
    final class Body {
        let run: () -> Void
        init(_ run: @escaping () -> Void) { self.run = run }
    }

    static func start(_ run: @escaping () -> Void) -> Bool {
        let context = Unmanaged.passRetained(Body(run)).toOpaque()
        var thread = pthread_t()
        let status = pthread_create(&thread, nil, { raw in
            guard let raw else { return nil }
            Unmanaged<Body>.fromOpaque(raw).takeRetainedValue().run()
            return nil
        }, context)
        guard status == 0 else {
            Unmanaged<Body>.fromOpaque(context).release()
            return false
        }
        pthread_detach(thread)
        return true
    }
}
