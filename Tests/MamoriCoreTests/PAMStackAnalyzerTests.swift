import Foundation
import MamoriCore
import Testing

/// The PAM-stack check over real Debian 12 layouts and the ways they go wrong.
@Suite struct PAMStackAnalyzerTests {
    typealias Files = [String: String]

    static func with(_ changes: Files, removing removed: [String] = []) -> Files {
        var files = PAMFixtures.debianWithMamori
        for (name, text) in changes { files[name] = text }
        for name in removed { files[name] = nil }
        return files
    }

    func verdict(_ service: String, _ files: Files) -> PostureOutcome {
        PAMStackAnalyzer.analyse(service: service) { files[$0].map { .text($0) } ?? .missing }.outcome
    }

    @Test(arguments: ["login", "gdm-password", "sshd", "sudo", "su"])
    func debianServicesWithMamoriEnabledPass(service: String) {
        let outcome = verdict(service, PAMFixtures.debianWithMamori)
        #expect(outcome.status == .pass, "\(outcome.evidence)")
        #expect(outcome.evidence.contains("common-auth:13"))
    }

    @Test(arguments: ["login", "gdm-password", "sshd", "sudo", "su"])
    func stockDebianFailsWithMamoriMissing(service: String) {
        let outcome = verdict(service, Self.with(["common-auth": PAMFixtures.commonAuthStock]))
        #expect(outcome == .failsToMeetPolicy(reason: "\(service): pam_mamori.so not in the auth stack"))
    }

    @Test func primaryBlockJumpOverMamoriIsABypass() {
        let outcome = verdict("sshd", Self.with(["common-auth": PAMFixtures.commonAuthMamoriPrimary]))
        #expect(outcome.status == .fail)
        #expect(outcome.evidence == "sshd: common-auth:2: pam_unix.so `[success=2 default=ignore]` jumps over pam_mamori.so (common-auth:3) when it returns success")
    }

    @Test func sufficientModuleBeforeMamoriIsABypass() {
        let sshd = "auth sufficient pam_unix.so\n" + PAMFixtures.sshd
        let outcome = verdict("sshd", Self.with(["sshd": sshd]))
        #expect(outcome.evidence == "sshd: sshd:1: pam_unix.so is `sufficient` before pam_mamori.so (common-auth:13) when it returns success")
        #expect(outcome.status == .fail)
    }

    @Test func sufficientModuleInsideCommonAuthIsABypassForEveryService() {
        let common = PAMFixtures.commonAuthMamori.replacingOccurrences(
            of: "auth\t[success=1 default=ignore]\tpam_unix.so nullok",
            with: "-auth\tsufficient\tpam_sss.so\nauth\t[success=1 default=ignore]\tpam_unix.so nullok")
        for service in ["login", "sshd", "sudo", "su", "gdm-password"] {
            let outcome = verdict(service, Self.with(["common-auth": common]))
            #expect(outcome.status == .fail)
            #expect(outcome.evidence.contains("common-auth:5: pam_sss.so is `sufficient` before pam_mamori.so"), "\(outcome.evidence)")
        }
    }

    @Test func successDoneBeforeMamoriIsABypass() {
        let sudo = "auth [success=done default=ignore] pam_u2f.so cue\n" + PAMFixtures.sudo
        let outcome = verdict("sudo", Self.with(["sudo": sudo]))
        #expect(outcome.status == .fail)
        #expect(outcome.evidence.contains("sudo:1: pam_u2f.so `[success=done default=ignore]` ends the stack before pam_mamori.so"))
    }

    /// pam_rootok asks about the caller's uid: in su and sudo only root passes it, and root needs
    /// no second factor; sshd, login and gdm run as root, so there it lets everyone in.
    @Test func rootokIsAcceptedOnlyWhereTheCallerIsChecked() {
        #expect(verdict("su", PAMFixtures.debianWithMamori).status == .pass)
        let sshd = "auth sufficient pam_rootok.so\n" + PAMFixtures.sshd
        let outcome = verdict("sshd", Self.with(["sshd": sshd]))
        #expect(outcome.status == .fail)
        #expect(outcome.evidence.contains("sshd:1: pam_rootok.so is `sufficient`"))
    }

    @Test(arguments: [
        ("sufficient", "`sufficient`"), ("optional", "`optional`"), ("[success=ok default=ignore]", "`[success=ok default=ignore]`"),
        ("[success=ok default=1]", "`[success=ok default=1]`"),
    ])
    func mamoriThatMayFailWithoutFailingTheStack(control: String, shown: String) {
        let common = PAMFixtures.commonAuthMamori.replacingOccurrences(of: "auth\trequired\t\t\tpam_mamori.so", with: "auth \(control) pam_mamori.so")
        let outcome = verdict("login", Self.with(["common-auth": common]))
        #expect(outcome.status == .fail)
        #expect(outcome.evidence.contains("common-auth:13: pam_mamori.so is \(shown)"), "\(outcome.evidence)")
    }

