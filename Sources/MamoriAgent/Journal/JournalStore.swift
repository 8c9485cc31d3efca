#if canImport(Glibc)
import Glibc
#endif
public import Crypto
public import MamoriCore

/// Where a journal and its writer's secrets live. The journal directory can be copied and
/// shipped; the key directory is root-only and never leaves the terminal.
public struct JournalPaths: Sendable {
    public var journalDirectory: String
    public var keyDirectory: String

    public init(journalDirectory: String, keyDirectory: String) {
        self.journalDirectory = journalDirectory
        self.keyDirectory = keyDirectory
    }

    public var epochKeyPath: String { keyDirectory + "/epoch.key" }
    public var hostKeyPath: String { keyDirectory + "/host.key" }
    public var lockPath: String { journalDirectory + "/.lock" }
}

public struct JournalStoreOptions: Sendable {
    public enum Durability: Sendable {
        /// fdatasync before every append returns: what the agent uses.
        case syncEachAppend
        /// One fsync at close; for bulk generation of test and benchmark journals only.
        case syncOnClose
    }

    public var epochPolicy: EpochPolicy = .default
    public var segmentByteLimit = 64 << 20
    public var durability: Durability = .syncEachAppend
    /// Crash testing only: write each batch in two system calls, so a kill can tear a line.
    public var splitWritesForCrashTesting = false

    public init() {}
}

/// Proof that a record is on disk: returned only after the data was synced.
public struct JournalReceipt: Sendable, Hashable {
    public var seq: UInt64
    public var hash: Digest32
}

/// What a start-up repair cut from the end of the journal.
public struct JournalRecovery: Sendable, Equatable {
    public var segment: String
    public var cutBytes: Int
    public var cutLines: Int
    public var cutSHA256: String
}

public struct JournalStoreError: Error, CustomStringConvertible, Sendable {
    public enum Code: String, Sendable {
        case locked, missingState, inconsistentState, exists, invalidEvent
    }
    public let code: Code
    public let description: String
}

/// The agent's append-only journal: one writer (file lock), segment files, fdatasync before a
/// receipt, epoch keys evolved and erased, torn tails repaired on open.
///
/// Nothing here deletes segments. Whatever comes to prune them (#8's shipper, after the
/// collector's receipt) must first call `MFAStore.syncAll()`: the second-factor state files are
/// written without a sync and made durable by the `auth.*` records (see `MFAStateReconciler`).
public final class JournalStore {
    public let paths: JournalPaths
    public let options: JournalStoreOptions
    public private(set) var recovery: JournalRecovery?
    private var sealer: JournalSealer
    private let keyFile: EpochKeyFile
    private let lock: FileHandleFD
    private var segment: FileHandleFD
    private var segmentSize: Int
    /// The state after the last synced write: a failed append goes back to exactly this.
    private var durable: DurablePoint
    /// Appends that failed since the last one that succeeded (journalled by the next success).
    private var failures: FailedAppends?
    /// A key replacement that failed after its epoch-end checkpoint was synced: retried before
    /// anything else is written, so no record is ever sealed under a key the disk does not hold.
    private var pendingKeyState: EpochKeyState?

    struct DurablePoint {
        var sealer: JournalSealer
        var segment: FileHandleFD
        var segmentSize: Int
    }

    struct FailedAppends {
        var attempts: Int
        var records: Int
        var first: Timestamp
        var last: Timestamp
        var firstError: String
        var lastError: String
    }

    /// Appends that failed and were rolled back since the last success (0 when none).
    public var failedAppends: Int { failures?.attempts ?? 0 }

    public var host: String { sealer.host }
    public var nextSeq: UInt64 { sealer.nextSeq }
    public var head: JournalHead? { sealer.nextSeq == 0 ? nil : JournalHead(seq: sealer.nextSeq - 1, hash: sealer.head) }
    public var epoch: UInt64 { sealer.key.epoch }

    private init(paths: JournalPaths, options: JournalStoreOptions, sealer: JournalSealer, keyFile: EpochKeyFile,
                 lock: FileHandleFD, segment: FileHandleFD, segmentSize: Int) {
        self.paths = paths
        self.options = options
        self.sealer = sealer
        self.keyFile = keyFile
        self.lock = lock
        self.segment = segment
        self.segmentSize = segmentSize
        self.durable = DurablePoint(sealer: sealer, segment: segment, segmentSize: segmentSize)
    }

