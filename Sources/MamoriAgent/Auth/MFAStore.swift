#if canImport(Glibc)
import Glibc
#endif
public import MamoriCore

public struct MFAStoreError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable { case badName, insecure, corrupt }
    public let code: Code
    public let description: String
}

/// The root-only directory of enrolled users: `USER.json` (credential and verifier state in
/// one canonical-JSON file) and `USER.lock`. Every read-verify-write runs under an exclusive
/// flock on the user's lock file, and every write is temp + fsync + rename + directory fsync,
/// so concurrent logins and crashes never lose a failure count or let a replay through.
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

    /// Runs `body` on the user's record (nil when not enrolled) under the user's lock; writes
    /// back the record `body` returns, if any, before the lock is released.
    public func update<Result>(_ user: String, _ body: (MFAUserRecord?) throws -> (MFAUserRecord?, Result)) throws -> Result {
        guard MFAUserName.isValid(user) else {
            throw MFAStoreError(code: .badName, description: "`\(user)` is not a valid user name")
        }
        try checkDirectory()
        let lock = try FileHandleFD(path: lockPath(user), flags: O_RDWR | O_CREAT | O_NOFOLLOW, mode: 0o600)
        // The lock is released when the descriptor closes, so its lifetime must cover the write.
        return try withExtendedLifetime(lock) {
            try Syscall.call("flock", path: lockPath(user)) { flock(lock.fd, LOCK_EX) }
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
            try Syscall.call("unlink", path: recordPath(user)) { unlink(recordPath(user)) }
            try FileSystem.syncDirectory(directory)
            return (nil, true)
        }
    }

    /// Reads a record without taking the lock (for listing); nil when not enrolled.
    public func read(_ user: String) throws -> MFAUserRecord? {
        guard MFAUserName.isValid(user) else {
            throw MFAStoreError(code: .badName, description: "`\(user)` is not a valid user name")
        }
        let path = recordPath(user)
        guard FileSystem.exists(path) else { return nil }
        let info = try FileSystem.ownerAndMode(path)
        guard info.isRegular, info.uid == owner, info.mode & 0o077 == 0 else {
            throw MFAStoreError(code: .insecure, description: "\(path): must be a regular file owned by uid \(owner) with mode 0600 (is uid \(info.uid), mode \(String(info.mode, radix: 8)))")
        }
        guard let record = MFAUserRecord(bytes: try FileSystem.readFile(path)), record.user == user else {
            throw MFAStoreError(code: .corrupt, description: "\(path): not a valid enrolment record")
        }
        return record
    }

    public func write(_ record: MFAUserRecord) throws {
        guard MFAUserName.isValid(record.user) else {
            throw MFAStoreError(code: .badName, description: "`\(record.user)` is not a valid user name")
        }
        try FileSystem.writeFileAtomically(recordPath(record.user), record.canonicalBytes, mode: 0o600)
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
