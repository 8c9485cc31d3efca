#if canImport(Glibc)
import Glibc
#endif
import MamoriAuthWire
public import MamoriCore

/// Serves `AuthService` on the PAM socket: one request and one response per connection, read
/// with a bounded frame and a time-out, the caller identified by SO_PEERCRED. Each connection
/// gets its own thread for its socket I/O, so a stalled or malicious client cannot hold up other
/// logins (a thread that finished a connection waits a little for the next one, so a steady
/// stream of logins does not pay for a new thread each); the verification itself runs one at a
/// time under a lock (the store and the journal have one writer). At most `maxConnections` are
/// served at once; beyond that a connection is closed unanswered, which the module treats as
/// "unavailable" (fail closed).
public final class AuthSocketServer {
    public let listener: UnixListener
    public var clientTimeoutMilliseconds = 2000
    public var maxConnections = 32
    let gate: AuthServiceGate
    let workers = ConnectionWorkers()

    public init(listener: UnixListener, service: AuthService, now: @escaping () -> Timestamp) {
        self.listener = listener
        self.gate = AuthServiceGate(service: service, now: now)
    }

    /// Takes effect from the next request; a request in flight finishes under the old rules.
    public func replaceRules(_ rules: MFARules) { gate.replaceRules(rules) }

    /// Serves until `shouldStop` returns true (checked at least every `pollMilliseconds`), then
    /// waits for the connections in flight.
    public func run(pollMilliseconds: Int32 = 200, shouldStop: () -> Bool) throws {
        while !shouldStop() {
            guard let client = try listener.accept(waitingUpTo: pollMilliseconds) else { continue }
            guard gate.enter(limit: maxConnections) else { continue }
            let gate = self.gate
            let timeout = clientTimeoutMilliseconds
            let started = workers.run {
                Self.serve(client, gate: gate, timeoutMilliseconds: timeout)
                gate.leave()
            }
            if !started {
                gate.leave()
            }
        }
        while gate.activeConnections > 0 { usleep(10_000) }
    }

    /// Answers one connection. Any I/O or protocol failure just closes it: the module treats a
    /// missing or malformed answer as "unavailable", never as success.
    static func serve(_ client: SocketFD, gate: AuthServiceGate, timeoutMilliseconds: Int) {
        guard (try? client.setTimeout(milliseconds: timeoutMilliseconds)) != nil,
              let peer = try? client.peerCredentials(),
              let request = readRequest(client) else { return }
        let response = gate.handle(request, peer: peer)
        guard let frame = try? response.encoded() else { return }
        try? client.writeAll(frame)
    }

    static func readRequest(_ client: SocketFD) -> AuthRequest? {
        guard let header = try? client.readExactly(AuthWire.headerLength),
              let length = try? AuthFrame.bodyLength(header: header),
              let body = try? client.readExactly(length) else { return nil }
        return try? AuthRequest(body: body)
    }
}

/// The service behind a mutex, plus the count of connections in flight.
/// @unchecked Sendable: `service` and `active` are only touched while `mutex` is held, and `now`
/// is only called there too.
final class AuthServiceGate: @unchecked Sendable {
    private let service: AuthService
    private let now: () -> Timestamp
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private var active = 0

    init(service: AuthService, now: @escaping () -> Timestamp) {
        self.service = service
        self.now = now
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    private func locked<T>(_ body: () -> T) -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return body()
    }

    func handle(_ request: AuthRequest, peer: PeerCredentials) -> AuthResponse {
        locked { service.handle(request, peer: peer, now: now()) }
    }

    func replaceRules(_ rules: MFARules) { locked { service.rules = rules } }

    func enter(limit: Int) -> Bool {
        locked {
            guard active < limit else { return false }
            active += 1
            return true
        }
    }

    func leave() { locked { active -= 1 } }

    var activeConnections: Int { locked { active } }
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
