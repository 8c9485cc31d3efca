import Foundation
import MamoriAuthWire
import Testing

/// The running agent enforces the installed profile's `mfa` rules, and falls back to the safe
/// defaults (lockout after 5) with an `auth.rules` journal record saying why when it cannot.
@Suite(.serialized) struct AgentProfileRulesTests {
    static func profile(threshold: Int = 3, exempt: String = "[backup]", expires: String = "2099-01-01") -> String {
        """
        name: mfa-fixture
        version: 1
        expires: \(expires)
        scope:
          organisation: mayor
        mfa:
          window: 1
          lockout:
            threshold: \(threshold)
            duration: 10m
          exempt_accounts: \(exempt)

        """
    }

    static func wrong(_ agent: AuthAgentTests.RunningAgent) throws -> AuthResponse.Status {
        try agent.ask(AuthRequest(user: "tanaka", service: "login", code: "000000")).status
    }

    static func journal(_ agent: AuthAgentTests.RunningAgent) throws -> String {
        try CLI.mamorictl("journal", "show", agent.root.path + "/var/lib/mamori/journal", "--format", "json").stdout
    }

    @Test func profileThresholdOfThreeLocksAfterThreeFailures() throws {
        let agent = try AuthAgentTests.RunningAgent(profile: Self.profile(threshold: 3))
        try agent.enroll("tanaka")
        #expect(try Self.wrong(agent) == .rejected)
        #expect(try Self.wrong(agent) == .rejected)
        #expect(try Self.wrong(agent) == .rejected)
        let right = AuthRequest(user: "tanaka", service: "login", code: AuthAgentTests.currentCode())
        #expect(try agent.ask(right).status == .lockedOut)
        // The profile's exempt account is let through without a second factor.
        #expect(try agent.ask(AuthRequest(user: "backup", service: "login", code: "000000")).status == .exempt)
        #expect(agent.stop() == 0)
        let journal = try Self.journal(agent)
        #expect(journal.contains("\"auth.rules\""))
        #expect(journal.contains("\"profile\":\"mfa-fixture\""), "\(journal)")
        #expect(journal.contains("\"lockout_threshold\":3"), "\(journal)")
    }

    /// Missing, group-writable, invalid or expired: the defaults apply (5 failures before lockout,
    /// no exempt accounts) and the journal says why.
    @Test(arguments: [
        (nil, 0o644, "not readable"),
        (profile(threshold: 3), 0o666, "writable by group or others"),
        ("mfa: [unclosed", 0o644, "invalid profile"),
        (profile(threshold: 3, expires: "2020-01-01"), 0o644, "expired"),
    ] as [(String?, Int, String)])
    func unusableProfileGivesTheDefaults(profile: String?, mode: Int, problem: String) throws {
        let agent = try AuthAgentTests.RunningAgent(profile: profile, profileMode: mode)
        try agent.enroll("tanaka")
        for _ in 0..<4 { #expect(try Self.wrong(agent) == .rejected) }
        #expect(try Self.wrong(agent) == .rejected)
        #expect(try Self.wrong(agent) == .lockedOut)
        #expect(try agent.ask(AuthRequest(user: "backup", service: "login", code: "000000")).status == .notEnrolled)
        #expect(agent.stop() == 0)
        let journal = try Self.journal(agent)
        #expect(journal.contains("\"source\":\"defaults\""), "\(journal)")
        #expect(journal.contains(problem), "\(journal)")
        #expect(journal.contains("\"lockout_threshold\":5"), "\(journal)")
    }
}
