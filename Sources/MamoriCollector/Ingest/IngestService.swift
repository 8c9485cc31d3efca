public import MamoriCore

/// A request number not above the last one accepted from the host.
public struct ReplayedRequest: Error, Sendable {
    public var number: Int64
}

/// What became of a batch.
public enum IngestOutcome: Sendable, Equatable {
    /// Stored (or already held): the head after it, how many records were new.
    case stored(head: JournalHead, newRecords: Int64, duplicate: Bool)
    /// Refused as tampering: kept as evidence, an alert raised, the head unchanged.
    case tampered(JournalFailure, alertId: String, head: JournalHead?)
    /// A record verifies (hash, chain, MAC) but names another host in its `host` member: a host
    /// writing records in another's name. Refused like tampering (evidence, alert, head unchanged).
    case foreignHost(seq: UInt64, detail: String, alertId: String, head: JournalHead?)
}

/// Verifies every batch in full as the continuation of what the collector already holds, and
/// stores only a batch that extends the head. Overlap with stored records must match byte for
/// byte (a re-delivery is acknowledged again, nothing stored twice); anything else — a gap, a
/// fork, a bad MAC, a key from the wrong epoch, a bad checkpoint signature — is evidence.
public struct IngestService: Sendable {
    public let store: CollectorStore
    public let box: SecretBox
    public let metrics: CollectorMetrics
    /// The most lines one batch may hold.
    public var maxRecords = 100_000

    public init(store: CollectorStore, box: SecretBox, metrics: CollectorMetrics) {
        self.store = store
        self.box = box
        self.metrics = metrics
    }

    /// - Parameter requestNumber: the agent's request number, not yet accepted: it is accepted
    ///   together with the batch (one commit), or on its own when nothing is stored. A number not
    ///   above the last one accepted throws `ReplayedRequest`.
    public func ingest(host initial: HostRecord, body: [UInt8], requestNumber: Int64?, now: Timestamp) async throws -> IngestOutcome {
        let lines = try splitLines(body)
        var host = initial
        var pendingNumber = requestNumber
        // Two attempts: a concurrent request for the same host may move the head between our
        // read and our conditional write; the second attempt then sees it (usually a duplicate).
        for _ in 0..<2 {
            if let outcome = try await attempt(host: host, lines: lines, body: body, requestNumber: &pendingNumber, now: now) { return outcome }
            guard let fresh = try await store.host(id: host.id) else { throw CollectorError.notFound("host \(host.id) is gone") }
            host = fresh
        }
        throw CollectorError.conflict("the host's head kept moving; send the batch again")
    }

    /// Accepts a request number that is still pending, for outcomes that store nothing.
    func acceptPending(_ number: inout Int64?, host: HostRecord, now: Timestamp) async throws {
        guard let value = number else { return }
        guard try await store.acceptRequestNumber(hostId: host.id, request: value, now: now) else {
            throw ReplayedRequest(number: value)
        }
        number = nil
    }

    /// The body's lines (each must end with a newline), without the newlines.
    func splitLines(_ body: [UInt8]) throws -> [ArraySlice<UInt8>] {
        guard !body.isEmpty else { throw CollectorError.badRequest("the batch is empty") }
        guard body.last == 0x0A else { throw CollectorError.badRequest("the batch must end with a newline (one record per line)") }
        let lines = body.dropLast().split(separator: 0x0A, omittingEmptySubsequences: false)
        guard lines.count <= maxRecords else { throw CollectorError.tooLarge("a batch holds at most \(maxRecords) records") }
        return lines
    }

