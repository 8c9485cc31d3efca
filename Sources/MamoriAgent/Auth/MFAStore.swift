#if canImport(Glibc)
import Glibc
#endif
import Crypto
public import MamoriCore

public struct MFAStoreError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable { case badName, insecure, corrupt }
    public let code: Code
    public let description: String
}

/// The root-only directory of enrolled users: `USER.json` (credential and verifier state in
/// one canonical-JSON file), `USER.snapshot` (a synced copy) and `USER.lock`. Every
/// read-verify-write runs under an exclusive flock on the user's lock file, so concurrent logins
/// never lose a failure count or let a replay through. Administrators' writes are temp + rename;
/// a login's write overwrites the file in place, so readers take the lock too (`readLocked`).
///
/// Durability comes in two kinds. An administrator's change (`write`, `update`, `remove`: enrol,
/// reset, unlock) is synced — file, snapshot and directory — and starts a new generation. A
/// login's change (`writeLoginState`) is not synced at all: the `auth.*` journal record of the
/// login carries the state it left and is synced before the answer, so the journal is the source
/// of truth. At agent start `MFAStateReconciler` applies the records newer than each file (a crash
/// may have set a file back, or left it torn or empty: its digest line then fails and it starts
/// from the snapshot) and `syncAll` makes the result durable. Whatever drops
/// journal records from disk must call `syncAll` first.
/// Files with the wrong owner or any group/other permission are refused, never "fixed".
public struct MFAStore: Sendable {
    public let directory: String
    /// The only uid allowed to own the directory and its files (root in production).
    public let owner: UInt32

    public init(directory: String, owner: UInt32) {
        self.directory = directory
        self.owner = owner
    }

    /// Owned by whoever runs the agent: root in production, the test user in tests.
    public init(directory: String) {
        self.init(directory: directory, owner: UInt32(geteuid()))
    }

    public func recordPath(_ user: String) -> String { directory + "/" + user + ".json" }
    public func snapshotPath(_ user: String) -> String { directory + "/" + user + ".snapshot" }
    func lockPath(_ user: String) -> String { directory + "/" + user + ".lock" }

    /// Creates the directory (0700) if missing and checks it.
    public func prepare() throws {
        try FileSystem.makeDirectory(directory, mode: 0o700)
        try checkDirectory()
    }

    public func checkDirectory() throws {
        let info = try FileSystem.ownerAndMode(directory)
        guard FileSystem.isDirectory(directory), info.uid == owner, info.mode & 0o077 == 0 else {
            throw MFAStoreError(code: .insecure, description: "\(directory): must be a directory owned by uid \(owner) with mode 0700 (is uid \(info.uid), mode \(String(info.mode, radix: 8)))")
        }
    }

    /// Runs `body` under the user's exclusive lock (released when it returns). Not reentrant: a
    /// second lock of the same user from inside `body` would wait forever.
    public func withLock<Result>(_ user: String, _ body: () throws -> Result) throws -> Result {
        guard MFAUserName.isValid(user) else {
            throw MFAStoreError(code: .badName, description: "`\(user)` is not a valid user name")
        }
        try checkDirectory()
        let lock = try FileHandleFD(path: lockPath(user), flags: O_RDWR | O_CREAT | O_NOFOLLOW, mode: 0o600)
        // The lock is released when the descriptor closes, so its lifetime must cover the body.
        return try withExtendedLifetime(lock) {
            try Syscall.call("flock", path: lockPath(user)) { flock(lock.fd, LOCK_EX) }
            return try body()
        }
    }

    /// An administrator's read-modify-write: runs `body` on the user's record (nil when not
    /// enrolled) under the user's lock and writes back the record it returns, if any, with `write`
    /// (synced, new generation) before the lock is released.
    public func update<Result>(_ user: String, _ body: (MFAUserRecord?) throws -> (MFAUserRecord?, Result)) throws -> Result {
        try withLock(user) {
            let current = try read(user)
            let (next, result) = try body(current)
            if let next { try write(next) }
            return result
        }
    }

    /// Removes the user's enrolment under the user's lock; false when there was none.
    @discardableResult
    public func remove(_ user: String) throws -> Bool {
        try update(user) { record -> (MFAUserRecord?, Bool) in
            guard record != nil else { return (nil, false) }
            // The snapshot first: a crash in between leaves an enrolment with no snapshot, which
            // the next start snapshots again, never a snapshot that would bring a removed user back.
            if FileSystem.exists(snapshotPath(user)) {
                try Syscall.call("unlink", path: snapshotPath(user)) { unlink(snapshotPath(user)) }
            }
            try Syscall.call("unlink", path: recordPath(user)) { unlink(recordPath(user)) }
            try FileSystem.syncDirectory(directory)
            return (nil, true)
        }
    }

    /// Reads a record without taking the lock (for listing); nil when not enrolled.
    public func read(_ user: String) throws -> MFAUserRecord? {
        try read(user, path: recordPath(user))
    }

    /// The synced copy of the user's record as of the last administrator's change or `syncAll`.
    public func readSnapshot(_ user: String) throws -> MFAUserRecord? {
        try read(user, path: snapshotPath(user))
    }

