public import MamoriCore

/// Runs the profile's posture checks against this terminal: the built-in checks in the order of
/// the profile's `posture.builtin`, then its declarative checks. One result per check, never a
/// trap: whatever cannot be read or decided is an `error` result saying why.
///
/// It blocks (file reads, `nft`, flock on MFA state files): call it off the cooperative pool.
public struct PostureRunner: Sendable {
    public init() {}

    public func run(_ context: PostureContext) -> [PostureCheckResult] {
        let builtin = context.posture.builtin.map { id in runBuiltin(id, context).result(builtin: id) }
        let declarative = context.posture.checks.map { check in
            DeclarativePostureChecks.evaluate(check.rule, files: PostureFiles(root: context.root)).result(for: check)
        }
        return builtin + declarative
    }

    /// One built-in check by id; an id this agent does not know is an error, not a silent skip.
    public func runBuiltin(_ id: String, _ context: PostureContext) -> PostureOutcome {
        switch id {
        case "media.rules-enforcing": MediaPostureChecks.rulesEnforcing(context)
        case "media.no-writable-removable-mounts": MediaPostureChecks.noWritableRemovableMounts(context)
        case "auth.pam-stack": AuthPostureChecks.pamStack(context)
        case "auth.users-enrolled": AuthPostureChecks.usersEnrolled(context)
        case "network.no-wireless": NetworkPostureChecks.noWireless(context)
        case "network.egress-zone-only": NetworkPostureChecks.egressZoneOnly(context)
        case "system.clock-synced": SystemPostureChecks.clockSynced(context)
        case "agent.files-unmodified": SystemPostureChecks.filesUnmodified(context)
        case "profile.current": SystemPostureChecks.profileCurrent(context)
        case "journal.healthy": SystemPostureChecks.journalHealthy(context)
        default: .cannotDecide(reason: "this agent does not know the check `\(id)`")
        }
    }
}
