/// A validated profile: the policy one terminal enforces. Built only by `ProfileParser`, so every
/// value here has passed validation; omitted fields hold the documented safe defaults
/// (docs/profile-reference.md).
public struct Profile: Sendable, Equatable {
    /// The only schema this build understands.
    public static let supportedSchema = 1

    public var schema: Int
    public var name: String
    public var description: String?
    /// Strictly increasing per scope; the verifier rejects a version not greater than the current one.
    public var version: Int64
    /// After this instant the profile is no longer accepted (a frozen feed cannot pin old policy forever).
    public var expires: Timestamp
    public var scope: ProfileScope
    public var media: MediaRules
    public var mfa: MFARules
    public var posture: PostureRules
    public var network: NetworkRules
    public var reporting: ReportingRules
}

/// The organisations of policy 4(1): every executive body and the assembly.
public enum Organisation: String, Sendable, CaseIterable, Hashable {
    case mayorsDepartments = "mayor"
    case boardOfEducation = "education"
    case wardAssembly = "assembly"
    case electionCommission = "election"
    case auditCommissioners = "audit"
    case agriculturalCommittee = "agriculture"

    /// The name the policy uses.
    public var japaneseName: String {
        switch self {
        case .mayorsDepartments: return "区長部局"
        case .boardOfEducation: return "教育委員会"
        case .wardAssembly: return "区議会"
        case .electionCommission: return "選挙管理委員会"
        case .auditCommissioners: return "監査委員"
        case .agriculturalCommittee: return "農業委員会"
        }
    }

    /// Accepts the identifier (`assembly`) or the Japanese name (`区議会`).
    public init?(identifierOrName text: String) {
        if let byId = Organisation(rawValue: text) { self = byId; return }
        guard let byName = Organisation.allCases.first(where: { $0.japaneseName == text }) else { return nil }
        self = byName
    }
}

public struct ProfileScope: Sendable, Equatable {
    public var organisation: Organisation
    /// Host groups the profile applies to; empty means every host of the organisation.
    public var hostGroups: [String]
    /// Host groups marked out of the policy's scope (policy 4(2): school-education assets of the
    /// board of education). Their hosts are excluded from compliance figures.
    public var outOfScopeHostGroups: [String]

    /// Whether a host in `hostGroup` (nil: group unknown) is covered by this profile.
    public func covers(hostGroup: String?) -> Bool {
        guard let hostGroup else { return hostGroups.isEmpty }
        if outOfScopeHostGroups.contains(hostGroup) { return false }
        return hostGroups.isEmpty || hostGroups.contains(hostGroup)
    }
}

// MARK: Media

public enum DeviceClass: String, Sendable, CaseIterable, Hashable, Comparable {
    case usbStorage = "usb-storage"
    case sdCard = "sd-card"
    case optical
    case mtpPTP = "mtp-ptp"
    case compositeHIDStorage = "composite-hid-storage"
    case hid

    public static func < (lhs: DeviceClass, rhs: DeviceClass) -> Bool { lhs.rawValue < rhs.rawValue }

    /// The action applied when a profile does not name the class: storage is read-only, devices
    /// with no block device to protect (MTP/PTP) and BadUSB-shaped composites are blocked, and
    /// keyboards and mice are always allowed so that a policy can never lock the operator out.
    public var defaultAction: MediaAction {
        switch self {
        case .usbStorage, .sdCard, .optical: return .readOnly
        case .mtpPTP, .compositeHIDStorage: return .block
        case .hid: return .allow
        }
    }

    /// The actions the agent can actually enforce for the class.
    public var permittedActions: [MediaAction] {
        switch self {
        case .usbStorage, .sdCard, .optical, .compositeHIDStorage: return [.block, .readOnly, .readWrite]
        case .mtpPTP: return [.block, .readWrite]
        case .hid: return [.allow]
        }
    }
}

public enum MediaAction: String, Sendable, CaseIterable, Hashable {
    case block
    case readOnly = "read-only"
    case readWrite = "read-write"
    /// Only for `hid`: human-interface devices are never blocked.
    case allow
}

public enum EnforcementMode: String, Sendable, CaseIterable, Hashable {
    case enforce
    /// Records what would have been enforced without enforcing it (for rollout).
    case audit
}

public struct MediaAllowEntry: Sendable, Equatable {
    /// Four lower-case hex digits.
    public var vendor: String
    /// Four lower-case hex digits.
    public var product: String
    /// The device's serial; nil only when the profile wrote `"*"` (any serial) explicitly.
    public var serial: String?
    /// `read-only` or `read-write`.
    public var mode: MediaAction
    public var expires: Timestamp?
    public var reason: String
}