    @Test(arguments: ["requisite", "required", "[success=ok default=die]", "[success=ok new_authtok_reqd=ok ignore=ignore default=bad]",
                      "REQUIRED", "Requisite"])
    func mamoriRequiredInAnyWorkingFormPasses(control: String) {
        let common = PAMFixtures.commonAuthMamori.replacingOccurrences(of: "auth\trequired\t\t\tpam_mamori.so", with: "AUTH \(control) pam_mamori.so")
        #expect(verdict("login", Self.with(["common-auth": common])).status == .pass)
    }

    @Test func absolutePathContinuationAndSilentLineAreUnderstood() {
        let sshd = "-auth \\\n  required \\\n  /lib/x86_64-linux-gnu/security/pam_mamori.so debug # second factor\n" +
            "auth [success=1 default=ignore] pam_unix.so\nauth requisite pam_deny.so\nauth required pam_permit.so\n"
        let outcome = verdict("sshd", Self.with(["sshd": sshd]))
        #expect(outcome.status == .pass, "\(outcome.evidence)")
        #expect(outcome.evidence.contains("sshd:1"))
    }

    @Test func commentedOutMamoriIsNotInTheStack() {
        let common = PAMFixtures.commonAuthMamori.replacingOccurrences(of: "auth\trequired\t\t\tpam_mamori.so", with: "#auth required pam_mamori.so")
        #expect(verdict("sudo", Self.with(["common-auth": common])) == .failsToMeetPolicy(reason: "sudo: pam_mamori.so not in the auth stack"))
    }

    @Test func includeCycleIsAnError() {
        let outcome = verdict("sshd", Self.with(["sshd": "auth include common-auth\n", "common-auth": "auth required pam_mamori.so\nauth include sshd\n"]))
        #expect(outcome == .cannotDecide(reason: "sshd: include cycle: sshd → common-auth → sshd"))
    }

    @Test func missingIncludeIsAnError() {
        let outcome = verdict("sudo", Self.with([:], removing: ["common-auth"]))
        #expect(outcome == .cannotDecide(reason: "sudo: common-auth is missing (included from sudo)"))
    }

    @Test func missingServiceIsNotApplicableAndOtherServicesStillCount() {
        let files = Self.with([:], removing: ["gdm-password"])
        #expect(verdict("gdm-password", files).status == .notApplicable)
        let overall = PAMStackAnalyzer.evaluate(services: ["login", "gdm-password", "sshd"]) { files[$0] }
        #expect(overall.status == .pass)
        #expect(overall.evidence.hasSuffix("gdm-password: no /etc/pam.d/gdm-password (not installed)"))
        let none = PAMStackAnalyzer.evaluate(services: ["gdm-password"]) { files[$0] }
        #expect(none.status == .fail)
    }

    @Test func overallFailsOnAnyBypassAndErrsWhenUndecidable() {
        let files = Self.with(["sshd": "auth sufficient pam_unix.so\n" + PAMFixtures.sshd])
        let overall = PAMStackAnalyzer.evaluate(services: MFARules.defaultServices) { files[$0] }
        #expect(overall.status == .fail)
        #expect(overall.evidence.hasPrefix("sshd: sshd:1: pam_unix.so"))
        let broken = Self.with(["sudo": "auth include nowhere\n"])
        #expect(PAMStackAnalyzer.evaluate(services: MFARules.defaultServices) { broken[$0] }.status == .error)
        let unreadable = PAMStackAnalyzer.evaluate(services: ["login"]) { _ in PAMFileLookup.unreadable("permission denied") }
        #expect(unreadable.status == .error)
    }

    /// `done` inside a substack ends only the substack: a pam_mamori line after it still runs.
    @Test func doneInsideASubstackEndsOnlyTheSubstack() {
        let passwordAuth = "auth sufficient pam_unix.so\nauth requisite pam_deny.so\n"
        let sub = Self.with(["password-auth": passwordAuth, "sshd": "auth substack password-auth\nauth required pam_mamori.so\n"])
        #expect(verdict("sshd", sub).status == .pass)
        let included = Self.with(["password-auth": passwordAuth, "sshd": "auth include password-auth\nauth required pam_mamori.so\n"])
        let outcome = verdict("sshd", included)
        #expect(outcome.status == .fail)
        #expect(outcome.evidence.contains("password-auth:1: pam_unix.so is `sufficient` before pam_mamori.so (sshd:2)"))
    }

    /// A jump in the parent counts a substack as one module; a jump inside one cannot leave it.
    @Test func jumpsAndSubstacks() {
        let over = Self.with(["mfa": "auth required pam_mamori.so\nauth required pam_env.so\n",
                              "sshd": "auth [success=1 default=ignore] pam_unix.so\nauth substack mfa\nauth required pam_permit.so\n"])
        let outcome = verdict("sshd", over)
        #expect(outcome.status == .fail)
        #expect(outcome.evidence.contains("sshd:1: pam_unix.so `[success=1 default=ignore]` jumps over pam_mamori.so (mfa:1)"))
        // success=3 inside the substack runs past its end: libpam calls it a bad jump and fails.
        let badJump = Self.with(["inner": "auth [success=3 default=die] pam_unix.so\nauth required pam_permit.so\n",
                                 "sshd": "auth substack inner\nauth required pam_mamori.so\nauth required pam_permit.so\n"])
        #expect(verdict("sshd", badJump).status == .pass)
    }

