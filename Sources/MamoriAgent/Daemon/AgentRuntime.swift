public import MamoriCore
import Synchronization

/// How the installed profile stands, as the posture checks and `status` report it.
public enum ProfileState: Sendable, Equatable {
    /// Verified and in force.
    case installed(Profile)
    /// No profile has been installed yet: the safe defaults apply.
    case missing(String)
    /// The installed profile is no longer usable (expired, unreadable): the safe defaults apply.
    case unusable(String)

    public var profile: Profile? {
        if case .installed(let profile) = self { return profile }
        return nil
    }
}

/// What the shipper knows about delivery, for posture (`journal.healthy`) and `status`.
public struct ShipmentState: Sendable, Equatable {
    public var lastReceipt: ShipperCursor?
    public var spoolLimitReached = false

    public init(lastReceipt: ShipperCursor? = nil) { self.lastReceipt = lastReceipt }
}

/// State the services share: the configuration, the profile in force, delivery, the media guard's
/// health. Each value is replaced whole under a mutex; readers get a copy.
public final class AgentRuntime: Sendable {
    public let layout: AgentLayout
    public let journal: SharedJournal
    public let startedAt: Timestamp
    /// The one-off device grants in force (持ち出し申請).
    public let grants: DeviceGrantBook
    private let configurationValue: Mutex<AgentConfiguration>
    private let profileValue: Mutex<ProfileState>
    private let shipmentValue: Mutex<ShipmentState>
    private let mediaGuardValue = Mutex<Bool>(false)
    /// Bumped on every profile or configuration change; services poll it to reload.
    private let generationValue = Mutex<Int>(0)

    public init(layout: AgentLayout, journal: SharedJournal, configuration: AgentConfiguration, profile: ProfileState, shipment: ShipmentState,
                grants: DeviceGrantBook? = nil) {
        self.layout = layout
        self.journal = journal
        self.startedAt = SystemClock.now()
        self.grants = grants ?? DeviceGrantBook(layout: layout, hostId: nil, now: startedAt)
        configurationValue = Mutex(configuration)
        profileValue = Mutex(profile)
        shipmentValue = Mutex(shipment)
    }

    public var configuration: AgentConfiguration { configurationValue.withLock { $0 } }
    public var profileState: ProfileState { profileValue.withLock { $0 } }
    public var shipment: ShipmentState { shipmentValue.withLock { $0 } }
    public var mediaGuardRunning: Bool { mediaGuardValue.withLock { $0 } }
    public var generation: Int { generationValue.withLock { $0 } }

    public func setConfiguration(_ configuration: AgentConfiguration) {
        configurationValue.withLock { $0 = configuration }
        generationValue.withLock { $0 += 1 }
    }

    public func setProfile(_ state: ProfileState) {
        profileValue.withLock { $0 = state }
        generationValue.withLock { $0 += 1 }
    }

    /// A grant was applied, withdrawn or ended: the media guard decides again.
    public func grantsChanged() {
        generationValue.withLock { $0 += 1 }
    }

    public func updateShipment(_ body: (inout ShipmentState) -> Void) {
        shipmentValue.withLock { body(&$0) }
    }

    public func setMediaGuardRunning(_ running: Bool) { mediaGuardValue.withLock { $0 = running } }

    /// The profile's rules where a profile is in force, the safe defaults otherwise.
    public var effectiveProfileRules: (media: MediaRules, mfa: MFARules, posture: PostureRules, network: NetworkRules, reporting: ReportingRules) {
        if let profile = profileState.profile {
            return (profile.media, profile.mfa, profile.posture, profile.network, profile.reporting)
        }
        return (.default, .default, .default, .default, .default)
    }
}