    func attempt(host: HostRecord, lines: [ArraySlice<UInt8>], body: [UInt8], requestNumber: inout Int64?,
                 now: Timestamp) async throws -> IngestOutcome? {
        let next = host.point.nextSeq
        let firstSeq = lines.first.flatMap { line in line.withUnsafeBufferPointer { try? JournalLineParser.parse($0).seq } }
        var overlap = 0
        if let firstSeq, firstSeq < next {
            overlap = Int(min(UInt64(lines.count), next - firstSeq))
            if let failure = try await compareOverlap(host: host, lines: lines.prefix(overlap), firstSeq: firstSeq) {
                try await acceptPending(&requestNumber, host: host, now: now)
                return try await refuse(host: host, failure: failure, body: body, now: now)
            }
            if overlap == lines.count, let head = host.head {
                try await acceptPending(&requestNumber, host: host, now: now)
                metrics.recordDuplicate()
                return .stored(head: head, newRecords: 0, duplicate: true)
            }
        }
        // The new records are the body from the first line after the overlap: no copying line by line.
        let newBytes = Array(body[(overlap == 0 ? body.startIndex : lines[overlap].startIndex)...])
        let newCount = lines.count - overlap
        let epochKeyBytes = try box.open(host.epochKeySealed, context: "epoch-key:" + host.id)
        guard let hostKey = host.publicKey else { throw CollectorError.internalError("host \(host.id) has no usable public key") }
        var verifier = JournalVerifier(resumingAt: host.point, epochKey: EpochKey(epoch: host.point.epoch, keyBytes: epochKeyBytes),
                                       hostKey: hostKey)
        let report = try verifier.verify(InMemoryJournalSource(segments: [("batch", newBytes)]))
        if let failure = report.failure {
            try await acceptPending(&requestNumber, host: host, now: now)
            return try await refuse(host: host, failure: failure, body: body, now: now)
        }
        guard let resume = report.resume, let head = report.head, let key = verifier.epochKey(for: resume.epoch) else {
            throw CollectorError.internalError("verification succeeded without a resume point")
        }
        if let (seq, claimed) = Self.foreignRecord(in: lines[overlap...], hostId: host.id) {
            try await acceptPending(&requestNumber, host: host, now: now)
            metrics.recordVerificationFailure(kind: "foreign-host")
            let detail = "record \(seq) names host \(PrintableText.ascii(claimed, limit: 80).text), not the sending host \(host.id)"
            let alert = try await store.raiseAlert(host: host, kind: "tamper", failure: "foreign-host", seq: Int64(seq),
                                                   detail: detail, route: "journal", body: body, keep: .whole, now: now)
            return .foreignHost(seq: seq, detail: detail, alertId: alert.id, head: host.head)
        }
        let sealedKey = try box.seal(key.keyBytes, context: "epoch-key:" + host.id)
        let stored = try await store.appendBatch(hostId: host.id, from: host.point, to: resume, epochKeySealed: sealedKey,
                                                 lines: String(decoding: newBytes, as: UTF8.self), records: Int64(newCount),
                                                 requestNumber: requestNumber, now: now,
                                                 posture: PostureExtractor.records(in: Array(lines[overlap...])),
                                                 media: MediaEventExtractor.facts(in: Array(lines[overlap...])), host: host)
        guard stored else {
            // Either the head moved (retry) or the number was a replay: tell them apart.
            try await acceptPending(&requestNumber, host: host, now: now)
            return nil
        }
        metrics.recordIngest(records: newCount)
        return .stored(head: head, newRecords: Int64(newCount), duplicate: false)
    }

    /// The first of `lines` (verified records, so in the writer's canonical layout) whose `host`
    /// member is not exactly `hostId`: its seq and the host it names. The comparison is on the
    /// bytes as written: an escaped spelling of the right id is not the right id.
    static func foreignRecord(in lines: ArraySlice<ArraySlice<UInt8>>, hostId: String) -> (UInt64, String)? {
        let key = Array(",\"host\":\"".utf8)
        let expected = Array(hostId.utf8) + [UInt8(ascii: "\"")]
        for line in lines {
            guard let start = line.firstRange(of: key)?.upperBound else { continue }  // not a record: the verifier refused it already
            let value = line[start...]
            if value.starts(with: expected) { continue }
            let claimed = value.prefix { $0 != UInt8(ascii: "\"") }
            let seq = line.withUnsafeBufferPointer { try? JournalLineParser.parse($0).seq } ?? 0
            return (seq, String(decoding: claimed, as: UTF8.self))
        }
        return nil
    }

    /// Lines the collector already holds must come again unchanged.
    func compareOverlap(host: HostRecord, lines: ArraySlice<ArraySlice<UInt8>>, firstSeq: UInt64) async throws -> JournalFailure? {
        let last = firstSeq + UInt64(lines.count) - 1
        let stored = try await store.storedLines(hostId: host.id, seqs: firstSeq...last)
        for (offset, line) in lines.enumerated() {
            let seq = firstSeq + UInt64(offset)
            guard let held = stored[seq] else {
                return JournalFailure(kind: .forked, seq: seq, location: nil,
                                      detail: "the batch resends seq \(seq), which the collector does not hold as sent")
            }
            if !held.utf8.elementsEqual(line) {
                return JournalFailure(kind: .forked, seq: seq, location: nil,
                                      detail: "record \(seq) differs from the one the collector already holds")
            }
        }
        return nil
    }

    func refuse(host: HostRecord, failure: JournalFailure, body: [UInt8], now: Timestamp) async throws -> IngestOutcome {
        metrics.recordVerificationFailure(kind: failure.kind.rawValue)
        let alert = try await store.raiseAlert(host: host, kind: "tamper", failure: failure.kind.rawValue, seq: Int64(failure.seq),
                                               detail: failure.detail, route: "journal", body: body, keep: .whole, now: now)
        return .tampered(failure, alertId: alert.id, head: host.head)
    }
}