    /// `reset` after pam_mamori forgets its failure: the stack can then succeed.
    @Test func resetAfterMamoriIsABypass() {
        let files = Self.with(["sshd": "auth required pam_mamori.so\nauth [default=reset] pam_env.so\nauth required pam_unix.so\n"])
        #expect(verdict("sshd", files).status == .fail)
        let within = Self.with(["inner": "auth [default=reset] pam_env.so\n",
                                "sshd": "auth required pam_mamori.so\nauth substack inner\nauth required pam_unix.so\n"])
        // Inside a substack `reset` restores the state at its start, which already holds the failure.
        #expect(verdict("sshd", within).status == .pass)
    }

    @Test func serviceWithoutAuthLinesUsesOther() {
        let files = Self.with(["cron": "account required pam_unix.so\n"])
        #expect(verdict("cron", files).status == .pass)
        let open = Self.with(["cron": "account required pam_unix.so\n", "other": "auth required pam_unix.so\n"])
        #expect(verdict("cron", open) == .failsToMeetPolicy(reason: "cron: pam_mamori.so not in the auth stack"))
    }

    @Test func malformedLinesFailAsLibpamMakesThem() {
        // A bracketed control libpam cannot parse makes every code `bad`: not a bypass.
        let files = Self.with(["sshd": "auth [succes=done] pam_unix.so\nauth required pam_mamori.so\n"])
        #expect(verdict("sshd", files).status == .pass)
        // A line of unknown type is installed as must-fail with its control: `sufficient` ignores it.
        let typo = Self.with(["sshd": "auht sufficient pam_unix.so\nauth required pam_mamori.so\nauth required pam_unix.so\n"])
        #expect(verdict("sshd", typo).status == .pass)
    }

    @Test func controlParsingFollowsLibpam() {
        guard case .actions(let table) = PAMControl.parse("[success=2 new_authtok_reqd=done default=ignore]") else {
            Issue.record("not actions"); return
        }
        #expect(table[PAMReturnCode.success.rawValue] == .jump(2))
        #expect(table[PAMReturnCode.newAuthtokReqd.rawValue] == .done)
        #expect(table[PAMReturnCode.authErr.rawValue] == .ignore)
        guard case .actions(let required) = PAMControl.parse("Required") else { Issue.record("not actions"); return }
        #expect(required[PAMReturnCode.ignore.rawValue] == .ignore && required[PAMReturnCode.authErr.rawValue] == .bad)
        guard case .actions(let broken) = PAMControl.parse("[success=0]") else { Issue.record("not actions"); return }
        #expect(broken.allSatisfy { $0 == .bad })
        #expect(PAMControl.parse("SubStack") == .substack)
        let lines = PAMConfigLine.lines(of: "auth [success=1 default=ignore] pam_unix.so nullok # c\n\n  # x\nauth \\\nrequired x.so\n")
        #expect(lines == [PAMConfigLine(number: 1, fields: ["auth", "[success=1 default=ignore]", "pam_unix.so", "nullok"]),
                          PAMConfigLine(number: 4, fields: ["auth", "required", "x.so"])])
    }

    /// RHEL's authselect layout: `sufficient` modules inside a substack end only the substack, so
    /// pam_mamori after it is required; the same line inside password-auth after them is bypassed.
    @Test func rhelSubstackLayout() {
        let base: Files = ["password-auth": PAMFixtures.rhelPasswordAuth, "postlogin": PAMFixtures.rhelPostlogin]
        var after = base
        after["sshd"] = PAMFixtures.rhelSshd.replacingOccurrences(of: "auth       include      postlogin",
                                                                   with: "auth       required     pam_mamori.so\nauth       include      postlogin")
        #expect(verdict("sshd", after).status == .pass, "\(verdict("sshd", after).evidence)")
        var without = base
        without["sshd"] = PAMFixtures.rhelSshd
        #expect(verdict("sshd", without) == .failsToMeetPolicy(reason: "sshd: pam_mamori.so not in the auth stack"))
        var inside = base
        inside["sshd"] = PAMFixtures.rhelSshd
        inside["password-auth"] = PAMFixtures.rhelPasswordAuth.replacingOccurrences(
            of: "auth        required                                     pam_deny.so",
            with: "auth        required                                     pam_deny.so\nauth        required pam_mamori.so")
        let outcome = verdict("sshd", inside)
        #expect(outcome.status == .fail)
        #expect(outcome.evidence.contains("password-auth:10: pam_unix.so is `sufficient` before pam_mamori.so (password-auth:14)"), "\(outcome.evidence)")
    }
}
