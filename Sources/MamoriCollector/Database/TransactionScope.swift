import Synchronization

/// Whether a transaction's executor may still be used. An executor that escaped its body (kept
/// in a property, captured by a task that outlives it) would otherwise run statements outside
/// the transaction, or on a connection another caller now owns.
final class TransactionScope: Sendable {
    private let isOpen = Atomic<Bool>(true)

    func end() { isOpen.store(false, ordering: .releasing) }

    func checkOpen(_ sql: String) throws {
        guard isOpen.load(ordering: .acquiring) else {
            throw SQLDatabaseError(
                "the transaction this executor belonged to has ended", statement: sql, code: .closed)
        }
    }
}

/// The databases whose transaction the current task (or its parent) holds open, so a call on the
/// database itself from inside `transaction`'s body fails at once instead of waiting for itself.
enum OpenTransactions {
    @TaskLocal static var databases: Set<ObjectIdentifier> = []

    static func checkNotInside(_ database: AnyObject, _ sql: String) throws {
        guard !databases.contains(ObjectIdentifier(database)) else {
            throw SQLDatabaseError(
                "the database was called from inside its own transaction; use the executor passed to the body",
                statement: sql, code: .reentrantUse)
        }
    }

    static func inside<T>(_ database: AnyObject, _ body: () async throws -> T) async rethrows -> T {
        try await $databases.withValue(databases.union([ObjectIdentifier(database)]), operation: body)
    }
}
