import Synchronization

/// A mutual-exclusion lock for async code: waiters queue in FIFO order and suspend instead of
/// blocking a thread. A waiter cancelled before it gets the lock leaves the queue and throws
/// `CancellationError`; one cancelled after it got the lock keeps it (and must unlock).
///
/// The SQLite backend needs it because its one connection is shared: a statement from another
/// task must not land inside someone else's open transaction.
final class AsyncLock: Sendable {
    private struct Waiter {
        enum Continuation {
            case cancellable(CheckedContinuation<Void, any Error>)
            case uncancellable(CheckedContinuation<Void, Never>)

            func resume() {
                switch self {
                case .cancellable(let continuation): continuation.resume()
                case .uncancellable(let continuation): continuation.resume()
                }
            }
        }

        var id: UInt64
        var continuation: Continuation
    }

    private struct State {
        var isLocked = false
        var waiters: [Waiter] = []
        var nextID: UInt64 = 0
    }

    private let state = Mutex(State())

    init() {}

    /// Runs `body` while holding the lock.
    func withLock<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        try await lock()
        defer { unlock() }
        return try await body()
    }

    /// Waits however long it takes, cancelled or not: for work that must happen even in a
    /// cancelled task (closing the connection).
    func withLockIgnoringCancellation<T: Sendable>(_ body: () async throws -> T) async rethrows -> T {
        let id = state.withLock { state in
            state.nextID &+= 1
            return state.nextID
        }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let granted: Bool = state.withLock { state in
                if !state.isLocked {
                    state.isLocked = true
                    return true
                }
                state.waiters.append(Waiter(id: id, continuation: .uncancellable(continuation)))
                return false
            }
            if granted { continuation.resume() }
        }
        defer { unlock() }
        return try await body()
    }

    func lock() async throws {
        let id = state.withLock { state in
            state.nextID &+= 1
            return state.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                enqueue(id: id, continuation: continuation)
            }
        } onCancel: {
            cancelWaiter(id: id)
        }
    }

    /// How many tasks wait (for tests that need a known queue before they go on).
    var waiterCount: Int { state.withLock { $0.waiters.count } }

    func unlock() {
        let next: Waiter? = state.withLock { state in
            precondition(state.isLocked, "AsyncLock.unlock() without lock()")
            if state.waiters.isEmpty {
                state.isLocked = false
                return nil
            }
            return state.waiters.removeFirst()  // the lock passes straight to it
        }
        next?.continuation.resume()
    }

    private enum Admission { case granted, queued, cancelled }

    private func enqueue(id: UInt64, continuation: CheckedContinuation<Void, any Error>) {
        // Checked under the mutex: `Task.cancel()` sets the flag before it runs the cancellation
        // handler, so either we see the flag here or the handler sees this waiter in the queue.
        let admission: Admission = state.withLock { state in
            if Task.isCancelled { return .cancelled }
            if !state.isLocked {
                state.isLocked = true
                return .granted
            }
            state.waiters.append(Waiter(id: id, continuation: .cancellable(continuation)))
            return .queued
        }
        switch admission {
        case .granted: continuation.resume()
        case .cancelled: continuation.resume(throwing: CancellationError())
        case .queued: break
        }
    }

    private func cancelWaiter(id: UInt64) {
        let removed: CheckedContinuation<Void, any Error>? = state.withLock { state in
            guard let index = state.waiters.firstIndex(where: { $0.id == id }),
                  case .cancellable(let continuation) = state.waiters[index].continuation else { return nil }
            state.waiters.remove(at: index)
            return continuation
        }
        removed?.resume(throwing: CancellationError())
    }
}