    static func acquireLock(_ paths: JournalPaths) throws -> FileHandleFD {
        let lock = try FileHandleFD(path: paths.lockPath, flags: O_RDWR | O_CREAT, mode: 0o600)
        do {
            try Syscall.call("flock", path: paths.lockPath) { flock(lock.fd, LOCK_EX | LOCK_NB) }
        } catch let error as SystemError where error.errno == .wouldBlock {
            throw JournalStoreError(code: .locked, description: "\(paths.journalDirectory): another process is writing this journal")
        }
        return lock
    }

    /// Starts a new journal with K0 and the host key; writes `journal.created` as record 0.
    public static func create(paths: JournalPaths, host: String, k0: EpochKey, hostKey: Curve25519.Signing.PrivateKey,
                              now: Timestamp, options: JournalStoreOptions = JournalStoreOptions()) throws -> JournalStore {
        precondition(k0.epoch == 0)
        try FileSystem.makeDirectory(paths.journalDirectory, mode: 0o750)
        try FileSystem.makeDirectory(paths.keyDirectory, mode: 0o700)
        let lock = try acquireLock(paths)
        let existing = try JournalDirectory(path: paths.journalDirectory).segments
        if FileSystem.exists(paths.epochKeyPath) || !existing.isEmpty {
            throw JournalStoreError(code: .exists, description: "\(paths.journalDirectory): a journal already exists here")
        }
        try HostKeyFile.write(hostKey, to: paths.hostKeyPath)
        let keyFile = try EpochKeyFile.create(path: paths.epochKeyPath, state: EpochKeyState(key: k0, firstSeq: 0, startedAt: now))
        let segmentPath = paths.journalDirectory + "/" + JournalDirectory.segmentName(firstSeq: 0)
        let segment = try FileHandleFD(path: segmentPath, flags: O_WRONLY | O_CREAT | O_APPEND, mode: 0o640)
        try FileSystem.syncDirectory(paths.journalDirectory)
        let sealer = JournalSealer(host: host, key: k0, signingKey: hostKey, nextSeq: 0, head: .zero, epochFirstSeq: 0,
                                   epochStartedAt: now, policy: options.epochPolicy)
        let store = JournalStore(paths: paths, options: options, sealer: sealer, keyFile: keyFile, lock: lock,
                                 segment: segment, segmentSize: 0)
        _ = try store.append(kind: JournalKind.created, payload: [
            "format": .int(1),
            "host_key": .string(Hex.encode(hostKey.publicKey.rawRepresentation)),
        ], now: now)
        return store
    }

    /// A fresh journal for a test or demo root, with what a verifier needs beside the keys: K0 in
    /// `keys/k0` and the host's public key in `keys/host.pub` (an enrolled terminal never has them;
    /// only the collector holds K0).
    public static func createWithVerificationMaterial(paths: JournalPaths, host: String, now: Timestamp,
                                                      options: JournalStoreOptions = JournalStoreOptions()) throws -> JournalStore {
        let k0 = EpochKey.generateK0()
        let hostKey = Curve25519.Signing.PrivateKey()
        let store = try create(paths: paths, host: host, k0: k0, hostKey: hostKey, now: now, options: options)
        try FileSystem.writeFileAtomically(paths.keyDirectory + "/k0", Array((Hex.encode(k0.keyBytes) + "\n").utf8))
        try HostKeyFile.writePublic(hostKey.publicKey, to: paths.keyDirectory + "/host.pub")
        return store
    }

