#if canImport(Glibc)
import Glibc
#endif
public import MamoriCore

/// One user whose state file the journal brought up to date at start.
public struct MFAStateRestore: Sendable, Equatable {
    public var user: String
    /// The file was unreadable (a crash on a file system that does not flush data on rename) and
    /// the synced snapshot was the starting point.
    public var fromSnapshot: Bool
    /// The file now reflects the journal's records of this user before this seq.
    public var journalSeq: UInt64

    /// The `auth.state_restored` record saying so.
    public var journalEvent: (kind: String, payload: [String: JSONValue]) {
        (kind: AuthEventKind.stateRestored, payload: [
            "user": .string(user), "from_snapshot": .bool(fromSnapshot), "journal_seq": .string(String(journalSeq)),
        ])
    }
}

/// Start-up repair of the MFA state files: a login writes its user's file without a sync, and
/// the `auth.*` record it journals (synced before the answer) carries the state it left. After a
/// crash a file may be older than the journal; this applies, for each user, the records of the
/// file's generation from its `journalSeq` on, then syncs every file once (`MFAStore.syncAll`).
/// Must run before the first login is served, with the journal opened (its torn tail cut).
public enum MFAStateReconciler {
    public static func reconcile(store: MFAStore, journalDirectory: String) throws -> [MFAStateRestore] {
        let users = try store.users()
        var earliest = UInt64.max
        for user in users {
            guard let base = try? baseRecord(store, user) else { continue }
            earliest = min(earliest, base.record.journalSeq)
        }
        let states = earliest == .max ? [:] : try journalStates(journalDirectory: journalDirectory, from: earliest)
        var restored: [MFAStateRestore] = []
        for user in users {
            // Under the user's lock: an administrator may be changing the same user right now.
            let restore = try store.withLock(user) { () throws -> MFAStateRestore? in
                // An insecure file stays as it is: logins refuse it until an administrator looks.
                guard let base = try? baseRecord(store, user) else { return nil }
                let (record, changed) = MFAJournalReplay.replay(base.record, entries: states[user] ?? [])
                guard changed || base.fromSnapshot else { return nil }
                try store.writeSynced(record)
                return MFAStateRestore(user: user, fromSnapshot: base.fromSnapshot, journalSeq: record.journalSeq)
            }
            if let restore { restored.append(restore) }
        }
        // A file that is still unreadable (no usable snapshot) is left for logins to refuse, rather
        // than keeping every other user from logging in.
        _ = try store.syncAll(skippingUnreadable: true)
        return restored
    }

    /// The user's file, or its snapshot when the file is unreadable; nil when neither is usable
    /// (not enrolled, insecure, or both corrupt).
    static func baseRecord(_ store: MFAStore, _ user: String) throws -> (record: MFAUserRecord, fromSnapshot: Bool)? {
        do {
            guard let record = try store.read(user) else { return nil }
            return (record, false)
        } catch let error as MFAStoreError {
            guard error.code == .corrupt, let snapshot = try store.readSnapshot(user) else { throw error }
            return (snapshot, true)
        }
    }

    static let marker = Array("\"\(MFAJournalState.payloadKey)\":".utf8)

    /// The journalled states of every user, from seq `from` on, read from the segment files.
    public static func journalStates(journalDirectory: String, from first: UInt64) throws -> [String: [(seq: UInt64, state: MFAJournalState)]] {
        let segments = try JournalDirectory(path: journalDirectory).segments
        var states: [String: [(seq: UInt64, state: MFAJournalState)]] = [:]
        for (index, segment) in segments.enumerated() {
            // A segment whose successor starts at or before `first` holds only older records.
            if index + 1 < segments.count, segments[index + 1].firstSeq <= first { continue }
            let bytes = try FileSystem.readFile(segment.path)
            bytes.withUnsafeBufferPointer { buffer in
                _ = JournalSegmentScanner.scan(buffer, segment: segment.name, firstIndex: 0, skipping: 0, isLastSegment: false) { line in
                    if let (user, seq, state) = authState(line.bytes), seq >= first {
                        states[user, default: []].append((seq, state))
                    }
                    return true
                }
            }
        }
        return states
    }

    static func contains(_ line: UnsafeBufferPointer<UInt8>, _ needle: [UInt8]) -> Bool {
        guard let first = needle.first, line.count >= needle.count else { return false }
        var index = 0
        while index <= line.count - needle.count {
            if line[index] == first, needle.indices.allSatisfy({ line[index + $0] == needle[$0] }) { return true }
            index += 1
        }
        return false
    }

    /// The user, seq and carried state of an `auth.*` line; nil for any other line.
    static func authState(_ line: UnsafeBufferPointer<UInt8>) -> (String, UInt64, MFAJournalState)? {
        // Cheap filter first: most lines are not logins, and parsing hashes the whole line.
        guard contains(line, marker),
              let parsed = try? JournalLineParser.parse(line), parsed.kind.hasPrefix("auth."),
              let payload = try? JSONValue.parse(line[parsed.payloadRange]),
              let user = payload["user"]?.stringValue, MFAUserName.isValid(user),
              let carried = payload[MFAJournalState.payloadKey], let state = MFAJournalState(json: carried)
        else { return nil }
        return (user, parsed.seq, state)
    }
}