public struct MediaRules: Sendable, Equatable {
    public var mode: EnforcementMode
    public var defaults: [DeviceClass: MediaAction]
    public var allow: [MediaAllowEntry]

    public static let `default` = MediaRules(
        mode: .enforce,
        defaults: Dictionary(uniqueKeysWithValues: DeviceClass.allCases.map { ($0, $0.defaultAction) }),
        allow: []
    )

    public func action(for deviceClass: DeviceClass) -> MediaAction {
        defaults[deviceClass] ?? deviceClass.defaultAction
    }
}

// MARK: MFA

public enum OTPFactor: String, Sendable, CaseIterable, Hashable {
    case totp
    case hotp
}

public struct MFARules: Sendable, Equatable {
    /// PAM service names whose stacks must require the second factor.
    public var services: [String]
    public var factors: [OTPFactor]
    /// TOTP time step in seconds.
    public var timeStep: Int
    /// TOTP steps accepted either side of now; HOTP look-ahead is `window * 10`.
    public var window: Int
    /// Consecutive failures before lockout: 1...100 (NIST SP 800-63B caps it at 100).
    public var lockoutThreshold: Int
    /// Seconds a locked-out account stays locked the first time; each consecutive lockout (no
    /// success in between) doubles it, up to a day.
    public var lockoutDuration: Int64
    /// Consecutive lockouts after which only an administrator's unlock helps (`mamorictl mfa
    /// unlock`); `lockoutThreshold × maxLockouts` is at most 100 failures in all (NIST SP 800-63B).
    public var maxLockouts: Int
    public var exemptAccounts: [String]
    public var recoveryCodesEnabled: Bool
    public var recoveryCodeCount: Int

    public static let defaultServices = ["login", "gdm-password", "sshd", "sudo", "su"]

    public static let `default` = MFARules(
        services: defaultServices, factors: [.totp], timeStep: 30, window: 1,
        lockoutThreshold: 5, lockoutDuration: 900, maxLockouts: 10, exemptAccounts: [],
        recoveryCodesEnabled: true, recoveryCodeCount: 10
    )
}

// MARK: Posture

public struct PostureRules: Sendable, Equatable {
    /// Seconds between posture runs.
    public var interval: Int64
    public var builtin: [String]
    public var checks: [DeclarativeCheck]

    /// The built-in checks the agent knows, with the policy clause each evidences.
    /// The built-in checks the agent knows, with the policy clause each evidences (PostureCatalogue
    /// has their titles).
    public static var builtinChecks: [(id: String, clause: String)] { PostureCatalogue.builtin.map { ($0.id, $0.clause) } }

    public static var builtinIds: [String] { builtinChecks.map(\.id) }

    public static let `default` = PostureRules(interval: 3600, builtin: builtinIds, checks: [])
}

public struct DeclarativeCheck: Sendable, Equatable {
    public var id: String
    public var title: String
    public var clause: String?
    public var rule: Rule

    public enum Rule: Sendable, Equatable {
        case fileExists(path: String)
        /// The file's permission bits must be a subset of `maximum` (e.g. 0o644).
        case fileMode(path: String, maximum: UInt32)
        case fileOwner(path: String, user: String?, group: String?)
        case fileContent(path: String, regex: String, mustMatch: Bool)
        case sysctl(key: String, value: String)
        case package(name: String, installed: Bool)
    }

    /// The YAML key naming each rule kind.
    public static let ruleKeys = ["file_exists", "file_mode", "file_owner", "file_content", "sysctl", "package"]
}

// MARK: Network and reporting

public struct NetworkRules: Sendable, Equatable {
    /// Where terminals in the zone may connect; anything else is a finding (policy 6(3)①).
    public var allowedDestinations: [NetworkDestination]
    /// Wireless interfaces may be up (the national guideline forbids wireless LAN in this zone).
    public var wirelessAllowed: Bool

    public static let `default` = NetworkRules(allowedDestinations: [], wirelessAllowed: false)
}

public enum TransportProtocol: String, Sendable, CaseIterable, Hashable {
    case tcp
    case udp
}

public struct NetworkDestination: Sendable, Equatable {
    public var cidr: CIDR
    public var ports: [Int]
    public var transport: TransportProtocol
    public var description: String?

    public init(cidr: CIDR, ports: [Int], transport: TransportProtocol, description: String? = nil) {
        self.cidr = cidr
        self.ports = ports
        self.transport = transport
        self.description = description
    }
}

public struct ReportingRules: Sendable, Equatable {
    /// Seconds between uploads to the collector.
    public var interval: Int64

    public static let `default` = ReportingRules(interval: 900)
}