    /// Opens an existing journal for appending. Cuts a torn tail (and records that it did),
    /// finishes an interrupted epoch change, and refuses state that does not fit together.
    public static func open(paths: JournalPaths, now: Timestamp, options: JournalStoreOptions = JournalStoreOptions()) throws -> JournalStore {
        guard FileSystem.isDirectory(paths.journalDirectory) else {
            throw JournalStoreError(code: .missingState, description: "\(paths.journalDirectory): no journal directory; this terminal's journal was never created")
        }
        let lock = try acquireLock(paths)
        guard FileSystem.exists(paths.epochKeyPath) else {
            throw JournalStoreError(code: .missingState, description: "\(paths.epochKeyPath): no epoch key; this terminal's journal was never created or its key state is lost")
        }
        let (keyFile, keyState) = try EpochKeyFile.open(path: paths.epochKeyPath)
        let hostKey = try HostKeyFile.read(paths.hostKeyPath)
        let directory = try JournalDirectory(path: paths.journalDirectory)
        guard let last = directory.segments.last else {
            throw JournalStoreError(code: .missingState, description: "\(paths.journalDirectory): no journal segments, but key state exists")
        }

        let handle = try FileHandleFD(path: last.path, flags: O_RDWR | O_APPEND)
        let tail = try cutTornTail(handle, segmentName: last.name)
        let previousSegment = directory.segments.count > 1 ? directory.segments[directory.segments.count - 2].path : nil
        guard let lastLine = try lastLine(of: tail.bytes, previousSegment: previousSegment),
              let headRecord = try? JournalLineParser.decode(lastLine),
              let headParsed = try? JournalLineParser.parse(lastLine)
        else {
            throw JournalStoreError(code: .inconsistentState, description: "\(paths.journalDirectory): the journal has no readable record to continue from")
        }
        let headHash = headParsed.hash
        let isEpochEnd = headRecord.kind == JournalKind.checkpoint
            && headRecord.payload["reason"]?.stringValue == CheckpointReason.epochEnd.rawValue
        let recovery = tail.recovery
        let keep = tail.bytes.count

        // 3. Reconcile the key state with the journal.
        var state = keyState
        var sealer: JournalSealer
        let nextSeq = headRecord.seq + 1
        if headRecord.epoch == state.key.epoch {
            sealer = JournalSealer(host: headRecord.host, key: state.key, signingKey: hostKey, nextSeq: nextSeq, head: headHash,
                                   epochFirstSeq: min(state.firstSeq, nextSeq), epochStartedAt: state.startedAt, policy: options.epochPolicy)
            if isEpochEnd {
                // Crashed after the epoch-end checkpoint, before the key moved on: move it now.
                let key = sealer.advanceEpoch(now: now)
                state = EpochKeyState(key: key, firstSeq: nextSeq, startedAt: now)
                try keyFile.replace(with: state)
            }
        } else if headRecord.epoch + 1 == state.key.epoch, isEpochEnd {
            sealer = JournalSealer(host: headRecord.host, key: state.key, signingKey: hostKey, nextSeq: nextSeq, head: headHash,
                                   epochFirstSeq: nextSeq, epochStartedAt: state.startedAt, policy: options.epochPolicy)
        } else {
            throw JournalStoreError(
                code: .inconsistentState,
                description: "\(paths.journalDirectory): key state is for epoch \(state.key.epoch) but the journal's last record is in epoch \(headRecord.epoch); refusing to write")
        }

        let segmentSize = keep
        let store = JournalStore(paths: paths, options: options, sealer: sealer, keyFile: keyFile, lock: lock,
                                 segment: handle, segmentSize: segmentSize)
        store.recovery = recovery
        if let recovery {
            _ = try store.append(kind: JournalKind.recovered, payload: [
                "segment": .string(recovery.segment),
                "cut_bytes": .int(Int64(recovery.cutBytes)),
                "cut_lines": .int(Int64(recovery.cutLines)),
                "cut_sha256": .string(recovery.cutSHA256),
            ], now: now)
        }
        return store
    }

    /// Cuts an unterminated last line, then any trailing lines that do not parse (a crash can
    /// leave zero-filled or half-written blocks). Returns what is kept and what was cut.
    private static func cutTornTail(_ handle: FileHandleFD, segmentName: String) throws -> (bytes: [UInt8], recovery: JournalRecovery?) {
        let bytes = try handle.readAll()
        var keep = bytes.count
        var cutLines = 0
        if keep > 0, bytes[keep - 1] != 0x0A {
            keep = lineStart(in: bytes, before: keep)
            cutLines += 1
        }
        while keep > 0 {
            let start = lineStart(in: bytes, before: keep - 1)
            let line = Array(bytes[start..<(keep - 1)])
            if isParseable(line) { break }
            keep = start
            cutLines += 1
        }
        guard keep < bytes.count else { return (bytes, nil) }
        let cut = Array(bytes[keep...])
        let recovery = JournalRecovery(segment: segmentName, cutBytes: cut.count, cutLines: cutLines,
                                       cutSHA256: Hex.encode(Array(SHA256.hash(data: cut))))
        try handle.truncate(to: keep)
        try handle.sync()
        return (Array(bytes[0..<keep]), recovery)
    }

