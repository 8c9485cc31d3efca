import Dispatch
import Foundation
public import MamoriCore

/// The terminal's one journal, shared by every service: the auth verifier's connection threads,
/// the media guard's thread and the async services. A lock serialises appends (each is synced
/// before it returns); async callers are moved to a private queue so fdatasync never blocks the
/// cooperative pool.
///
/// @unchecked Sendable: `store`, `failure` and `durableHead` are only touched while `lock` is held.
public final class SharedJournal: @unchecked Sendable, AuthJournal {
    private let lock = NSLock()
    private let store: JournalStore
    private var failure: String?
    private var durableHead: JournalHead?
    private let queue = DispatchQueue(label: "mamori.journal")

    public init(_ store: JournalStore) {
        self.store = store
        self.durableHead = store.head
    }

    public var host: String { lock.withLock { store.host } }
    public var nextSeq: UInt64 { lock.withLock { store.nextSeq } }
    /// The newest record known to be on disk: the shipper never sends past it.
    public var head: JournalHead? { lock.withLock { durableHead } }
    /// The last append's failure, nil once an append succeeds again.
    public var lastFailure: String? { lock.withLock { failure } }

    public func record(_ events: [(kind: String, payload: [String: JSONValue])], now: Timestamp) throws {
        guard !events.isEmpty else { return }
        try lock.withLock {
            do {
                _ = try store.append(events, now: now)
                failure = nil
                durableHead = store.head
            } catch {
                failure = "\(error)"
                throw error
            }
        }
    }

    public func record(kind: String, payload: [String: JSONValue], now: Timestamp) throws {
        try record([(kind, payload)], now: now)
    }

    /// The same, from async code: the write and its sync run on the journal's own queue.
    public func append(_ events: [(kind: String, payload: [String: JSONValue])], now: Timestamp) async throws {
        let box = EventsBox(events)
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            queue.async {
                do {
                    try self.record(box.events, now: now)
                    continuation.resume()
                } catch {
                    continuation.resume(throwing: error)
                }
            }
        }
    }

    public func append(kind: String, payload: [String: JSONValue], now: Timestamp) async throws {
        try await append([(kind, payload)], now: now)
    }

    /// Seals a checkpoint and closes the segment cleanly (graceful shutdown).
    public func close(now: Timestamp) throws {
        try lock.withLock { try store.close(now: now) }
    }
}

/// Carries events (tuples are not Sendable by inference) to the journal queue.
/// @unchecked Sendable: `events` is immutable after init.
private final class EventsBox: @unchecked Sendable {
    let events: [(kind: String, payload: [String: JSONValue])]
    init(_ events: [(kind: String, payload: [String: JSONValue])]) { self.events = events }
}
