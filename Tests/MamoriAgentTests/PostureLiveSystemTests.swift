import MamoriAgent
import MamoriCore
import Testing

/// The checks against this machine's own /etc/pam.d, mount table and sysfs (root ""): whatever the
/// machine's state, they must decide (pass or fail) with evidence, not trap or err.
@Suite struct PostureLiveSystemTests {
    static let health = JournalHealth(lastAppendSucceeded: true, unreceiptedRecords: 0, lastShipment: nil, spoolLimitReached: false,
                                      agentStarted: Timestamp(secondsSinceEpoch: 0))

    func context() -> PostureContext {
        PostureContext(root: "", profile: nil, profileStatus: .missing("live test"), now: Timestamp(secondsSinceEpoch: 1_800_000_000),
                       mfaDirectory: "/nonexistent", journalHealth: Self.health, mediaGuardRunning: false)
    }

    @Test(arguments: ["auth.pam-stack", "media.no-writable-removable-mounts", "network.no-wireless", "system.clock-synced"])
    func liveChecksDecide(id: String) {
        let outcome = PostureRunner().runBuiltin(id, context())
        #expect(outcome.status != .error, "\(outcome.evidence)")
        #expect(!outcome.evidence.isEmpty)
    }
}
