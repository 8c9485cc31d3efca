/// Commits the small writes of concurrent requests together: every operation queued while a
/// transaction is being committed goes into the next one, so a busy collector pays one durable
/// commit (one fsync) for many requests instead of one each. A request is answered only after
/// the transaction holding its write has committed.
///
/// Each operation returns whether it took effect (a conditional UPDATE that matched). An
/// operation that throws aborts its whole transaction, and every request in it gets the error:
/// nothing is acknowledged that was not committed.
actor GroupCommitter {
    typealias Operation = @Sendable (any SQLExecutor) async throws -> Bool

    struct Pending: Sendable {
        let operation: Operation
        let continuation: CheckedContinuation<Bool, any Error>
    }

    let database: any SQLDatabase
    private var queue: [Pending] = []
    private var draining = false

    init(database: any SQLDatabase) { self.database = database }

    func submit(_ operation: @escaping Operation) async throws -> Bool {
        try await withCheckedThrowingContinuation { continuation in
            queue.append(Pending(operation: operation, continuation: continuation))
            if !draining {
                draining = true
                Task { await self.drain() }
            }
        }
    }

    private func drain() async {
        while !queue.isEmpty {
            let batch = queue
            queue = []
            do {
                let results = try await database.transaction { sql in
                    var results: [Bool] = []
                    results.reserveCapacity(batch.count)
                    for pending in batch { results.append(try await pending.operation(sql)) }
                    return results
                }
                for (pending, result) in zip(batch, results) { pending.continuation.resume(returning: result) }
            } catch {
                for pending in batch { pending.continuation.resume(throwing: error) }
            }
        }
        draining = false
    }
}

/// Several group committers side by side, each with its own transaction (so its own connection),
/// so one commit's round trips and fsync do not hold up every other request. A host always goes
/// to the same lane (a stable hash of its id), so one host's writes stay in order and two lanes
/// never wait on each other's row locks. SQLite has one writer, so it gets one lane; PostgreSQL
/// gets several and merges their WAL flushes itself.
struct GroupCommitLanes: Sendable {
    let lanes: [GroupCommitter]

    init(database: any SQLDatabase, lanes count: Int) {
        precondition(count >= 1, "at least one commit lane")
        lanes = (0..<count).map { _ in GroupCommitter(database: database) }
    }

    /// Lanes for an engine: one for SQLite (a single writer), four for PostgreSQL.
    static func defaultCount(for engine: SQLEngine) -> Int {
        switch engine {
        case .sqlite: 1
        case .postgres: 4
        }
    }

    func submit(key: String, _ operation: @escaping GroupCommitter.Operation) async throws -> Bool {
        try await lanes[Self.lane(for: key, count: lanes.count)].submit(operation)
    }

    /// FNV-1a over the key's UTF-8: the same lane for the same host in every process.
    static func lane(for key: String, count: Int) -> Int {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in key.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01b3
        }
        return Int(hash % UInt64(count))
    }
}
