public import MamoriCore

/// Everything one posture run needs that the daemon knows and the checks cannot read themselves.
public struct PostureContext: Sendable {
    /// Prefix for every system path the checks read: "" in production, a temporary tree in tests.
    public var root: String
    /// The installed, verified profile (nil when there is none: the checks then use the
    /// profile defaults — every built-in check, the default PAM services, no allowed destinations).
    public var profile: Profile?
    public var profileStatus: ProfileStatus
    public var now: Timestamp
    /// The MFA state directory as the agent uses it (a real path, not under `root`).
    public var mfaDirectory: String
    /// The uid that must own the MFA directory and files (root in production).
    public var mfaOwner: UInt32
    public var journalHealth: JournalHealth
    /// Whether the daemon's media watcher service is running.
    public var mediaGuardRunning: Bool
    public var sources: PostureSources

    public init(root: String = "", profile: Profile?, profileStatus: ProfileStatus, now: Timestamp,
                mfaDirectory: String, mfaOwner: UInt32 = 0, journalHealth: JournalHealth, mediaGuardRunning: Bool,
                sources: PostureSources = .system) {
        self.root = root
        self.profile = profile
        self.profileStatus = profileStatus
        self.now = now
        self.mfaDirectory = mfaDirectory
        self.mfaOwner = mfaOwner
        self.journalHealth = journalHealth
        self.mediaGuardRunning = mediaGuardRunning
        self.sources = sources
    }

    var mfa: MFARules { profile?.mfa ?? .default }
    var network: NetworkRules { profile?.network ?? .default }
    var posture: PostureRules { profile?.posture ?? .default }
    var reportingInterval: Int64 { profile?.reporting.interval ?? ReportingRules.default.interval }
}

/// What the daemon knows about the profile it is enforcing.
public enum ProfileStatus: Sendable, Equatable {
    /// Installed, signature verified, in scope (the context's `profile`).
    case verified
    /// None installed (first start, or removed): the reason.
    case missing(String)
    /// The installed profile is valid but past its `expires` (the loader refuses it, so the daemon
    /// passes what it read: name, version, expiry).
    case expired(name: String, version: Int64, expires: Timestamp)
    /// The installed profile failed verification or parsing: the reason.
    case invalid(String)
}

/// The journal's state as the daemon's journal writer and shipper see it.
public struct JournalHealth: Sendable, Equatable {
    /// False when the last append (write or fsync) failed; `lastAppendError` says why.
    public var lastAppendSucceeded: Bool
    public var lastAppendError: String?
    /// Records written but not yet acknowledged by the collector.
    public var unreceiptedRecords: Int
    /// When the collector last acknowledged an upload (nil: never since `agentStarted`).
    public var lastShipment: Timestamp?
    /// The local spool is full: new records are at risk.
    public var spoolLimitReached: Bool
    public var agentStarted: Timestamp

    public init(lastAppendSucceeded: Bool, lastAppendError: String? = nil, unreceiptedRecords: Int,
                lastShipment: Timestamp?, spoolLimitReached: Bool, agentStarted: Timestamp) {
        self.lastAppendSucceeded = lastAppendSucceeded
        self.lastAppendError = lastAppendError
        self.unreceiptedRecords = unreceiptedRecords
        self.lastShipment = lastShipment
        self.spoolLimitReached = spoolLimitReached
        self.agentStarted = agentStarted
    }
}

/// The kernel clock's synchronisation state (adjtimex).
public struct ClockState: Sendable, Equatable {
    public var synchronised: Bool
    /// Kernel's maximum error estimate in microseconds.
    public var maxErrorMicroseconds: Int64
    public var estimatedErrorMicroseconds: Int64

    public init(synchronised: Bool, maxErrorMicroseconds: Int64, estimatedErrorMicroseconds: Int64) {
        self.synchronised = synchronised
        self.maxErrorMicroseconds = maxErrorMicroseconds
        self.estimatedErrorMicroseconds = estimatedErrorMicroseconds
    }
}

/// What the checks cannot read from files under `root`: injectable for tests, `.system` in production.
public struct PostureSources: Sendable {
    /// adjtimex(2) in production; a failure is the reason.
    public var clock: @Sendable () -> Result<ClockState, PostureSourceError>
    /// `nft -j list ruleset`'s output in production; a failure is the reason.
    public var nftRuleset: @Sendable () -> Result<String, PostureSourceError>

    public init(clock: @escaping @Sendable () -> Result<ClockState, PostureSourceError>,
                nftRuleset: @escaping @Sendable () -> Result<String, PostureSourceError>) {
        self.clock = clock
        self.nftRuleset = nftRuleset
    }

    public static let system = PostureSources(clock: { SystemPostureSources.kernelClock() },
                                              nftRuleset: { SystemPostureSources.nftRuleset() })
}

public struct PostureSourceError: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