    func read(_ user: String, path: String) throws -> MFAUserRecord? {
        guard MFAUserName.isValid(user) else {
            throw MFAStoreError(code: .badName, description: "`\(user)` is not a valid user name")
        }
        guard FileSystem.exists(path) else { return nil }
        let info = try FileSystem.ownerAndMode(path)
        guard info.isRegular, info.uid == owner, info.mode & 0o077 == 0 else {
            throw MFAStoreError(code: .insecure, description: "\(path): must be a regular file owned by uid \(owner) with mode 0600 (is uid \(info.uid), mode \(String(info.mode, radix: 8)))")
        }
        guard let record = Self.decodeFile(try FileSystem.readFile(path)), record.user == user else {
            throw MFAStoreError(code: .corrupt, description: "\(path): not a valid enrolment record")
        }
        return record
    }

    /// An administrator's write (enrol, import, reset, unlock): the record starts a new
    /// generation, so no journal record of an earlier login is ever applied over it, and file,
    /// snapshot and directory are synced before this returns. Hold the user's lock (`update`)
    /// when a login may be running.
    public func write(_ record: MFAUserRecord) throws {
        guard MFAUserName.isValid(record.user) else {
            throw MFAStoreError(code: .badName, description: "`\(record.user)` is not a valid user name")
        }
        var record = record
        record.generation = Self.newGeneration()
        record.journalSeq = 0
        try writeSynced(record)
        try FileSystem.syncDirectory(directory)
    }

    /// A login's write, under the user's lock: the file overwritten in place, no rename and no
    /// sync (so the journal's one sync per login carries nothing else). The caller journals the
    /// state (`MFAJournalState`, with `record.generation`) and waits for that record's sync before
    /// it answers; `record.journalSeq` must not exceed that record's seq. A crash may leave the
    /// file old or torn; start-up reconciliation rebuilds it from the snapshot and the journal.
    /// Readers other than the agent's own locked path use `readLocked`.
    public func writeLoginState(_ record: MFAUserRecord) throws {
        guard MFAUserName.isValid(record.user) else {
            throw MFAStoreError(code: .badName, description: "`\(record.user)` is not a valid user name")
        }
        try FileSystem.overwriteFile(recordPath(record.user), Self.encodeFile(record), mode: 0o600)
    }

    /// A state file: the record's canonical JSON, a newline, and `sha256:` + the hex SHA-256 of
    /// that JSON + a newline. A login's in-place write torn by a crash (new bytes over part of the
    /// old) can still be valid JSON with the wrong secret or state; the digest makes it `corrupt`,
    /// so start-up rebuilds it from the snapshot and the journal instead of trusting it.
    static func encodeFile(_ record: MFAUserRecord) -> [UInt8] {
        let json = record.canonicalBytes
        return json + digestTrailer(json)
    }

    static func decodeFile(_ bytes: [UInt8]) -> MFAUserRecord? {
        let trailerLength = 73  // newline + "sha256:" + 64 hex digits + newline
        guard bytes.count > trailerLength else { return nil }
        let json = Array(bytes[..<(bytes.count - trailerLength)])
        guard bytes[(bytes.count - trailerLength)...].elementsEqual(digestTrailer(json)) else { return nil }
        return MFAUserRecord(bytes: json)
    }

    /// "\nsha256:HEX\n" for `json`.
    static func digestTrailer(_ json: [UInt8]) -> [UInt8] {
        [0x0A] + Array("sha256:".utf8) + Array(Hex.encode(Array(SHA256.hash(data: json))).utf8) + [0x0A]
    }

    /// `read` under the user's lock: never sees a login's in-place write half done.
    public func readLocked(_ user: String) throws -> MFAUserRecord? {
        try withLock(user) { try read(user) }
    }

    /// File and snapshot, each synced; the caller syncs the directory.
    func writeSynced(_ record: MFAUserRecord) throws {
        let bytes = Self.encodeFile(record)
        try FileSystem.replaceFile(recordPath(record.user), bytes, mode: 0o600, syncData: true)
        try FileSystem.replaceFile(snapshotPath(record.user), bytes, mode: 0o600, syncData: true)
    }

    /// Makes every user's current state durable: each file synced and copied to its synced
    /// snapshot under the user's lock, then one sync of the directory. The agent calls it after
    /// reconciling at start; anything that drops journal records from disk (pruning after the
    /// collector's receipt, #8's shipper) must call it first and prune only if it succeeds, since
    /// until then a login's state may exist only in the journal. By default it throws on the first
    /// user whose file cannot be read (pruning must wait until that is repaired); with
    /// `skippingUnreadable` it passes over such users and returns them.
    @discardableResult
    public func syncAll(skippingUnreadable: Bool = false) throws -> [String] {
        var skipped: [String] = []
        for user in try users() {
            try withLock(user) {
                let record: MFAUserRecord?
                do {
                    record = try read(user)
                } catch let error as MFAStoreError {
                    guard skippingUnreadable else { throw error }
                    skipped.append(user)
                    return
                }
                guard let record else { return }
                try FileSystem.syncFile(recordPath(user))
                try FileSystem.replaceFile(snapshotPath(user), Self.encodeFile(record), mode: 0o600, syncData: true)
            }
        }
        try FileSystem.syncDirectory(directory)
        return skipped
    }

    /// 16 random hex digits.
    static func newGeneration() -> String {
        var generator = SystemRandomNumberGenerator()
        return Hex.encode(withUnsafeBytes(of: generator.next() as UInt64) { Array($0) })
    }

    /// Enrolled users, sorted.
    public func users() throws -> [String] {
        try checkDirectory()
        return try FileSystem.listDirectory(directory).compactMap { name in
            guard name.hasSuffix(".json") else { return nil }
            let user = String(name.dropLast(5))
            return MFAUserName.isValid(user) ? user : nil
        }
    }
}
