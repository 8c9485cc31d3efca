@testable import MamoriCollector
import Synchronization
import Testing

/// The lock that serialises SQLite's shared connection. No clocks: tests wait for a known queue.
@Suite struct AsyncLockTests {
    final class Order: Sendable {
        private let entries = Mutex<[Int]>([])
        func append(_ value: Int) { entries.withLock { $0.append(value) } }
        var all: [Int] { entries.withLock { $0 } }
    }

    private static func waitUntilQueued(_ lock: AsyncLock, _ count: Int) async {
        // Sleep, not Task.yield: a yield loop on a busy 2-core pool can starve the tasks it waits for.
        while lock.waiterCount < count { try? await Task.sleep(for: .milliseconds(2)) }
    }

    @Test func waitersGetTheLockInArrivalOrder() async throws {
        let lock = AsyncLock()
        let order = Order()
        try await lock.lock()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<8 {
                group.addTask { try await lock.withLock { order.append(index) } }
                await Self.waitUntilQueued(lock, index + 1)
            }
            lock.unlock()
            try await group.waitForAll()
        }
        #expect(order.all == Array(0..<8))
        #expect(lock.waiterCount == 0)
    }

    @Test func cancelledWaiterLeavesTheQueueAndTheLockPassesOn() async throws {
        let lock = AsyncLock()
        let order = Order()
        try await lock.lock()
        let cancelled = Task { try await lock.withLock { order.append(1) } }
        await Self.waitUntilQueued(lock, 1)
        let next = Task { try await lock.withLock { order.append(2) } }
        await Self.waitUntilQueued(lock, 2)
        cancelled.cancel()
        await #expect(throws: CancellationError.self) { try await cancelled.value }
        #expect(lock.waiterCount == 1)
        lock.unlock()
        try await next.value
        #expect(order.all == [2])
        // Nothing leaked: the lock is free again.
        try await lock.withLock { order.append(3) }
        #expect(order.all == [2, 3])
    }

    @Test func alreadyCancelledTaskDoesNotQueue() async throws {
        let lock = AsyncLock()
        try await lock.lock()
        let task = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            try await lock.lock()
        }
        await #expect(throws: CancellationError.self) { try await task.value }
        #expect(lock.waiterCount == 0)
        lock.unlock()
    }

    @Test func throwingBodyReleasesTheLock() async throws {
        struct Failure: Error {}
        let lock = AsyncLock()
        await #expect(throws: Failure.self) { try await lock.withLock { () throws -> Void in throw Failure() } }
        let value = try await lock.withLock { 42 }
        #expect(value == 42)
    }
}

/// SQLite's one connection: a plain query issued while another task's transaction is open waits
/// for it, so it never runs inside it (it would see, and become part of, uncommitted work).
@Suite struct SQLiteSerialisationTests {
    struct Abandon: Error, Equatable {}

    /// The limit is generous: on a 2-core machine the synchronous suites running beside this one
    /// can hold the cooperative pool for a minute or more, which delays this test but is not a
    /// failure of what it checks.
    @Test(.timeLimit(.minutes(5)))
    func plainQueryWaitsForAnOpenTransaction() async throws {
        try await withFreshDatabase(.sqlite) { fresh in
            let db = try await SQLiteDatabase.open(
                path: SQLDatabaseOpener.sqlitePath(dataDirectory: fresh.dataDirectory), logger: testLogger)
            do {
                try await Self.check(db)
            } catch {
                // Closed on every path: an unclosed SQLiteConnection traps in its deinit, which would
                // take the whole test process down instead of recording this test's failure.
                try? await db.close()
                throw error
            }
            try await db.close()
        }
    }

    static func check(_ db: SQLiteDatabase) async throws {
        try await db.query("CREATE TABLE t (id BIGINT PRIMARY KEY)", [])
        let (inside, insideContinuation) = AsyncStream.makeStream(of: Void.self)
        let (release, releaseContinuation) = AsyncStream.makeStream(of: Void.self)
        // Whatever happens below, the transaction is let go, so the database can be closed.
        defer { releaseContinuation.finish() }
        let transaction = Task { try await db.transaction { tx in
            try await tx.query("INSERT INTO t (id) VALUES (1)", [])
            insideContinuation.yield()
            for await _ in release { break }
            throw Abandon()
        } }
        for await _ in inside { break }
        let count = Task { try await db.query("SELECT COUNT(*) AS n FROM t", []) }
        // Sleep, not Task.yield: a yield loop on a busy 2-core pool can starve the task it waits for.
        while db.lock.waiterCount < 1 { try await Task.sleep(for: .milliseconds(2)) }
        releaseContinuation.yield()
        await #expect(throws: Abandon()) { try await transaction.value }
        #expect(try await count.value.first?["n"] == .int(0))
    }
}
