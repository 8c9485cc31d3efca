public import MamoriCore

/// The second-factor rules the running agent enforces, and where they came from.
public struct MFARulesLoad: Sendable {
    public var rules: MFARules
    /// The profile's name, or nil when the safe defaults apply.
    public var profileName: String?
    /// Why the profile was not used, or nil.
    public var problem: String?

    /// The journal record saying which rules the verifier starts with (`auth.rules`).
    public var journalEvent: (kind: String, payload: [String: JSONValue]) {
        var payload: [String: JSONValue] = [
            "source": .string(profileName == nil ? "defaults" : "profile"),
            "lockout_threshold": .int(Int64(rules.lockoutThreshold)),
            "lockout_duration": .int(rules.lockoutDuration),
            "max_lockouts": .int(Int64(rules.maxLockouts)),
            "window": .int(Int64(rules.window)),
            "exempt_accounts": .array(rules.exemptAccounts.map { .string($0) }),
            "recovery_codes": .bool(rules.recoveryCodesEnabled),
        ]
        if let profileName { payload["profile"] = .string(profileName) }
        if let problem { payload["problem"] = .string(problem) }
        return (kind: AuthEventKind.rules, payload: payload)
    }
}

public enum MFARulesLoader {
    /// The `mfa` rules of the installed profile at `path`; when no valid, current, root-controlled
    /// profile is readable, the safe defaults (`MFARules.default`: lockout after 5 failures for 15
    /// minutes, no exempt accounts) and the reason.
    public static func load(path: String, now: Timestamp) -> MFARulesLoad {
        switch InstalledProfile.load(path: path, now: now, requireTrustedFile: true) {
        case .success(let profile):
            MFARulesLoad(rules: profile.mfa, profileName: profile.name, problem: nil)
        case .failure(let unusable):
            MFARulesLoad(rules: .default, profileName: nil, problem: unusable.description)
        }
    }
}
