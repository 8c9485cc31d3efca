import Foundation
public import MamoriCore

/// Group commit for concurrent producers: the journal store lives on one dedicated thread (it does
/// blocking writes and fdatasync, which must stay off the cooperative pool); callers await a
/// receipt. Whatever arrived while the previous sync was running goes out in the next single write
/// and sync, so many concurrent events cost one sync, and no receipt is given before its sync.
public final class JournalWriter: Sendable {
    private struct Pending {
        var kind: String
        var payload: [String: JSONValue]
        var continuation: CheckedContinuation<JournalReceipt, any Error>
    }

    /// Shared between producers and the writer thread; every access holds `condition`.
    private final class Queue: @unchecked Sendable {
        let condition = NSCondition()
        var pending: [Pending] = []
        var stopping = false
        var stopped = false
        var failure: (any Error)?
    }

    private let queue = Queue()

    /// Takes ownership of `store`: nothing else may use it afterwards.
    public init(store: sending JournalStore, maxBatch: Int = 512, now: @escaping @Sendable () -> Timestamp) {
        let queue = self.queue
        let box = StoreBox(store)
        let thread = Thread {
            JournalWriter.run(queue: queue, store: box.store, maxBatch: maxBatch, now: now)
        }
        thread.name = "mamori-journal-writer"
        thread.start()
    }

    /// Appends one event; returns after the record (and its batch) is on disk.
    public func append(kind: String, payload: [String: JSONValue]) async throws -> JournalReceipt {
        try await withCheckedThrowingContinuation { continuation in
            queue.condition.lock()
            defer { queue.condition.unlock() }
            if let failure = queue.failure {
                continuation.resume(throwing: failure)
                return
            }
            if queue.stopping {
                continuation.resume(throwing: JournalStoreError(code: .missingState, description: "the journal writer is shut down"))
                return
            }
            queue.pending.append(Pending(kind: kind, payload: payload, continuation: continuation))
            queue.condition.signal()
        }
    }

    /// Writes what is queued, a shutdown checkpoint, and stops the thread. Waits until done.
    public func shutdown() {
        queue.condition.lock()
        queue.stopping = true
        queue.condition.broadcast()
        while !queue.stopped { queue.condition.wait() }
        queue.condition.unlock()
    }

    private static func run(queue: Queue, store: JournalStore, maxBatch: Int, now: @Sendable () -> Timestamp) {
        while true {
            queue.condition.lock()
            while queue.pending.isEmpty && !queue.stopping { queue.condition.wait() }
            let take = min(queue.pending.count, maxBatch)
            let batch = Array(queue.pending.prefix(take))
            queue.pending.removeFirst(take)
            let finished = batch.isEmpty && queue.stopping
            queue.condition.unlock()
            if finished { break }
            do {
                let receipts = try store.append(batch.map { ($0.kind, $0.payload) }, now: now())
                for (item, receipt) in zip(batch, receipts) { item.continuation.resume(returning: receipt) }
            } catch {
                // A failed write poisons the writer: nothing after it may be acknowledged.
                for item in batch { item.continuation.resume(throwing: error) }
                failAll(queue: queue, error: error)
                return
            }
        }
        try? store.close(now: now())
        queue.condition.lock()
        queue.stopped = true
        queue.condition.broadcast()
        queue.condition.unlock()
    }

    private static func failAll(queue: Queue, error: any Error) {
        queue.condition.lock()
        queue.failure = error
        let rest = queue.pending
        queue.pending.removeAll()
        queue.stopped = true
        queue.condition.broadcast()
        queue.condition.unlock()
        for item in rest { item.continuation.resume(throwing: error) }
    }
}

/// Moves the non-Sendable store into the writer thread exactly once; after that only the thread
/// touches it, so the unchecked conformance is safe.
private final class StoreBox: @unchecked Sendable {
    let store: JournalStore
    init(_ store: JournalStore) { self.store = store }
}
