public import Logging
public import MamoriClient
import MamoriCore
public import ServiceLifecycle

/// Sends the journal to the collector in batches and keeps the collector's newest receipt.
///
/// - Nothing is deleted: the journal itself is the spool. Records are sent only up to the
///   journal's durable head, so the collector never holds a record the terminal could lose.
/// - Resumes exactly where the receipts end (`ShipperCursor`); with no receipt yet, where the
///   collector says its copy ends. A batch the collector already holds comes back as a duplicate.
/// - Failures back off exponentially with jitter, from `retry_initial` to `retry_max`.
/// - Above `spool_limit` unshipped bytes the agent journals `shipper.spool_limit` once (and
///   `shipper.spool_recovered` when back under): the oldest evidence is kept, never dropped.
public struct ShipperService: Service {
    public static let spoolLimitKind = "shipper.spool_limit"
    public static let spoolRecoveredKind = "shipper.spool_recovered"
    public static let refusedKind = "shipper.refused"

    let runtime: AgentRuntime
    /// Where the last read ended (only the service's own task uses it).
    let readPosition = PositionBox()
    let client: CollectorClient
    let identity: AgentIdentity
    let logger: Logger

    public init(runtime: AgentRuntime, client: CollectorClient, identity: AgentIdentity, logger: Logger) {
        self.runtime = runtime
        self.client = client
        self.identity = identity
        self.logger = logger
    }

    public func run() async throws {
        var failures = 0
        var lastRefusal: String?
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            let configuration = runtime.configuration
            do {
                try await shipAll(batch: configuration.batchRecords)
                failures = 0
                lastRefusal = nil
            } catch let refusal as Refusal {
                failures += 1
                if refusal.detail != lastRefusal {
                    lastRefusal = refusal.detail
                    try? await runtime.journal.append(kind: Self.refusedKind, payload: ["detail": .string(refusal.detail)], now: SystemClock.now())
                }
                note(failure: refusal.detail, failures: failures)
            } catch {
                failures += 1
                note(failure: "\(error)", failures: failures)
            }
            await checkSpool(limit: configuration.spoolLimitBytes)
            let wait = failures > 0 ? Self.backoff(failures: failures, initial: configuration.retryInitialSeconds,
                                                   maximum: configuration.retryMaxSeconds, unit: Double.random(in: 0.5...1.0))
                : Double(configuration.shipIntervalSeconds ?? runtime.effectiveProfileRules.reporting.interval)
            guard await pause(seconds: wait) else { break }
        }
        // A last attempt on the way out, bounded so shutdown stays prompt.
        _ = try? await withTimeout(seconds: 5) { try await shipAll(batch: runtime.configuration.batchRecords) }
        logger.info("shipper: stopped")
    }

    /// Exponential backoff with jitter: initial × 2^(failures-1), capped, times `unit` (0.5...1).
    public static func backoff(failures: Int, initial: Int64, maximum: Int64, unit: Double) -> Double {
        let doublings = min(max(failures - 1, 0), 30)
        return min(Double(maximum), Double(initial) * Double(1 << doublings)) * unit
    }

    struct Refusal: Error { var detail: String }

    func note(failure: String, failures: Int) {
        if failures == 1 || failures % 10 == 0 {
            logger.warning("shipper: delivery failed; retrying with backoff", metadata: ["error": "\(failure)", "failures": "\(failures)"])
        }
    }

    /// Ships every durable record after the cursor, batch by batch.
    func shipAll(batch limit: Int) async throws {
        let reader = JournalBatchReader(directory: runtime.layout.journalDirectory)
        var cursorSeq = try await startingPoint()
        while let head = runtime.journal.head, cursorSeq.map({ $0 < head.seq }) ?? true {
            let first = cursorSeq.map { $0 + 1 } ?? 0
            guard let (batch, position) = try reader.read(first: first, last: head.seq, limit: limit, from: readPosition.value) else { break }
            readPosition.value = position
            switch try await client.shipJournal(identity: identity, lines: batch.bytes) {
            case .stored(let receipt):
                guard receipt.head.seq >= batch.lastSeq else {
                    throw Refusal(detail: "the collector's receipt ends at \(receipt.head.seq), before the batch's last record \(batch.lastSeq)")
                }
                let cursor = ShipperCursor(seq: receipt.head.seq, hash: receipt.head.hash, receivedAt: receipt.receivedAt)
                try cursor.save(runtime.layout.shipperCursorPath)
                runtime.updateShipment { $0.lastReceipt = cursor }
                cursorSeq = cursor.seq
            case .refused(let explanation):
                throw Refusal(detail: "the collector refused records \(batch.firstSeq)–\(batch.lastSeq): "
                    + (explanation["reason"]?.stringValue ?? explanation["detail"]?.stringValue ?? explanation.canonicalString))
            }
        }
    }

    /// The cursor, or (first shipment, or a lost cursor file) the collector's own head.
    func startingPoint() async throws -> UInt64? {
        if let cursor = runtime.shipment.lastReceipt { return cursor.seq }
        let reply = try await client.signed("GET", "/v1/agent/head", identity: identity).json(expect: 200)
        guard let next = reply["next_seq"]?.intValue, next >= 0 else { throw Refusal(detail: "the collector's head reply has no next_seq") }
        return next == 0 ? nil : UInt64(next - 1)
    }

    func checkSpool(limit: Int64) async {
        let reader = JournalBatchReader(directory: runtime.layout.journalDirectory)
        guard let bytes = try? reader.unshippedBytes(after: runtime.shipment.lastReceipt?.seq, head: runtime.journal.head?.seq,
                                                     position: readPosition.value) else { return }
        let wasReached = runtime.shipment.spoolLimitReached
        let reached = bytes > limit
        runtime.updateShipment { $0.spoolLimitReached = reached }
        guard reached != wasReached else { return }
        let kind = reached ? Self.spoolLimitKind : Self.spoolRecoveredKind
        logger.log(level: reached ? .error : .notice, "shipper: \(kind)", metadata: ["unshipped_bytes": "\(bytes)", "limit": "\(limit)"])
        try? await runtime.journal.append(kind: kind, payload: [
            "unshipped_bytes": .int(bytes), "limit_bytes": .int(limit),
            "action": .string(reached ? "nothing is deleted; the oldest evidence is kept until the collector receipts it" : "back under the limit"),
        ], now: SystemClock.now())
    }
}

/// Runs `body`, giving up after `seconds`.
func withTimeout<T: Sendable>(seconds: Double, _ body: @escaping @Sendable () async throws -> T) async throws -> T? {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: .milliseconds(Int64(seconds * 1000)))
            return nil
        }
        let first = try await group.next() ?? nil
        group.cancelAll()
        return first
    }
}

/// The shipper's read position between batches.
/// @unchecked Sendable: used only by the shipper's one task, sequentially.
final class PositionBox: @unchecked Sendable {
    var value: JournalBatchReader.Position?
}
