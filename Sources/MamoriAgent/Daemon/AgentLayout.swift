import MamoriCore

/// Where the agent keeps things. Every path is under `root`: "" in production, a directory for
/// tests and demos (`mamori-agent run --root DIR`), so several agents can run on one machine.
public struct AgentLayout: Sendable {
    public var root: String

    public init(root: String) { self.root = root }

    public var configurationPath: String { root + AgentConfiguration.defaultPath }
    public var stateDirectory: String { root + "/var/lib/mamori" }
    public var mfaDirectory: String { stateDirectory + "/mfa" }
    public var journalDirectory: String { stateDirectory + "/journal" }
    public var keyDirectory: String { stateDirectory + "/keys" }
    public var journalPaths: JournalPaths { JournalPaths(journalDirectory: journalDirectory, keyDirectory: keyDirectory) }
    /// The enrolment: host id, organisation, collector URL, receipt key (`EnrolmentRecord`).
    public var enrolmentPath: String { stateDirectory + "/enrolment.json" }
    /// The collector's CA certificate, pinned at enrolment.
    public var collectorCAPath: String { keyDirectory + "/collector-ca.pem" }
    /// The profile root public key, pinned at enrolment; replaced only by a verified root rotation.
    public var profileRootPath: String { keyDirectory + "/profile-root.pub" }
    public var profileDirectory: String { stateDirectory + "/profile" }
    /// The verified profile every enforcing part reads (`InstalledProfile`).
    public var profilePath: String { root + InstalledProfile.defaultPath }
    /// The signed envelope the installed profile came from, kept for audit.
    public var profileEnvelopePath: String { profileDirectory + "/current.envelope.json" }
    /// The highest profile version ever accepted for this terminal's scope (anti-rollback).
    public var profileVersionFloorPath: String { profileDirectory + "/version-floor.json" }
    /// The one-off grants in force, one signed envelope per line (`DeviceGrantBook`).
    public var grantsPath: String { profileDirectory + "/grants.jsonl" }
    /// Grants that ended on this terminal, so they are never taken again (`DeviceGrantBook`).
    public var grantLedgerPath: String { profileDirectory + "/grant-ledger.json" }
    /// The last receipt the collector signed (`ShipperCursor`).
    public var shipperCursorPath: String { stateDirectory + "/shipper/receipt.json" }
    /// The last posture run's results, for `mamori-agent status`.
    public var postureStatePath: String { stateDirectory + "/posture/last.json" }
    public var runDirectory: String { root + "/run/mamori" }
    public var socketPath: String { runDirectory + "/pam.sock" }
}