    private static func isParseable(_ line: [UInt8]) -> Bool {
        do {
            _ = try JournalLineParser.parse(line)
            return true
        } catch {
            return false
        }
    }

    /// Index just after the last newline before `end`, or 0.
    private static func lineStart(in bytes: [UInt8], before end: Int) -> Int {
        var index = end - 1
        while index >= 0 {
            if bytes[index] == 0x0A { return index + 1 }
            index -= 1
        }
        return 0
    }

    /// The last complete line of the segment, or of the one before it when this one is empty.
    private static func lastLine(of bytes: [UInt8], previousSegment: String?) throws -> [UInt8]? {
        var source = bytes
        if source.isEmpty, let previousSegment { source = try FileSystem.readFile(previousSegment) }
        guard let last = source.last, last == 0x0A else { return nil }
        let start = lineStart(in: source, before: source.count - 1)
        return Array(source[start..<(source.count - 1)])
    }

    /// Appends one event; returns once it is on disk.
    public func append(kind: String, payload: [String: JSONValue], now: Timestamp) throws -> JournalReceipt {
        try append([(kind, payload)], now: now)[0]
    }

    /// Group commit: appends several events with one write and one sync; every receipt is
    /// returned only after all of them are on disk.
    ///
    /// A failed write or sync (ENOSPC, EIO) is rolled back: the segment is truncated to the last
    /// synced offset and the sequence, head and epoch go back to what they were, so the journal
    /// stays a valid chain and the next append continues it; the error is thrown (the caller
    /// fails closed). The first append that succeeds afterwards is preceded by one
    /// `journal.write-failed` record with the count of lost attempts and the errors.
    public func append(_ events: [(kind: String, payload: [String: JSONValue])], now: Timestamp) throws -> [JournalReceipt] {
        for event in events where !JournalRecord.isValidKind(event.kind) {
            throw JournalStoreError(code: .invalidEvent, description: "invalid event kind \"\(event.kind)\"")
        }
        do {
            try retryPendingKeyState()
            guard let failed = failures else { return try appendUnguarded(events, now: now) }
            let note: (kind: String, payload: [String: JSONValue]) = (JournalKind.writeFailed, [
                "attempts": .int(Int64(failed.attempts)), "records_refused": .int(Int64(failed.records)),
                "first": .string(failed.first.description), "last": .string(failed.last.description),
                "first_error": .string(failed.firstError), "last_error": .string(failed.lastError),
            ])
            let receipts = try appendUnguarded([note] + events, now: now)
            failures = nil
            return Array(receipts.dropFirst())
        } catch {
            rollBack()
            var failed = failures ?? FailedAppends(attempts: 0, records: 0, first: now, last: now,
                                                   firstError: "\(error)", lastError: "\(error)")
            failed.attempts += 1
            failed.records += events.count
            failed.last = now
            failed.lastError = "\(error)"
            failures = failed
            throw error
        }
    }

    /// Back to the last synced point: truncate what a failed write left, drop a segment file
    /// this append started, restore the sealer.
    private func rollBack() {
        if segment !== durable.segment {
            // A segment started by the failed append: empty of durable records, so removed.
            let name = JournalDirectory.segmentName(firstSeq: durable.sealer.nextSeq)
            unlink(paths.journalDirectory + "/" + name)
            segment = durable.segment
        }
        try? segment.truncate(to: durable.segmentSize)
        segmentSize = durable.segmentSize
        sealer = durable.sealer
    }

    private func retryPendingKeyState() throws {
        guard let state = pendingKeyState else { return }
        try keyFile.replace(with: state)
        pendingKeyState = nil
    }

