public import MamoriCore

/// The daemon's side of the posture checks: builds a `PostureContext` from what the services
/// share (profile state, journal and delivery health, the media guard) and runs `PostureRunner`.
public enum AgentPosture {
    @Sendable public static func evaluate(_ runtime: AgentRuntime) -> [PostureCheckResult] {
        PostureRunner().run(context(runtime, now: SystemClock.now()))
    }

    public static func context(_ runtime: AgentRuntime, now: Timestamp) -> PostureContext {
        let state = runtime.profileState
        let status: ProfileStatus
        switch state {
        case .installed(let profile):
            status = now < profile.expires ? .verified : .expired(name: profile.name, version: profile.version, expires: profile.expires)
        case .missing(let reason): status = .missing(reason)
        case .unusable(let reason): status = .invalid(reason)
        }
        let shipment = runtime.shipment
        let head = runtime.journal.head
        let failure = runtime.journal.lastFailure
        let unreceipted: Int
        if let head {
            unreceipted = Int(head.seq) - Int(shipment.lastReceipt?.seq ?? 0) + (shipment.lastReceipt == nil ? 1 : 0)
        } else {
            unreceipted = 0
        }
        let health = JournalHealth(lastAppendSucceeded: failure == nil, lastAppendError: failure, unreceiptedRecords: max(0, unreceipted),
                                   lastShipment: shipment.lastReceipt?.receivedAt, spoolLimitReached: shipment.spoolLimitReached,
                                   agentStarted: runtime.startedAt)
        return PostureContext(root: runtime.layout.root, profile: state.profile, profileStatus: status, now: now,
                              mfaDirectory: runtime.layout.mfaDirectory, journalHealth: health,
                              mediaGuardRunning: runtime.mediaGuardRunning)
    }
}
