/// How many connections to the PAM socket may be open at once, and for how long one may take to
/// deliver its request. The socket is world-connectable (a screen locker runs as the user), so a
/// local user must not be able to take the capacity that login, sshd, gdm, su and sudo need:
/// those run the module as root, and root callers have slots of their own that no other uid can
/// take. Each non-root uid may hold only a few connections, and all non-root uids together a
/// bounded number more.
public struct AuthConnectionLimits: Sendable, Equatable {
    /// Connections from uid 0 (the login programs), reserved for them.
    public var rootConnections: Int
    /// Connections from all non-root uids together.
    public var nonRootConnections: Int
    /// Connections from any one non-root uid.
    public var perUidConnections: Int
    /// The whole request (header and body) must arrive within this bound after the connection
    /// is accepted, however its bytes trickle in.
    public var requestDeadlineMilliseconds: Int

    public init(rootConnections: Int = 32, nonRootConnections: Int = 16, perUidConnections: Int = 4,
                requestDeadlineMilliseconds: Int = 1000) {
        self.rootConnections = rootConnections
        self.nonRootConnections = nonRootConnections
        self.perUidConnections = perUidConnections
        self.requestDeadlineMilliseconds = requestDeadlineMilliseconds
    }

    public static let standard = AuthConnectionLimits()
}

/// The open connections per uid, and whether one more may be admitted. Pure: the socket server
/// keeps one behind a lock.
public struct AuthConnectionAdmission: Sendable {
    public enum Refusal: String, Sendable {
        /// The uid already holds `perUidConnections`.
        case perUidCap = "per-uid-cap"
        /// Non-root callers together hold `nonRootConnections`.
        case nonRootCap = "non-root-cap"
        /// Every root slot is busy.
        case rootCap = "root-cap"
    }

    public let limits: AuthConnectionLimits
    private(set) var open: [UInt32: Int] = [:]
    private(set) var rootOpen = 0
    private(set) var nonRootOpen = 0

    public init(limits: AuthConnectionLimits) { self.limits = limits }

    /// Admits one connection from `uid` (counted until `release`), or says why not.
    public mutating func admit(uid: UInt32) -> Refusal? {
        if uid == 0 {
            guard rootOpen < limits.rootConnections else { return .rootCap }
            rootOpen += 1
            return nil
        }
        let held = open[uid, default: 0]
        guard held < limits.perUidConnections else { return .perUidCap }
        guard nonRootOpen < limits.nonRootConnections else { return .nonRootCap }
        open[uid] = held + 1
        nonRootOpen += 1
        return nil
    }

    public mutating func release(uid: UInt32) {
        if uid == 0 {
            rootOpen = max(0, rootOpen - 1)
            return
        }
        guard let held = open[uid] else { return }
        if held <= 1 { open[uid] = nil } else { open[uid] = held - 1 }
        nonRootOpen = max(0, nonRootOpen - 1)
    }

    public var total: Int { rootOpen + nonRootOpen }

    public func held(by uid: UInt32) -> Int { uid == 0 ? rootOpen : open[uid, default: 0] }
}