    private func appendUnguarded(_ events: [(kind: String, payload: [String: JSONValue])], now: Timestamp) throws -> [JournalReceipt] {
        var buffer: [UInt8] = []
        var firstSeq = sealer.nextSeq
        var receipts: [JournalReceipt] = []
        receipts.reserveCapacity(events.count)
        for event in events {
            if sealer.epochIsDue(now: now) {
                try write(buffer, firstSeq: firstSeq)
                buffer.removeAll(keepingCapacity: true)
                try closeEpoch(now: now)
                firstSeq = sealer.nextSeq
            }
            let sealed = sealer.seal(kind: event.kind, payload: event.payload, time: now)
            buffer.append(contentsOf: sealed.line)
            buffer.append(0x0A)
            receipts.append(JournalReceipt(seq: sealed.seq, hash: sealed.hash))
        }
        try write(buffer, firstSeq: firstSeq)
        if sealer.epochIsDue(now: now) { try closeEpoch(now: now) }
        return receipts
    }

    /// Writes a signed checkpoint now (before an upload, on shutdown, on request).
    @discardableResult
    public func checkpoint(reason: CheckpointReason, now: Timestamp) throws -> JournalReceipt {
        if reason == .epochEnd {
            let seq = sealer.nextSeq
            try closeEpoch(now: now)
            return JournalReceipt(seq: seq, hash: sealer.head)
        }
        do {
            try retryPendingKeyState()
            let sealed = sealer.checkpoint(reason: reason, time: now)
            try write(sealed.line + [0x0A], firstSeq: sealed.seq)
            return JournalReceipt(seq: sealed.seq, hash: sealed.hash)
        } catch {
            rollBack()
            throw error
        }
    }

    /// Ends the epoch if its record count or age says so; the agent calls this on a timer so a
    /// quiet terminal does not keep an old key on disk.
    public func closeEpochIfDue(now: Timestamp) throws {
        if sealer.recordsInEpoch > 0, sealer.epochIsDue(now: now) { try closeEpoch(now: now) }
    }

    /// Writes a shutdown checkpoint and syncs everything.
    public func close(now: Timestamp) throws {
        _ = try checkpoint(reason: .shutdown, now: now)
        try segment.sync()
    }

    /// Syncs what was written with `.syncOnClose` durability.
    public func sync() throws { try segment.sync() }

    private func closeEpoch(now: Timestamp) throws {
        let sealed = sealer.checkpoint(reason: .epochEnd, time: now)
        var line = sealed.line
        line.append(0x0A)
        try write(line, firstSeq: sealed.seq, forceSync: true)
        let key = sealer.advanceEpoch(now: now)
        // The checkpoint is on disk: the epoch has ended whatever happens to the key file, and
        // the old key must go. If the replacement fails (a full disk), nothing more is written
        // until it succeeds (`retryPendingKeyState`); a restart advances the key the same way.
        let state = EpochKeyState(key: key, firstSeq: sealer.nextSeq, startedAt: now)
        durable = DurablePoint(sealer: sealer, segment: segment, segmentSize: segmentSize)
        do {
            try keyFile.replace(with: state)
        } catch {
            pendingKeyState = state
            throw error
        }
    }

    private func write(_ buffer: [UInt8], firstSeq: UInt64, forceSync: Bool = false) throws {
        guard !buffer.isEmpty else { return }
        if segmentSize > 0, segmentSize + buffer.count > options.segmentByteLimit {
            try segment.sync()
            let path = paths.journalDirectory + "/" + JournalDirectory.segmentName(firstSeq: firstSeq)
            segment = try FileHandleFD(path: path, flags: O_WRONLY | O_CREAT | O_APPEND, mode: 0o640)
            segmentSize = 0
            try FileSystem.syncDirectory(paths.journalDirectory)
        }
        if options.splitWritesForCrashTesting, buffer.count > 1 {
            let half = buffer.count / 2
            try segment.writeAll(Array(buffer[0..<half]))
            sched_yield()
            try segment.writeAll(Array(buffer[half...]))
        } else {
            try segment.writeAll(buffer)
        }
        segmentSize += buffer.count
        if options.durability == .syncEachAppend || forceSync { try segment.syncData() }
        // Synced (or, for bulk generation with `syncOnClose`, as durable as that mode ever is).
        durable = DurablePoint(sealer: sealer, segment: segment, segmentSize: segmentSize)
    }
}
