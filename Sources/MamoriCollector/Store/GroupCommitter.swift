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
